"""Typed application keys of the console (its per-app state)."""

from __future__ import annotations

import asyncio

import jinja2
from aiohttp import web

from bot.console.sessions import SessionStore
from bot.console.throttle import LoginThrottle
from bot.handoff.desk import Desk
from bot.handoff.live import LiveFeed, TrackerTail
from bot.handoff.outbox import Outbox
from bot.rasa_client import RasaClient
from bot.settings import Settings
from bot.staff import StaffDirectory
from bot.store import RelationshipStore

SETTINGS_KEY = web.AppKey("settings", Settings)
STORE_KEY = web.AppKey("store", RelationshipStore)
STAFF_DIRECTORY_KEY = web.AppKey("staff", StaffDirectory)
SESSIONS_KEY = web.AppKey("sessions", SessionStore)
THROTTLE_KEY = web.AppKey("throttle", LoginThrottle)
RASA_KEY = web.AppKey("rasa", RasaClient)
OUTBOX_KEY = web.AppKey("outbox", Outbox)
DESK_KEY = web.AppKey("desk", Desk)
FEED_KEY = web.AppKey("feed", LiveFeed)
TAIL_KEY = web.AppKey("tail", TrackerTail)
TEMPLATES_KEY = web.AppKey("templates", jinja2.Environment)
TASKS_KEY = web.AppKey("tasks", list[asyncio.Task[None]])
