"""Rasa's tracker events as every process of ours reads them: one description of the table and the keys.

Rasa's SQL tracker store keeps every conversation as rows of one ``events`` table. Four parts of
Rapport read it: the tracker store itself (in the Rasa process), the turn recorder (action
server), the console's live feed and desk, and erasure. They read it through the statements and
decoders here, so a change of Rasa's schema or of our wire keys is made in one place. The table
is Rasa's: it is described here for reading and deleting, never created (it is not part of the
relationship store's schema).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, bindparam, delete, func, or_, select

#: Metadata key every channel of ours sets on a user message: the channel's name.
CHANNEL_KEY = "rapport_channel"
#: Key under a bot event's ``data.custom`` naming the staff member who wrote it (name, avatar).
STAFF_KEY = "rapport_staff"
#: Slots the tracker store acts on: an erased conversation is deleted, a forgotten one kept in memory.
ERASED_SLOT = "erased"
REMEMBERING_SLOT = "remembering"

events = Table(
    "events",
    MetaData(),  # Rasa's table, not ours: kept apart from bot.store.models.metadata on purpose
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

_sender = bindparam("sender_id")
_session_start = (
    select(func.max(events.c.timestamp))
    .where(events.c.sender_id == _sender, events.c.type_name == "session_started")
    .scalar_subquery()
)
_in_latest_session = or_(events.c.timestamp >= _session_start, _session_start.is_(None))

#: One conversation's events, oldest first (parameter ``sender_id``): all of them, or its latest session's.
CONVERSATION = select(events.c.data).where(events.c.sender_id == _sender).order_by(events.c.id)
LATEST_SESSION = CONVERSATION.where(_in_latest_session)
LATEST_SESSION_COUNT = select(func.count()).select_from(events).where(events.c.sender_id == _sender, _in_latest_session)
#: The newest event id (0 when the table is empty).
LATEST_ID = select(func.coalesce(func.max(events.c.id), 0))


def after(cursor: int, limit: int, *, types: Iterable[str] = ()) -> Any:
    """Events stored after ``cursor`` (an event id), oldest first, at most ``limit`` (only ``types``, if given)."""
    columns = (events.c.id, events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.data)
    statement = select(*columns).where(events.c.id > cursor)
    if types:
        statement = statement.where(events.c.type_name.in_(list(types)))
    return statement.order_by(events.c.id).limit(limit)


def erase(sender_ids: Iterable[str]) -> Any:
    """Delete every event of these conversations."""
    return delete(events).where(events.c.sender_id.in_(list(sender_ids)))


def decode(data: str | bytes | None) -> dict[str, Any]:
    """An event's JSON, or ``{}`` when it cannot be read (one unreadable row must not stop a reader)."""
    if not data:
        return {}
    try:
        value = json.loads(data)
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class StaffAuthor:
    """Who of the staff wrote a bot event, as the console put it there."""

    name: str
    avatar: str | None = None


def staff_author(event: Mapping[str, Any]) -> StaffAuthor | None:
    """The staff member behind a ``bot`` event, or None for the assistant's own messages."""
    if event.get("event") not in (None, "bot"):
        return None
    data = event.get("data")
    custom = data.get("custom") if isinstance(data, dict) else None
    staff = custom.get(STAFF_KEY) if isinstance(custom, dict) else None
    if not isinstance(staff, dict) or not isinstance(staff.get("name"), str):
        return None
    avatar = staff.get("avatar")
    return StaffAuthor(staff["name"], avatar if isinstance(avatar, str) else None)


def staff_marker(name: str, avatar: str | None = None) -> dict[str, Any]:
    """The ``data`` of a bot event written by a staff member (what :func:`staff_author` reads back)."""
    return {"custom": {STAFF_KEY: {"name": name, "avatar": avatar}}}
