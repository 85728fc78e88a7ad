"""Rasa's SQL tracker store, configured from Rapport's settings, and honouring privacy choices.

- The URL comes from ``RAPPORT_TRACKER_STORE_URL`` (SQLite in ``var/`` by default).
- After "forget me" (slot ``erased``) the conversation is deleted, not saved again.
- While a person has said "stop remembering me" (slot ``remembering`` false) their conversation
  is kept in this process's memory only, and nothing of it is written to the database.
- On a SQLite file: WAL, so the console tailing the ``events`` table never blocks Rasa's commits,
  and pooled connections instead of a new one per read or save (Rasa's default there, NullPool).
- Every message and every staff reply reads the conversation back: the same rows as Rasa's query,
  read with statements built once and without ORM objects (under load Rasa spent about 40% of a
  tracker read building the query and its ORM instances).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot import settings, tracker_events
from bot.rasa import install_patches
from bot.store.engine import SQLITE_BUSY_TIMEOUT_MS, set_sqlite_pragmas, truncate_wal

logger = logging.getLogger(__name__)

MAX_TRANSIENT = 10_000  # conversations kept in memory only ("stop remembering me") per process

# Rasa's ``SQLTrackerStore._event_query`` (a conversation's events, all or since its latest session
# start) and the count of stored ones, as every reader of the table uses them (bot/tracker_events.py).
_ALL_EVENTS = tracker_events.CONVERSATION
_LATEST_SESSION_EVENTS = tracker_events.LATEST_SESSION
_LATEST_SESSION_COUNT = tracker_events.LATEST_SESSION_COUNT


def _sqlite_engine(url: URL) -> Engine:
    """Pooled connections in WAL mode; a connection is used by one unit of work at a time."""
    engine = create_engine(
        url, poolclass=pool.QueuePool, pool_size=2, max_overflow=8, hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )  # fmt: skip  (hide_parameters: an error message must not quote sender ids or event JSON)
    event.listen(engine, "connect", _tracker_pragmas)
    return engine


def _tracker_pragmas(dbapi_connection: Any, _record: Any) -> None:
    set_sqlite_pragmas(dbapi_connection)  # WAL, secure_delete, journal_size_limit: one place for all


class RapportTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on the configured URL, with erasure and memory-only conversations."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        event_broker: Optional[EventBroker] = None,
        url: Optional[str] = None,
        host: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        install_patches()  # before the first session (bot/rasa/__init__.py says what and in which order)
        # Rasa passes the endpoint's `url` as `host`; ours comes from the settings unless given.
        resolved = make_url(url or host or settings.load().tracker_store_url)
        sqlite_file = resolved.drivername.split("+")[0] == "sqlite" and resolved.database not in (None, "", ":memory:")
        if sqlite_file:
            Path(resolved.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            domain=domain,
            dialect=resolved.drivername,
            host=resolved.host,
            port=resolved.port,
            db=resolved.database,
            username=resolved.username,
            password=resolved.password,
            event_broker=event_broker,
            **kwargs,
        )
        self._transient: OrderedDict[str, DialogueStateTracker] = OrderedDict()
        if sqlite_file:
            self.engine.dispose()
            self.engine = _sqlite_engine(self.engine.url)
            self.sessionmaker = sessionmaker(bind=self.engine)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        statement = _ALL_EVENTS if fetch_events_from_all_sessions else _LATEST_SESSION_EVENTS
        with self.session_scope() as session:
            events = [json.loads(data) for data in session.execute(statement, {"sender_id": sender_id}).scalars()]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        """The tracker's events not stored yet (those after the stored ones of its latest session)."""
        stored = session.execute(_LATEST_SESSION_COUNT, {"sender_id": tracker.sender_id}).scalar_one()
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def _delete_events(self, sender_id: Text, *, empty_wal: bool) -> int:
        """Delete the conversation's stored events; then, on a SQLite file, empty its write-ahead log.

        The WAL's old page images are the last copy of deleted events: it is emptied after "forget me"
        (``empty_wal``) and whenever rows were deleted (the first save after "stop remembering").
        The checkpoint may wait for readers (the console's live feed, the turn recorder), so it runs
        in a thread on a connection of its own; the delete stays where Rasa's own writes run.
        """
        with self.session_scope() as session:
            deleted = int(session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete() or 0)
            session.commit()
        url = self.engine.url
        on_file = self.engine.dialect.name == "sqlite" and url.database not in (None, "", ":memory:")
        if on_file and (empty_wal or deleted):
            def checkpoint() -> None:
                raw = self.engine.raw_connection()
                try:
                    truncate_wal(raw.dbapi_connection, Path(url.database).name)
                finally:
                    raw.close()

            await asyncio.to_thread(checkpoint)
        return deleted

    async def save(self, tracker: DialogueStateTracker) -> None:
        if tracker.get_slot(tracker_events.ERASED_SLOT):
            self._transient.pop(tracker.sender_id, None)
            await self._delete_events(tracker.sender_id, empty_wal=True)
            logger.info("conversation erased on request; not saved")
            return
        if tracker.get_slot(tracker_events.REMEMBERING_SLOT) is False:
            await self._delete_events(tracker.sender_id, empty_wal=False)
            self._transient[tracker.sender_id] = copy.deepcopy(tracker)
            self._transient.move_to_end(tracker.sender_id)
            while len(self._transient) > MAX_TRANSIENT:
                self._transient.popitem(last=False)
            return
        self._transient.pop(tracker.sender_id, None)
        await super().save(tracker)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        if sender_id in self._transient:
            return copy.deepcopy(self._transient[sender_id])
        return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        if conversation_id in self._transient:
            return copy.deepcopy(self._transient[conversation_id])
        return await super().retrieve_full_tracker(conversation_id)
