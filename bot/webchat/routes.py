"""Serving the web chat on the console app: ``/chat``, ``/chat/embed.js``, ``/chat/static/*``.

No inline scripts: the socket URL reaches the page in a ``<meta>`` tag, so the page runs under a
strict Content-Security-Policy whose only exception is ``connect-src`` to the Rasa server.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot import settings as settings_module

STATIC_DIR = Path(__file__).resolve().parent / "static"
_PAGE_TEMPLATE = "chat.html"
_HOST = re.compile(r"^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")


@dataclass(frozen=True)
class WebchatConfig:
    rasa_port: int
    socket_url: str  # empty: this host on rasa_port
    page_template: str


WEBCHAT = web.AppKey("webchat", WebchatConfig)


def socket_url(request: web.Request, config: WebchatConfig) -> str:
    """The configured Rasa socket.io origin, else this host on Rasa's port."""
    if config.socket_url:
        return config.socket_url.rstrip("/")
    rasa_port = config.rasa_port
    match = _HOST.match(request.host or "")
    host = match.group(1) if match else "127.0.0.1"  # a forged Host header must not reach the CSP
    return f"{request.scheme}://{host}:{rasa_port}"


def chat_csp(rasa_origin: str) -> str:
    """The Content-Security-Policy the chat page needs: ours, plus connect-src to Rasa (http + ws)."""
    parts = urlsplit(rasa_origin)
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    connect = f"'self' {parts.scheme}://{parts.netloc} {ws_scheme}://{parts.netloc}"
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        f"connect-src {connect}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors *",
    ])


async def chat_page(request: web.Request) -> web.Response:
    config = request.app[WEBCHAT]
    rasa_origin = socket_url(request, config)
    page = config.page_template.replace("{{SOCKET_URL}}", html.escape(rasa_origin, quote=True))
    return web.Response(
        text=page, content_type="text/html",
        headers={"Content-Security-Policy": chat_csp(rasa_origin), "Cache-Control": "no-store",
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"},
    )


async def embed_script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "embed.js", headers={
        "Content-Type": "text/javascript; charset=utf-8", "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=300",
    })


def add_webchat_routes(app: web.Application) -> None:
    """Mount the web chat on the console application (settings and page read once, here)."""
    from bot.console.keys import SETTINGS  # the console's own settings when it has them

    settings = app.get(SETTINGS) or settings_module.load()
    app[WEBCHAT] = WebchatConfig(
        rasa_port=settings.rasa_port,
        socket_url=settings.channels.webchat_socket_url,
        page_template=(STATIC_DIR / _PAGE_TEMPLATE).read_text(encoding="utf-8"),
    )
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/embed.js", embed_script)
    app.router.add_static("/chat/static", STATIC_DIR, show_index=False, follow_symlinks=False)
