"""Erasing a person's conversations from Rasa's SQL tracker store (Rasa has no endpoint for it)."""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

from sqlalchemy import MetaData, create_engine, delete, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from .records import InvalidInput

EVENTS_TABLE = "events"
_ASYNC_DRIVERS = {"aiosqlite", "asyncpg"}
_CHUNK = 500


def _delete_events(connection: Connection, sender_ids: Sequence[str]) -> int:
    if not inspect(connection).has_table(EVENTS_TABLE):
        return 0
    metadata = MetaData()
    metadata.reflect(connection, only=[EVENTS_TABLE])
    events = metadata.tables[EVENTS_TABLE]
    total = 0
    for start in range(0, len(sender_ids), _CHUNK):
        chunk = list(sender_ids[start : start + _CHUNK])
        total += int(connection.execute(delete(events).where(events.c.sender_id.in_(chunk))).rowcount or 0)
    return total


def _erase_sync(url: str, sender_ids: Sequence[str]) -> int:
    engine = create_engine(url, future=True, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            return _delete_events(connection, sender_ids)
    finally:
        engine.dispose()


async def erase_tracker_events(tracker_url: str, sender_ids: list[str]) -> int:
    """Delete every tracker event of these conversations; 0 when the tracker table does not exist."""
    if not sender_ids:
        return 0
    try:
        parsed = make_url(tracker_url)
    except Exception as exc:
        raise InvalidInput(f"not a tracker store URL: {tracker_url!r}") from exc
    if parsed.get_driver_name() in _ASYNC_DRIVERS:
        engine = create_async_engine(tracker_url, future=True, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                result: Any = await connection.run_sync(_delete_events, sender_ids)
                return int(result)
        finally:
            await engine.dispose()
    return await asyncio.to_thread(_erase_sync, tracker_url, list(sender_ids))
