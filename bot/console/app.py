"""The console application factory."""

from __future__ import annotations

from aiohttp import web

from bot import settings as settings_module
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)


async def health(request: web.Request) -> web.Response:
    """Liveness for the launcher and load balancers; public and cheap."""
    return web.json_response({"status": "ok"})


def create_app(settings: Settings | None = None) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings or settings_module.load()
    app.router.add_get("/health", health)
    return app
