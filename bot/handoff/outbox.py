"""The durable outbox of calls into Rasa: staff replies, joins and hand-backs are never lost.

Every call is written first, then delivered; per conversation strictly in the order written.  When
Rasa is down the rows wait and a background loop delivers them once it answers again.  Each step is
one unit of work through ``Database.run`` (on SQLite one thread hop, where aiosqlite took several
per statement and a staff reply waited on them while the console was busy).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Callable, Literal

from sqlalchemy import select, update

from bot.identity import pseudonym
from bot.rasa_client import RasaClient, RasaError, RasaUnavailable, loggable
from bot.store.engine import Database
from bot.store.models import handoff_outbox as outbox_table
from bot.store.validation import utcnow

logger = logging.getLogger(__name__)
Kind = Literal["events", "execute"]
RETRY_SECONDS = 1.0
MAX_ATTEMPTS_ON_ERROR = 5
#: Delivered calls are kept this long (for support questions about a reply), then deleted.
KEEP_DELIVERED = timedelta(days=7)
PURGE_EVERY_S = 3600.0

class Outbox:
    """Write-then-deliver calls into Rasa, in order per conversation."""

    def __init__(self, database: Database, rasa: RasaClient) -> None:
        self._db = database
        self._rasa = rasa
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._wake = asyncio.Event()
        self._listeners: list[Callable[[str], None]] = []

    def on_delivered(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(sender_id)`` after each call that reached Rasa (the live feed reads it at once)."""
        self._listeners.append(listener)

    async def put(self, sender_id: str, kind: Kind, payload: Any) -> int:
        statement = outbox_table.insert().values(
            sender_id=sender_id, kind=kind, payload=payload, created_at=utcnow(), attempts=0
        )
        return await self._db.run(lambda connection: int(connection.execute(statement).inserted_primary_key[0]))

    async def pending(self, sender_id: str | None = None) -> list[Any]:
        statement = select(outbox_table).where(outbox_table.c.delivered_at.is_(None)).order_by(outbox_table.c.id)
        if sender_id is not None:
            statement = statement.where(outbox_table.c.sender_id == sender_id)
        return await self._db.run(lambda connection: list(connection.execute(statement)), write=False)

    async def deliver(self, sender_id: str) -> bool:
        """Deliver this conversation's pending calls in order; True when none is left waiting."""
        async with self._locks[sender_id]:
            for row in await self.pending(sender_id):
                try:
                    await self._send(row)
                except RasaUnavailable as exc:
                    await self._mark(row.id, error=str(exc))
                    self._wake.set()
                    return False
                except RasaError as exc:
                    # Rasa refused the call itself; retrying a few times covers a restart in progress.
                    if row.attempts + 1 < MAX_ATTEMPTS_ON_ERROR:
                        await self._mark(row.id, error=str(exc))
                        return False
                    logger.error("outbox call %s for %s refused by Rasa, giving up: %s",
                                 row.id, pseudonym(sender_id), loggable(exc))
                    await self._mark(row.id, error=str(exc), delivered=True)
                    continue
                await self._mark(row.id, delivered=True)
                for listener in self._listeners:
                    listener(sender_id)
        return True

    async def deliver_all(self) -> bool:
        """One pass over every conversation with pending calls (conversations in parallel)."""
        senders = sorted({row.sender_id for row in await self.pending()})
        results = await asyncio.gather(*(self.deliver(sender) for sender in senders))
        return all(results)

    async def purge_delivered(self, older_than: datetime | None = None) -> int:
        """Delete calls delivered before ``older_than`` (default: ``KEEP_DELIVERED`` ago); waiting ones stay."""
        cutoff = older_than or utcnow() - KEEP_DELIVERED
        statement = outbox_table.delete().where(
            outbox_table.c.delivered_at.is_not(None), outbox_table.c.delivered_at < cutoff)
        return await self._db.run(lambda connection: int(connection.execute(statement).rowcount or 0))

    async def run(self) -> None:
        """Background loop: retry pending calls until the app stops; purge old delivered ones hourly."""
        purged_at = 0.0
        while True:
            if time.monotonic() - purged_at >= PURGE_EVERY_S:
                try:
                    removed = await self.purge_delivered()
                    if removed:
                        logger.info("outbox: deleted %d calls delivered over %s ago", removed, KEEP_DELIVERED)
                    purged_at = time.monotonic()
                except Exception:  # the next pass tries again
                    logger.exception("outbox purge failed")
            try:
                done = await self.deliver_all()
            except Exception:  # keep the loop alive; the database may be briefly locked
                logger.exception("outbox pass failed")
                done = False
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=RETRY_SECONDS if not done else 5.0)
            except asyncio.TimeoutError:
                pass

    async def _send(self, row: Any) -> None:
        if row.kind == "events":
            await self._rasa.append_events(row.sender_id, list(row.payload))
        elif row.kind == "execute":
            await self._rasa.execute(row.sender_id, str(row.payload["name"]))
        else:
            raise RasaError(f"unknown outbox kind {row.kind!r}")

    async def _mark(self, row_id: int, *, error: str | None = None, delivered: bool = False) -> None:
        values: dict[str, Any] = {"attempts": outbox_table.c.attempts + 1, "last_error": error}
        if delivered:
            values["delivered_at"] = utcnow()
        statement = update(outbox_table).where(outbox_table.c.id == row_id).values(**values)
        await self._db.run(lambda connection: connection.execute(statement))
