"""Serving the web chat on the console app: ``/chat``, ``/chat/embed.js``, ``/chat/static/*``.

No inline scripts: the socket URL reaches the page in a ``<meta>`` tag, so the page runs under a
strict Content-Security-Policy whose only exception is ``connect-src`` to the Rasa server.  The socket
URL comes from the settings (``RAPPORT_WEBCHAT_SOCKET_URL``, else Rasa's own URL), read once at
start-up, never from the request: a forged ``Host`` header cannot point the page or its CSP elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot import settings as settings_module
from bot.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
_PAGE_TEMPLATE = "chat.html"
_SECURE = {"https": "wss", "wss": "wss"}


@dataclass(frozen=True)
class WebchatConfig:
    socket_url: str
    connect_src: tuple[str, ...]  # extra origins the page may connect to (RAPPORT_CHAT_CONNECT_SRC)
    page_template: str


WEBCHAT = web.AppKey("webchat", WebchatConfig)


def socket_url(settings: Settings) -> str:
    """Where the page's socket.io client connects: the configured URL, else the Rasa server's."""
    return (settings.channels.webchat_socket_url or settings.rasa_url).rstrip("/")


def socket_origins(url: str) -> tuple[str, str]:
    """The origin of ``url`` in its http(s) and ws(s) forms (socket.io starts with one, may upgrade)."""
    parts = urlsplit(url)
    secure = parts.scheme in _SECURE
    return f"{'https' if secure else 'http'}://{parts.netloc}", f"{'wss' if secure else 'ws'}://{parts.netloc}"


def chat_csp(rasa_origin: str, extra: Iterable[str] = ()) -> str:
    """The Content-Security-Policy the chat page needs: ours, plus connect-src to Rasa (http + ws)."""
    connect = " ".join(dict.fromkeys(["'self'", *socket_origins(rasa_origin), *extra]))
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
    page = config.page_template.replace("{{SOCKET_URL}}", html.escape(config.socket_url, quote=True))
    return web.Response(
        text=page, content_type="text/html",
        headers={"Content-Security-Policy": chat_csp(config.socket_url, config.connect_src), "Cache-Control": "no-store",
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"},
    )  # fmt: skip


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
        socket_url=socket_url(settings),
        connect_src=settings.console.chat_connect_src,
        page_template=(STATIC_DIR / _PAGE_TEMPLATE).read_text(encoding="utf-8"),
    )
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/embed.js", embed_script)
    app.router.add_static("/chat/static", STATIC_DIR, show_index=False, follow_symlinks=False)
