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
- **Never wedged.**  An event that cannot be recorded (anything stored by any route: invalid
  Unicode, odd shapes, a value the store refuses) is tried on ``MAX_ATTEMPTS`` polls, then
  skipped: logged with its event id only, counted in the ``turn_recorder`` row, and the cursor
  moves on (``rapport status`` and ``GET /health/recorder`` show the count).  A store or tracker
  store that is down is not the event's fault: nothing is skipped, the recorder waits.  Repeated
  identical problems are logged once a minute with a count, never with ids or text.
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
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from actions import linked, people, storage
from actions.turn import record_for
from bot import tracker_events
from bot.identity import channel_of, verified_customer_id
from bot.store import RelationshipStore
from bot.store.engine import async_url
from bot.store.recorder_state import NAME, RecorderStatus, read_status, recorder_table  # noqa: F401

logger = logging.getLogger(__name__)

POLL_S = 0.2
BATCH = 200
LEASE_S = 10.0
GAP_WAIT_S = 2.0
_RENEW_BEFORE = timedelta(seconds=LEASE_S / 2)
POLL_TIMEOUT_S = 30.0
#: Polls on which an event that failed is tried before it is skipped, and the wait between them.
MAX_ATTEMPTS = 3
RETRY_AFTER_S = 1.0
#: The same problem is logged at most once in this many seconds (with the count held back).
LOG_EVERY_S = 60.0
#: How long stopping waits for the poll in flight before it cancels it.
STOP_WAIT_S = 5.0

_GREETING_BEFORE = text(
    "SELECT data FROM events WHERE sender_id = :sender AND id < :before AND type_name = 'slot'"
    " AND action_name = 'greeting' ORDER BY id DESC LIMIT 1"
)

SlotPusher = Callable[[str, list[dict[str, Any]]], Awaitable[None]]

#: Failures of a store or the tracker store itself, not of one event: wait and retry, skip nothing.
_OUTAGES = (
    storage.StoreUnavailable, OSError, asyncio.TimeoutError, sa_exc.OperationalError, sa_exc.InterfaceError,
    sa_exc.ProgrammingError, sa_exc.InternalError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
)  # fmt: skip


class UnreadableEvent(ValueError):
    """A tracker event row whose data is not a JSON object: skipped at once, retrying cannot help."""


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says a database is unreachable or unusable, rather than that one event is bad."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, _OUTAGES) or (isinstance(seen, DBAPIError) and seen.connection_invalidated):
            return True
        seen = seen.__cause__
    return False


def _kind(exc: BaseException) -> str:
    """The exception's type names: safe to log (messages of database errors carry the values)."""
    inner = getattr(exc, "orig", None)
    return type(exc).__name__ if inner is None else f"{type(exc).__name__}({type(inner).__name__})"


def _outage_reason(exc: BaseException) -> str:
    """Type and first line of the driver's own message (no SQL, no parameters), escaped for any log."""
    inner: BaseException = exc
    while isinstance(inner, storage.StoreUnavailable) and inner.__cause__ is not None:
        inner = inner.__cause__
    detail = str(getattr(inner, "orig", None) or inner).split("\n", 1)[0][:160]
    detail = detail.encode("ascii", "backslashreplace").decode("ascii")
    return f"{_kind(inner)}: {detail}" if detail else _kind(inner)


