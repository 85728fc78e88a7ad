"""The live feed: customer messages of held conversations and queue changes, pushed to staff.

Messages are read by tailing the Rasa tracker store's ``events`` table (``id > last_id``, an
index-friendly primary-key range) every ~50 ms, at once when the desk has just written into a
conversation; only conversations with an open ticket are passed on.  One pooled connection does the
reading: that is what makes polling this often cheap (docs/performance-history.md).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import pool
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot import tracker_events
from bot.store import RelationshipStore
from bot.store.engine import async_url

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.05
QUEUE_POLL_SECONDS = 0.5
MAX_SUBSCRIBER_BACKLOG = 500
_BATCH = 500


class LiveFeed:
    """Fan-out of JSON messages to every connected staff browser (one queue per socket)."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def publish(self, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # a stalled browser must not hold up the others
                logger.warning("dropping a live message for a slow staff browser")


def message_from_row(row: Any, ticket_id: int) -> dict[str, Any] | None:
    """The feed message for one tracker event row, or None when it carries no text."""
    data = tracker_events.decode(row.data) if isinstance(row.data, (str, bytes)) else dict(row.data or {})
    body = data.get("text")
    if not isinstance(body, str) or not body:
        return None
    staff = tracker_events.staff_author(data) if row.type_name == "bot" else None
    who = "customer" if row.type_name == "user" else ("staff" if staff else "bot")
    return {
        "type": "message",
        "ticket_id": ticket_id,
        "who": who,
        "text": body,
        "staff_name": staff.name if staff else None,
        "at": datetime.fromtimestamp(float(row.timestamp or 0), tz=timezone.utc).isoformat(),
    }


def _tail_engine(tracker_url: str) -> AsyncEngine:
    url = async_url(tracker_url)
    if url.startswith("sqlite"):
        # aiosqlite's default for a file is NullPool: a new connection (and thread) for every poll.
        return create_async_engine(url, future=True, poolclass=pool.AsyncAdaptedQueuePool, pool_size=1, max_overflow=0)
    return create_async_engine(url, future=True, pool_size=1, max_overflow=1)


class TrackerTail:
    """Polls the tracker store and the ticket queue; publishes messages and queue changes."""

    def __init__(self, tracker_url: str, store: RelationshipStore, feed: LiveFeed) -> None:
        self._url = tracker_url
        self._store = store
        self._feed = feed
        self._engine: AsyncEngine | None = None
        self._last_id: int | None = None
        self._open: dict[str, int] = {}
        self._signature: tuple[Any, ...] | None = None
        self._refresh = asyncio.Event()
        self._wake = asyncio.Event()

    def queue_changed(self) -> None:
        """Desk changes call this so the queue and the held conversations are re-read at once."""
        self._refresh.set()
        self._wake.set()

    def messages_written(self) -> None:
        """The desk wrote into a conversation (a staff reply reached Rasa): read the new events now."""
        self._wake.set()

    async def refresh_queue(self) -> None:
        tickets = await self._store.list_tickets(status="waiting", limit=1000)
        tickets += await self._store.list_tickets(status="claimed", limit=1000)
        self._open = {t.sender_id: t.id for t in tickets}
        signature = tuple(sorted((t.id, t.status, t.assigned_staff_id, t.team) for t in tickets))
        if signature != self._signature:
            if self._signature is not None:
                self._feed.publish({"type": "queue"})
            self._signature = signature

    async def poll_messages(self) -> int:
        """Publish new messages of held conversations; returns how many events were read."""
        if self._engine is None:
            self._engine = _tail_engine(self._url)
        try:
            async with self._engine.connect() as connection:
                if self._last_id is None:
                    self._last_id = int(await connection.scalar(tracker_events.LATEST_ID) or 0)
                    return 0
                rows = list(await connection.execute(tracker_events.after(self._last_id, _BATCH, types=("user", "bot"))))
        except (OperationalError, ProgrammingError, DBAPIError) as exc:
            # Rasa creates the table on its first start; until then there is nothing to tail.
            logger.debug("tracker store not readable yet: %s", exc)
            return 0
        if any(row.sender_id not in self._open for row in rows):
            await self.refresh_queue()  # a message may belong to a ticket created a moment ago
        for row in rows:
            ticket_id = self._open.get(row.sender_id)
            if ticket_id is not None:
                message = message_from_row(row, ticket_id)
                if message is not None:
                    self._feed.publish(message)
        if rows:
            self._last_id = int(rows[-1].id)
        return len(rows)

    async def run(self) -> None:
        """Until cancelled: messages every ~50 ms, the queue every ~500 ms; both at once on a desk change."""
        loop = asyncio.get_running_loop()
        next_queue = 0.0
        while True:
            self._wake.clear()  # a wake-up during this pass makes the next one start at once
            try:
                if self._refresh.is_set() or loop.time() >= next_queue:
                    self._refresh.clear()
                    await self.refresh_queue()
                    next_queue = loop.time() + QUEUE_POLL_SECONDS
                read = await self.poll_messages()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad poll must not end the live feed
                logger.exception("live feed poll failed")
                read = 0
            if read < _BATCH:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
                except asyncio.TimeoutError:
                    pass

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
