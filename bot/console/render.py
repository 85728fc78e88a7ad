"""Rendering console pages with jinja2 (autoescape on: customer text is always inert)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.console.keys import TEMPLATES
from bot.console.security import SESSION_KEY, STAFF_KEY

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION_KEY)
    html = request.app[TEMPLATES].get_template(template).render(
        staff=request.get(STAFF_KEY), csrf_token=session.csrf_token if session else "", **context
    )
    return web.Response(text=html, status=status, content_type="text/html")
