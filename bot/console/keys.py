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

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", RelationshipStore)
STAFF = web.AppKey("staff", StaffDirectory)
SESSIONS = web.AppKey("sessions", SessionStore)
THROTTLE = web.AppKey("throttle", LoginThrottle)
RASA = web.AppKey("rasa", RasaClient)
OUTBOX = web.AppKey("outbox", Outbox)
DESK = web.AppKey("desk", Desk)
FEED = web.AppKey("feed", LiveFeed)
TAIL = web.AppKey("tail", TrackerTail)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
TASKS = web.AppKey("tasks", list[asyncio.Task[None]])
