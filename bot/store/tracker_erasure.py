"""Erasing a person's conversations from Rasa's SQL tracker store (Rasa has no endpoint for it).

On a SQLite file the eraser's connection has the store's pragmas (``secure_delete`` zeroes the
deleted rows), and after the delete the write-ahead log is emptied: its old page images are the
last copy of the conversation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from .engine import listen_sqlite, truncate_wal
from bot import tracker_events

from .records import InvalidInput

EVENTS_TABLE = tracker_events.events.name
_ASYNC_DRIVERS = {"aiosqlite", "asyncpg"}
_CHUNK = 500


def _delete_events(connection: Connection, sender_ids: Sequence[str]) -> int:
    if not inspect(connection).has_table(EVENTS_TABLE):
        return 0
    total = 0
    for start in range(0, len(sender_ids), _CHUNK):
        total += int(connection.execute(tracker_events.erase(sender_ids[start : start + _CHUNK])).rowcount or 0)
    return total


def _erase_sync(url: str, sender_ids: Sequence[str]) -> int:
    engine = create_engine(url, future=True, poolclass=NullPool, hide_parameters=True)
    try:
        with engine.begin() as connection:
            return _delete_events(connection, sender_ids)
    finally:
        engine.dispose()


def _erase_sqlite(url: URL, sender_ids: Sequence[str]) -> int:
    """Delete with the store's pragmas, then empty the WAL on the same connection (blocking)."""
    engine = create_engine(url, future=True, poolclass=NullPool, hide_parameters=True)
    listen_sqlite(engine)
    try:
        with engine.connect() as connection:
            with connection.begin():
                deleted = _delete_events(connection, sender_ids)
            truncate_wal(connection.connection.dbapi_connection, Path(url.database or "").name)
            return deleted
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
    if parsed.get_backend_name() == "sqlite":
        # The stdlib driver in a thread, whatever the URL names: one connection for delete and checkpoint.
        return await asyncio.to_thread(_erase_sqlite, parsed.set(drivername="sqlite"), list(sender_ids))
    if parsed.get_driver_name() in _ASYNC_DRIVERS:
        engine = create_async_engine(tracker_url, future=True, poolclass=NullPool, hide_parameters=True)
        try:
            async with engine.begin() as connection:
                result: Any = await connection.run_sync(_delete_events, sender_ids)
                return int(result)
        finally:
            await engine.dispose()
    return await asyncio.to_thread(_erase_sync, tracker_url, list(sender_ids))
