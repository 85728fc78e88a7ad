"""The console application factory: staff desk pages, JSON API, live feed, and the public web chat."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import AsyncIterator

from aiohttp import web

from bot import settings as settings_module
from bot.console.api import add_api_routes
from bot.console.auth import add_auth_routes
from bot.console.errors import error_middleware
from bot.console.keys import DESK_KEY, FEED_KEY, OUTBOX_KEY, RASA_KEY, SESSIONS_KEY, SETTINGS_KEY, STAFF_DIRECTORY_KEY, STORE_KEY, TAIL_KEY, TASKS_KEY, TEMPLATES_KEY, THROTTLE_KEY
from bot.console.live import add_live_routes
from bot.console.pages import add_page_routes
from bot.console.render import environment
from bot.console.security import auth_middleware, security_headers
from bot.console.sessions import SessionStore
from bot.console.throttle import LoginThrottle
from bot.handoff import canned
from bot.handoff.desk import Desk
from bot.handoff.live import LiveFeed, TrackerTail
from bot.handoff.outbox import Outbox
from bot.rasa_client import RasaClient
from bot.settings import Settings
from bot.staff import StaffDirectory
from bot.store import RelationshipStore
from bot.webchat import add_webchat_routes, webchat_config

logger = logging.getLogger(__name__)
SHUTDOWN_STEP_S = 5.0

__all__ = ["create_app"]
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024


async def health(request: web.Request) -> web.Response:
    """Liveness for the launcher and load balancers; public and cheap."""
    return web.json_response({"status": "ok"})


async def _desk_context(app: web.Application) -> AsyncIterator[None]:
    """Open the store, the Rasa client, the outbox loop and the live feed; close them on shutdown."""
    settings = app[SETTINGS_KEY]
    store = await RelationshipStore.open(settings.database_url, link_code_secret=settings.link_code_secret)
    rasa = RasaClient(settings.rasa_url, settings.rasa_token)
    replies = await asyncio.to_thread(canned.load, settings.project_root / "data" / "canned_replies.yml")
    app[STORE_KEY], app[RASA_KEY] = store, rasa
    app[STAFF_DIRECTORY_KEY] = StaffDirectory(store.database)
    app[SESSIONS_KEY] = SessionStore(store.database, timedelta(hours=settings.console.session_hours))
    app[THROTTLE_KEY] = LoginThrottle(store.database)
    app[OUTBOX_KEY] = Outbox(store.database, rasa)
    app[DESK_KEY] = desk = Desk(store, app[STAFF_DIRECTORY_KEY], app[OUTBOX_KEY], rasa, replies)
    app[FEED_KEY] = feed = LiveFeed()
    app[TAIL_KEY] = tail = TrackerTail(settings.tracker_store_url, store, feed)

    def changed(what: str, ticket: object) -> None:
        feed.publish({"type": "queue"})
        tail.queue_changed()

    desk.on_change(changed)
    app[OUTBOX_KEY].on_delivered(lambda sender_id: tail.messages_written())
    app[TASKS_KEY] = [asyncio.create_task(app[OUTBOX_KEY].run()), asyncio.create_task(tail.run())]
    try:
        yield
    finally:
        # Bounded: a background task stuck in a database call must not hold up shutdown.
        for task in app[TASKS_KEY]:
            task.cancel()
        _done, stuck = await asyncio.wait(app[TASKS_KEY], timeout=SHUTDOWN_STEP_S)
        if stuck:
            logger.warning("%d background task(s) did not stop in %.0f s", len(stuck), SHUTDOWN_STEP_S)
        for closing in (tail.close(), rasa.close(), store.close()):
            try:
                await asyncio.wait_for(closing, SHUTDOWN_STEP_S)
            except asyncio.TimeoutError:
                logger.warning("a console resource did not close in %.0f s", SHUTDOWN_STEP_S)


def create_app(settings: Settings | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[error_middleware, auth_middleware])
    app[SETTINGS_KEY] = settings or settings_module.load()
    app[TEMPLATES_KEY] = environment()
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(_desk_context)
    app.router.add_get("/health", health)
    add_auth_routes(app)
    add_page_routes(app)
    add_api_routes(app)
    add_live_routes(app)
    add_webchat_routes(app, webchat_config(app[SETTINGS_KEY]))
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app
