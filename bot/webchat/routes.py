"""The public web chat: ``/chat``, ``/chat/embed.js``, ``/chat/static/*``, and the headers of all of them.

No inline scripts: the socket URL reaches the page in a ``<meta>`` tag, so the page runs under a
strict Content-Security-Policy whose only exception is ``connect-src`` to the Rasa server.  The socket
URL comes from the settings (``RAPPORT_WEBCHAT_SOCKET_URL``, else Rasa's own URL), read once at
start-up, never from the request: a forged ``Host`` header cannot point the page or its CSP elsewhere.

Everything under :data:`PREFIX` stays embeddable in a shop's pages (no ``frame-ancestors`` limit), so
the application serving the chat leaves these answers' headers to :func:`chat_headers`.  The routes
are added to that application rather than mounted with ``add_subapp``: aiohttp 3.9's sub-application
resolver reads ``request.url``, which the locked yarl refuses to build for a ``Host`` with a port.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.settings import Settings

PREFIX = "/chat"
STATIC_DIR = Path(__file__).resolve().parent / "static"
_PAGE_TEMPLATE = "chat.html"
_SECURE = {"https": "wss", "wss": "wss"}
_ASSET_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"


@dataclass(frozen=True)
class WebchatConfig:
    """What the chat serves, decided once from the settings."""

    socket_url: str
    page_csp: str  # the chat page's policy
    asset_csp: str  # everything else under PREFIX: the embed script, static files, errors
    page_template: str


WEBCHAT_KEY = web.AppKey("webchat", WebchatConfig)


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


def asset_csp(settings: Settings) -> str:
    """The policy of the chat's other answers: may connect to Rasa, the socket URL and configured origins."""
    sources = [*socket_origins(settings.rasa_url), *socket_origins(socket_url(settings)), *settings.console.chat_connect_src]
    return f"{_ASSET_POLICY}; img-src 'self' data: https:; connect-src 'self' {' '.join(dict.fromkeys(sources))}"


def webchat_config(settings: Settings) -> WebchatConfig:
    socket = socket_url(settings)
    return WebchatConfig(
        socket_url=socket,
        page_csp=chat_csp(socket, settings.console.chat_connect_src),
        asset_csp=asset_csp(settings),
        page_template=(STATIC_DIR / _PAGE_TEMPLATE).read_text(encoding="utf-8"),
    )


def is_chat_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


async def chat_page(request: web.Request) -> web.Response:
    config = request.app[WEBCHAT_KEY]
    page = config.page_template.replace("{{SOCKET_URL}}", html.escape(config.socket_url, quote=True))
    return web.Response(
        text=page, content_type="text/html",
        headers={"Content-Security-Policy": config.page_csp, "Cache-Control": "no-store",
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"},
    )  # fmt: skip


async def embed_script(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "embed.js", headers={
        "Content-Type": "text/javascript; charset=utf-8", "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=300",
    })


async def chat_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every answer under PREFIX gets the chat's policy (the page keeps its own)."""
    if not is_chat_path(request.path):
        return
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", request.app[WEBCHAT_KEY].asset_csp)


def add_webchat_routes(app: web.Application, config: WebchatConfig) -> None:
    """Serve the web chat from ``app`` under PREFIX, with its own headers."""
    app[WEBCHAT_KEY] = config
    app.on_response_prepare.append(chat_headers)
    app.router.add_get(PREFIX, chat_page)
    app.router.add_get(f"{PREFIX}/embed.js", embed_script)
    app.router.add_static(f"{PREFIX}/static", STATIC_DIR, show_index=False, follow_symlinks=False)