class _Limited:
    """Logs each distinct problem at most once per ``LOG_EVERY_S``, then how often it came back."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, int]] = {}  # key -> (logged at, repeats held back since)

    def log(self, key: str, level: int, message: str, *args: Any, exc_info: BaseException | None = None) -> None:
        now = time.monotonic()
        logged_at, held = self._seen.get(key, (None, 0))
        if logged_at is not None and now - logged_at < LOG_EVERY_S:
            self._seen[key] = (logged_at, held + 1)
            return
        if len(self._seen) > 100:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            message += f" ({held} more like it since this was last logged)"
        logger.log(level, message, *args, exc_info=exc_info)


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
        self._failing: tuple[int, int, float] | None = None  # (event id, failed attempts, last attempt)
        self._log = _Limited()
        self._stop_requested = False
        self.recorded = 0
        self.skipped = 0  # by this process; the store's row has the total

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

    async def _save_cursor(self, handle: RelationshipStore, cursor: int, skipped: list[int] | None = None) -> None:
        """Save the cursor (and count the events skipped on the way) and renew the lease in one write.

        A lost lease stops this recorder.
        """
        until = _utcnow() + timedelta(seconds=LEASE_S)
        values: dict[str, Any] = {"last_event_id": cursor, "lease_until": until}
        if skipped:
            values.update(skipped=recorder_table.c.skipped + len(skipped), last_skipped_event_id=skipped[-1])
        async with handle.database.write() as session:
            result = await session.execute(
                recorder_table.update()
                .where(recorder_table.c.name == NAME, recorder_table.c.holder == self.holder)
                .values(**values)
            )
        if result.rowcount == 1:
            self._cursor, self._lease_until = cursor, until
            self.skipped += len(skipped or ())
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
                latest = int(await connection.scalar(tracker_events.LATEST_ID) or 0)
                return [], 0 if self._table_missing else latest
            rows = list(await connection.execute(tracker_events.after(after, BATCH)))
        return rows, after

    async def _greeting_before(self, sender_id: str, event_id: int) -> str | None:
        async with self._tracker_engine().connect() as connection:
            data = await connection.scalar(_GREETING_BEFORE, {"sender": sender_id, "before": event_id})
        try:
            return (json.loads(data) or {}).get("value") if data else None
        except (TypeError, ValueError, AttributeError):
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

    async def status(self) -> RecorderStatus:
        """Cursor, lag and skipped events, from the store's row and the tracker store."""
        handle = await self._store()
        return await read_status(handle.database, self._tracker_engine())

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
                passed, skipped, outage = await self._record_rows(handle, rows)
                if passed:
                    await self._save_cursor(handle, int(rows[passed - 1].id), skipped)
                else:
                    self._cursor = cursor
                if outage is not None:
                    raise outage
                return passed
            except storage.StoreUnavailable as exc:
                self._log.log("store-unavailable", logging.WARNING, "turns not recorded yet, store unavailable: %s",
                              _outage_reason(exc))
                return 0

    async def _record_rows(self, handle: RelationshipStore, rows: list[Any]) -> tuple[int, list[int], Exception | None]:
        """Record ``rows`` in order: how many were passed over, the ids skipped, and an outage if one stopped it.

        An event that failed is tried again on a later poll (``RETRY_AFTER_S`` apart) and the rows
        after it wait; after ``MAX_ATTEMPTS`` it is skipped.
        """
        skipped: list[int] = []
        for index, row in enumerate(rows):
            if row.type_name != "user":
                continue
            event_id = int(row.id)
            failing = self._failing if self._failing is not None and self._failing[0] == event_id else None
            if failing is not None and time.monotonic() - failing[2] < RETRY_AFTER_S:
                return index, skipped, None
            try:
                await self._record(handle, row)
            except asyncio.CancelledError:
                raise
            except UnreadableEvent:
                self._failing = None
                self._skip(event_id, 1, "not a JSON object")
                skipped.append(event_id)
            except Exception as exc:
                if is_outage(exc):
                    return index, skipped, exc
                if await self._store() is not handle:  # closed and replaced under us: not the event's fault
                    return index, skipped, storage.StoreUnavailable("the store was reopened while recording")
                attempts = 1 if failing is None else failing[1] + 1
                if attempts < MAX_ATTEMPTS:
                    self._failing = (event_id, attempts, time.monotonic())
                    logger.debug("tracker event %d not recorded (%s); attempt %d of %d", event_id, _kind(exc),
                                 attempts, MAX_ATTEMPTS)
                    return index, skipped, None
                self._failing = None
                self._skip(event_id, attempts, _kind(exc))
                skipped.append(event_id)
            else:
                self._failing = None
        return len(rows), skipped, None

    def _skip(self, event_id: int, attempts: int, reason: str) -> None:
        self._log.log(f"skip:{reason}", logging.ERROR,
                      "turn recorder skipped tracker event %d: it could not be recorded (%s, %d attempt%s); "
                      "the turns after it are recorded", event_id, reason, attempts, "" if attempts == 1 else "s")

    async def flush(self) -> None:
        """Record everything stored so far (the privacy actions call this first)."""
        for _ in range(50):
            if await self.poll_once() < BATCH:
                return

    async def _record(self, handle: RelationshipStore, row: Any) -> None:
        try:
            event = json.loads(row.data)
        except (TypeError, ValueError) as exc:
            raise UnreadableEvent(f"tracker event {row.id} is not JSON") from exc
        if not isinstance(event, dict):
            raise UnreadableEvent(f"tracker event {row.id} is not a JSON object")
        metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
        channel = channel_of(metadata, event.get("input_channel"))
        greeting = None
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "affirm":
            greeting = await self._greeting_before(row.sender_id, int(row.id))
        record = record_for(event, channel, greeting)
        who = people.Speaker(channel=channel, sender_id=row.sender_id,
                              customer_id=verified_customer_id(metadata, self._secret))
        if record is None and who.customer_id is None:
            return
        before = await handle.find_person(channel, row.sender_id) if who.customer_id else None
        if record is None:
            person = await handle.resolve_person(channel, row.sender_id)
        else:
            person = await handle.resolve_and_record(channel, row.sender_id, record)
            self.recorded += 1
        person = await people.verified_person(handle, who, person)
        slots: list[dict[str, Any]] = []
        if who.customer_id is not None and (before is None or before.id != person.id):
            slots += people.person_slots(person, await handle.consents(person.id))  # joined a known person
        if record is not None and record.outcome == "resolved":
            slots += [{"event": "slot", "name": "open_issue", "value": None},
                      {"event": "slot", "name": "greeting", "value": "named" if person.name else "returning"}]
        if slots and self._push is not None:
            await self._push(row.sender_id, slots)

    def request_stop(self) -> None:
        """End :meth:`run` after the poll in flight (cancelling one could leave a transaction open)."""
        self._stop_requested = True

    async def run(self) -> None:
        """Until stopped or cancelled: record new turns every ``POLL_S``."""
        while not self._stop_requested:
            try:
                read = await asyncio.wait_for(self.poll_once(), POLL_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken store or one bad poll must not end the recording
                if is_outage(exc):
                    self._log.log(f"outage:{_kind(exc)}", logging.WARNING,
                                  "turns not recorded yet (%s); retrying with a fresh store connection",
                                  _outage_reason(exc))
                else:  # not a database error: the traceback names our code, its message no values
                    self._log.log(f"poll:{_kind(exc)}", logging.ERROR,
                                  "turn recorder poll failed (%s); retrying with a fresh store connection",
                                  _kind(exc), exc_info=None if isinstance(exc, sa_exc.SQLAlchemyError) else exc)
                await storage.reset_store()
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
        await asyncio.wait_for(_running.flush(), storage.STORE_TIMEOUT_S)
    except asyncio.TimeoutError:
        logger.warning("recorder flush timed out; going on with what is recorded")
    except Exception as exc:  # best effort: the action itself reports a store that is down
        logger.warning("recorder flush failed (%s); going on with what is recorded", _kind(exc))
        await storage.reset_store()


async def start() -> TurnRecorder:
    global _running, _task
    from bot import settings as settings_module

    if _running is None:
        settings = settings_module.load()
        _running = TurnRecorder(settings.tracker_store_url, storage.store,
                                identity_secret=settings.identity_secret, push_slots=linked.push_slots)
        _task = asyncio.get_running_loop().create_task(_running.run(), name="turn-recorder")
    return _running


async def stop() -> None:
    """Stop recording and give the lease back."""
    global _running, _task
    if _running is not None:
        _running.request_stop()
    if _task is not None:
        await asyncio.wait({_task}, timeout=STOP_WAIT_S)  # the poll in flight ends on its own
        # A poll that hangs is cancelled, until it has ended: on Python 3.10 and 3.11
        # ``asyncio.wait_for`` loses a cancellation that arrives as the poll completes
        # (python/cpython#86296), and a single cancel could leave shutdown waiting for ever.
        while not _task.done():
            _task.cancel()
            await asyncio.wait({_task}, timeout=1.0)
    if _running is not None:
        await _running.close()
    _running, _task = None, None


HEALTH_PATH = "/health/recorder"


def attach(app: Any) -> None:
    """Run the recorder inside the action server's Sanic ``app``, and serve its status.

    ``GET /health/recorder`` answers loopback callers only (an operator on the machine, a
    monitoring agent beside it) with the cursor, the lag and the skipped events as JSON.
    """
    from sanic import response

    async def started(_app: Any, _loop: Any) -> None:
        await start()

    async def stopping(_app: Any, _loop: Any) -> None:
        await stop()
        await storage.reset_store()  # an open SQLite connection's thread would keep the process alive

    async def health(request: Any) -> Any:
        if not _from_loopback(request):
            return response.json({"error": "the recorder's status is served to this machine only"}, status=403)
        recorder = current()
        if recorder is None:
            return response.json({"error": "the turn recorder is not running in this process"}, status=503)
        try:
            status = await asyncio.wait_for(recorder.status(), storage.STORE_TIMEOUT_S)
        except Exception as exc:  # the status of a store that is down is "unavailable", said plainly
            if not is_outage(exc):
                raise
            return response.json({"error": "the relationship store is unavailable",
                                  "reason": _kind(exc)}, status=503)
        return response.json(status.as_json())

    app.register_listener(started, "after_server_start")
    app.register_listener(stopping, "before_server_stop")
    app.add_route(health, HEALTH_PATH, methods=["GET"], name="recorder_health")


def _from_loopback(request: Any) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(request.ip).is_loopback
    except ValueError:
        return False
