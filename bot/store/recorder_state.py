"""The turn recorder's row in the relationship store, and its status in plain words.

The recorder (``actions/recorder.py``) keeps its cursor into the tracker store's ``events``
table, its lease and the count of events it had to skip in one ``turn_recorder`` row.  The CLI
(``rapport status``) and the action server's ``GET /health/recorder`` read that row and the
tracker store through :func:`read_status`, so both say the same thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import Database, async_url
from .models import turn_recorder

NAME = "turns"

recorder_table = turn_recorder  # defined with every other table in bot/store/models.py

_LATEST = text("SELECT MAX(id) FROM events")
_OLDEST_PENDING = text("SELECT timestamp FROM events WHERE id > :after ORDER BY id LIMIT 1")


@dataclass(frozen=True)
class RecorderStatus:
    """Where the recorder is in the tracker store, and what it had to pass over."""

    cursor: int | None  # the last tracker event passed over; None before the first run
    latest_event_id: int | None  # the newest tracker event; None when the tracker store is unreadable
    oldest_pending_at: float | None  # when the oldest event not yet passed over was stored (Unix time)
    skipped: int
    last_skipped_event_id: int | None
    holder: str | None
    lease_until: datetime | None

    @property
    def lag_events(self) -> int | None:
        if self.cursor is None or self.latest_event_id is None:
            return None
        return max(0, self.latest_event_id - self.cursor)

    def lag_seconds(self, now: float | None = None) -> float | None:
        """How long the oldest event not yet passed over has waited (0 when caught up)."""
        if self.lag_events is None:
            return None
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, round((time.time() if now is None else now) - self.oldest_pending_at, 1))

    def leased(self, now: datetime | None = None) -> bool:
        return self.lease_until is not None and self.lease_until > (now or datetime.now(timezone.utc))

    def as_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor, "latest_event_id": self.latest_event_id, "lag_events": self.lag_events,
            "lag_seconds": self.lag_seconds(), "skipped": self.skipped,
            "last_skipped_event_id": self.last_skipped_event_id, "recording": self.leased(),
        }  # fmt: skip

    def in_words(self) -> str:
        if self.cursor is None:
            return "The turn recorder has not started yet: no customer turn has been recorded."
        lines = [
            "The turn recorder is running." if self.leased()
            else "The turn recorder is not running (no action server holds its lease).",
            f"It has passed over tracker events up to number {self.cursor}.",
        ]
        if self.latest_event_id is None:
            lines.append("The tracker store cannot be read, so how far behind it is is unknown.")
        elif self.lag_events == 0:
            lines.append("It is up to date with the tracker store.")
        else:
            lines.append(f"It is {self.lag_events} events behind the tracker store "
                         f"(the oldest has waited {self.lag_seconds():.1f} s).")
        if self.skipped == 0:
            lines.append("It has skipped no event.")
        else:
            lines.append(f"It has skipped {self.skipped} event{'s' if self.skipped != 1 else ''} it could not "
                         f"record; the last was event {self.last_skipped_event_id}.")
        return "\n".join(lines)


async def read_status(database: Database, tracker: AsyncEngine) -> RecorderStatus:
    """The recorder's row and the tracker store's position (a missing row: not started yet)."""
    async with database.read() as session:
        row = (await session.execute(sa.select(recorder_table).where(recorder_table.c.name == NAME))).first()
    cursor = None if row is None or row.last_event_id is None else int(row.last_event_id)
    latest = pending = None
    try:
        async with tracker.connect() as connection:
            latest = int(await connection.scalar(_LATEST) or 0)
            if cursor is not None:
                found = await connection.scalar(_OLDEST_PENDING, {"after": cursor})
                pending = None if found is None else float(found)
    except (DBAPIError, OSError):  # no events table yet (Rasa has not started), or the tracker store is down
        latest = None
    if row is None:
        return RecorderStatus(cursor=None, latest_event_id=latest, oldest_pending_at=None, skipped=0,
                              last_skipped_event_id=None, holder=None, lease_until=None)
    lease_until = row.lease_until
    if lease_until is not None and lease_until.tzinfo is None:
        lease_until = lease_until.replace(tzinfo=timezone.utc)
    last_skipped = None if row.last_skipped_event_id is None else int(row.last_skipped_event_id)
    return RecorderStatus(
        cursor=cursor, latest_event_id=latest, oldest_pending_at=pending, skipped=int(row.skipped or 0),
        last_skipped_event_id=last_skipped, holder=row.holder, lease_until=lease_until,
    )


async def status_at(database_url: str, tracker_url: str) -> RecorderStatus:
    """:func:`read_status` for a process that has neither open (the CLI)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    database = Database.connect(database_url)
    tracker = create_async_engine(async_url(tracker_url), future=True)
    try:
        return await read_status(database, tracker)
    finally:
        await tracker.dispose()
        await database.dispose()
