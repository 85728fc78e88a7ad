"""Every stored customer turn is remembered off the answer's path, by tailing the tracker store.

An action before every answer cost each turn a round trip to this server and a second policy
prediction in Rasa; under 10 concurrent conversations that was most of Rasa's time.  Instead the
action server runs one :class:`TurnRecorder`: it reads new ``user`` events from the tracker
store's ``events`` table (``id > cursor``) a few times a second and records each turn (intent,
topics, outcome, and a verified customer id) in the relationship store.

- **Nothing twice, nothing lost.**  The cursor lives in the relationship store (``turn_recorder``),
  so a restart resumes where it stopped.  A crash between recording a batch and saving the cursor
  can repeat that one batch (a few turns).  On PostgreSQL, ids can commit out of order, so a gap in
  the ids is waited for (``GAP_WAIT_S``) before it is passed.
- **One recorder.**  A lease row lets only one action server record when several run.
- **Privacy.**  A "stop remembering me" conversation never reaches the table (the tracker store
  keeps it in memory) and an erased one is deleted from it, so neither is recorded.  The privacy
  actions call :meth:`TurnRecorder.flush` first, so what they show or erase includes the last turn.
- **Slots.**  When a turn changes what the conversation should know (a signed customer id joins it
  to a known person, or the customer confirms their open question was sorted) the recorder sets
  the slots through Rasa's HTTP API.

Started by the action server (``after_server_start``); see :func:`attach`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from actions import context
from actions.turn import record_for
from bot.identity import channel_of, verified_customer_id
from bot.store import RelationshipStore
from bot.store.engine import async_url

logger = logging.getLogger(__name__)

POLL_S = 0.2
BATCH = 200
LEASE_S = 10.0
GAP_WAIT_S = 2.0
_RENEW_BEFORE = timedelta(seconds=LEASE_S / 2)
POLL_TIMEOUT_S = 30.0
NAME = "turns"

recorder_metadata = sa.MetaData()
recorder_table = sa.Table(
    "turn_recorder",
    recorder_metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("last_event_id", sa.BigInteger),
    sa.Column("holder", sa.String(128)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
)

_NEW_TURNS = text(
    "SELECT id, sender_id, type_name, data FROM events WHERE id > :after ORDER BY id LIMIT :batch"
)
_GREETING_BEFORE = text(
    "SELECT data FROM events WHERE sender_id = :sender AND id < :before AND type_name = 'slot'"
    " AND action_name = 'greeting' ORDER BY id DESC LIMIT 1"
)

SlotPusher = Callable[[str, list[dict[str, Any]]], Awaitable[None]]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class TurnRecorder:
    """Tails the tracker store and records every customer turn in the relationship store."""

    def __init__(self, tracker_url: str, store: Callable[[], Awaitable[RelationshipStore]], *,
                 identity_secret: str, push_slots: SlotPusher | None = None, holder: str | None = None) -> None:
        self._tracker_url = tracker_url
        self._store = store
        self._secret = identity_secret
        self._push = push_slots
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._engine: AsyncEngine | None = None
        self._cursor: int | None = None
        self._gap_since: float | None = None
        self._table_missing = False
        self._lease_until: datetime | None = None
        self._lock = asyncio.Lock()
        self.recorded = 0

    # the lease and the cursor ---------------------------------------------------------------
    async def _take_lease(self, handle: RelationshipStore) -> int | None:
        """The cursor when this process holds (or took) the lease, else None.

        A held lease is renewed with the cursor, so an idle poll writes nothing.
        """
        now = _utcnow()
        if self._cursor is not None and self._lease_until is not None and now < self._lease_until - _RENEW_BEFORE:
            return self._cursor
        table = recorder_table
        async with handle.database.write() as session:
            row = (await session.execute(sa.select(table).where(table.c.name == NAME))).first()
            if row is None:
                await session.execute(table.insert().values(name=NAME, last_event_id=None, holder=self.holder,
                                                            lease_until=now + timedelta(seconds=LEASE_S)))
                self._lease_until = now + timedelta(seconds=LEASE_S)
                return -1
            lease_until = _aware(row.lease_until)
            if row.holder != self.holder and lease_until is not None and lease_until > now:
                return None
            result = await session.execute(
                table.update()
                .where(table.c.name == NAME, table.c.holder == row.holder)
                .values(holder=self.holder, lease_until=now + timedelta(seconds=LEASE_S))
            )
            if result.rowcount != 1:
                return None  # another recorder took it at the same moment
            self._lease_until = now + timedelta(seconds=LEASE_S)
            return -1 if row.last_event_id is None else int(row.last_event_id)

    async def _save_cursor(self, handle: RelationshipStore, cursor: int) -> None:
        """Save the cursor and renew the lease in one write; a lost lease stops this recorder."""
        until = _utcnow() + timedelta(seconds=LEASE_S)
        async with handle.database.write() as session:
            result = await session.execute(
                recorder_table.update()
                .where(recorder_table.c.name == NAME, recorder_table.c.holder == self.holder)
                .values(last_event_id=cursor, lease_until=until)
            )
        if result.rowcount == 1:
            self._cursor, self._lease_until = cursor, until
        else:
            self._cursor, self._lease_until = None, None

    async def release(self) -> None:
        try:
            handle = await self._store()
            async with handle.database.write() as session:
                await session.execute(
                    recorder_table.update()
                    .where(recorder_table.c.name == NAME, recorder_table.c.holder == self.holder)
                    .values(lease_until=None)
                )
        except Exception:  # shutting down; the lease expires on its own
            logger.debug("releasing the recorder lease failed", exc_info=True)

    # reading the tracker store ----------------------------------------------------------------
    def _tracker_engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(async_url(self._tracker_url), future=True)
        return self._engine

    async def _rows(self, after: int) -> tuple[list[Any], int]:
        """New event rows after ``after``, and the highest id in the table when starting fresh."""
        async with self._tracker_engine().connect() as connection:
            if after < 0:
                # First run on this store: record from now on, not the history an older version
                # recorded; but a tracker store created after we started is recorded from its start.
                latest = int(await connection.scalar(text("SELECT COALESCE(MAX(id), 0) FROM events")) or 0)
                return [], 0 if self._table_missing else latest
            rows = list(await connection.execute(_NEW_TURNS, {"after": after, "batch": BATCH}))
        return rows, after

    async def _greeting_before(self, sender_id: str, event_id: int) -> str | None:
        async with self._tracker_engine().connect() as connection:
            data = await connection.scalar(_GREETING_BEFORE, {"sender": sender_id, "before": event_id})
        try:
            return (json.loads(data) or {}).get("value") if data else None
        except (TypeError, ValueError):
            return None

    def _contiguous(self, rows: list[Any], after: int) -> list[Any]:
        """Rows up to the first gap in the ids, unless that gap has lasted ``GAP_WAIT_S``."""
        expected = after + 1
        for index, row in enumerate(rows):
            if int(row.id) != expected:
                if self._gap_since is None:
                    self._gap_since = time.monotonic()
                if time.monotonic() - self._gap_since < GAP_WAIT_S:
                    return rows[:index]
                self._gap_since = None  # a rolled-back or deleted event: pass it
            expected = int(row.id) + 1
        self._gap_since = None
        return rows

    # recording ---------------------------------------------------------------------------------
    async def poll_once(self) -> int:
        """Record the pending turns once; the number of event rows passed over."""
        async with self._lock:
            try:
                handle = await self._store()
                cursor = await self._take_lease(handle)
                if cursor is None:
                    self._cursor = self._lease_until = None
                    return 0
                try:
                    rows, start = await self._rows(cursor)
                except (OperationalError, ProgrammingError, DBAPIError) as exc:
                    logger.debug("tracker store not readable yet: %s", exc)  # Rasa creates it on first start
                    self._table_missing = self._table_missing or cursor < 0
                    return 0
                if cursor < 0:
                    await self._save_cursor(handle, start)
                    return 0
                rows = self._contiguous(rows, cursor)
                for row in rows:
                    if row.type_name == "user":
                        await self._record(handle, row)
                if rows:
                    await self._save_cursor(handle, int(rows[-1].id))
                else:
                    self._cursor = cursor
                return len(rows)
            except context.StoreUnavailable as exc:
                logger.warning("turns not recorded yet, store unavailable: %s", exc)
                return 0

    async def flush(self) -> None:
        """Record everything stored so far (the privacy actions call this first)."""
        for _ in range(50):
            if await self.poll_once() < BATCH:
                return

    async def _record(self, handle: RelationshipStore, row: Any) -> None:
        try:
            event = json.loads(row.data)
        except (TypeError, ValueError):
            logger.warning("unreadable tracker event %s skipped", row.id)
            return
        metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
        channel = channel_of(metadata, event.get("input_channel"))
        greeting = None
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "affirm":
            greeting = await self._greeting_before(row.sender_id, int(row.id))
        record = record_for(event, channel, greeting)
        who = context.Speaker(channel=channel, sender_id=row.sender_id,
                              customer_id=verified_customer_id(metadata, self._secret))
        if record is None and who.customer_id is None:
            return
        before = await handle.find_person(channel, row.sender_id) if who.customer_id else None
        if record is None:
            person = await handle.resolve_person(channel, row.sender_id)
        else:
            person = await handle.resolve_and_record(channel, row.sender_id, record)
            self.recorded += 1
        person = await context.verified_person(handle, who, person)
        slots: list[dict[str, Any]] = []
        if who.customer_id is not None and (before is None or before.id != person.id):
            slots += context.person_slots(person, await handle.consents(person.id))  # joined a known person
        if record is not None and record.outcome == "resolved":
            slots += [{"event": "slot", "name": "open_issue", "value": None},
                      {"event": "slot", "name": "greeting", "value": "named" if person.name else "returning"}]
        if slots and self._push is not None:
            await self._push(row.sender_id, slots)

    async def run(self) -> None:
        """Until cancelled: record new turns every ``POLL_S``."""
        while True:
            try:
                read = await asyncio.wait_for(self.poll_once(), POLL_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken store or one bad poll must not end the recording
                logger.exception("turn recorder poll failed; retrying with a fresh store connection")
                await context.reset_store()
                read = 0
            if read < BATCH:
                await asyncio.sleep(POLL_S)

    async def close(self) -> None:
        await self.release()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


# the action server's recorder ----------------------------------------------------------------
_running: TurnRecorder | None = None
_task: asyncio.Task | None = None


def current() -> TurnRecorder | None:
    """The recorder of this action server process, if it runs."""
    return _running


async def flush() -> None:
    """Record every stored turn now, when this process records (no-op otherwise)."""
    if _running is None:
        return
    try:
        await asyncio.wait_for(_running.flush(), context.STORE_TIMEOUT_S)
    except asyncio.TimeoutError:
        logger.warning("recorder flush timed out; going on with what is recorded")
    except Exception as exc:  # best effort: the action itself reports a store that is down
        logger.warning("recorder flush failed (%s); going on with what is recorded", exc)
        await context.reset_store()


async def start() -> TurnRecorder:
    global _running, _task
    from bot import settings as settings_module

    if _running is None:
        settings = settings_module.load()
        _running = TurnRecorder(settings.tracker_store_url, context.store,
                                identity_secret=settings.identity_secret, push_slots=context.push_slots)
        _task = asyncio.get_running_loop().create_task(_running.run(), name="turn-recorder")
    return _running


async def stop() -> None:
    global _running, _task
    if _task is not None:
        _task.cancel()
        try:
            await _task
        except (asyncio.CancelledError, Exception):
            pass
    if _running is not None:
        await _running.close()
    _running, _task = None, None


def attach() -> bool:
    """Run the recorder inside the action server (``python -m rasa_sdk`` or ``rasa run actions``).

    Both create their Sanic app named ``rasa_sdk`` before importing the actions package, so the
    app can be found here; imported anywhere else (tests, tools) nothing is started.
    """
    try:
        from sanic import Sanic

        app = Sanic.get_app("rasa_sdk")
    except Exception:
        return False

    async def started(_app: Any, _loop: Any) -> None:
        await start()

    async def stopping(_app: Any, _loop: Any) -> None:
        await stop()

    app.register_listener(started, "after_server_start")
    app.register_listener(stopping, "before_server_stop")
    return True
