"""``/ws``: the live feed (customer messages of held conversations, queue changes) to staff browsers."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from bot.console.keys import FEED_KEY
from bot.console.render import dumps
from bot.console.security import roles
from bot.staff import DESK_ROLES


def _same_origin(request: web.Request) -> bool:
    """Browsers always send Origin on websockets; a foreign page must not read the feed."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


@roles(*DESK_ROLES)
async def websocket(request: web.Request) -> web.WebSocketResponse:
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-origin websocket refused")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    feed = request.app[FEED_KEY]
    queue = feed.subscribe()

    async def forward() -> None:
        while True:
            await ws.send_json(await queue.get(), dumps=dumps)  # lone surrogates from the tracker as U+FFFD

    sender = asyncio.create_task(forward())
    try:
        async for message in ws:  # the browser only listens; anything it sends is ignored
            if message.type == WSMsgType.ERROR:
                break
    finally:
        feed.unsubscribe(queue)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
    return ws


def add_live_routes(app: web.Application) -> None:
    app.router.add_get("/ws", websocket)
