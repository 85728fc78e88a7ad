"""Rendering console pages with jinja2 and JSON answers (customer text is always inert).

Autoescape is on, so customer text cannot become markup.  Everything rendered also passes through
:func:`renderable`: text that was stored before the boundary refused it (a lone surrogate in Rasa's
tracker, invalid UTF-8 in an old SQLite row) is shown with U+FFFD instead of failing the page for ever.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.console.keys import TEMPLATES_KEY
from bot.console.security import REQUEST_SESSION, REQUEST_STAFF

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
REPLACEMENT = "\ufffd"
# In a Python str every surrogate code point is unpaired: a well-formed pair is one code point.
_SURROGATE = re.compile("[\ud800-\udfff]")


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )


def renderable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so it can be encoded as UTF-8."""
    return _SURROGATE.sub(REPLACEMENT, text)


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    session = request.get(REQUEST_SESSION)
    html = request.app[TEMPLATES_KEY].get_template(template).render(
        staff=request.get(REQUEST_STAFF), csrf_token=session.csrf_token if session else "", **context
    )
    return web.Response(text=renderable(html), status=status, content_type="text/html")


def dumps(value: Any) -> str:
    """JSON for the API: UTF-8 text as is, lone surrogates as U+FFFD (never a ``\\ud800`` escape)."""
    return renderable(json.dumps(value, ensure_ascii=False))


def json_response(value: Any, *, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=dumps)
