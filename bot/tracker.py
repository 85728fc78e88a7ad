"""Rasa's SQL tracker store, configured from Rapport's settings, and honouring privacy choices.

- The URL comes from ``RAPPORT_TRACKER_STORE_URL`` (SQLite in ``var/`` by default).
- After "forget me" (slot ``erased``) the conversation is deleted, not saved again.
- While a person has said "stop remembering me" (slot ``remembering`` false) their conversation
  is kept in this process's memory only, and nothing of it is written to the database.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot import resilience, settings, speedups

resilience.install()
speedups.install()
logger = logging.getLogger(__name__)

ERASED_SLOT = "erased"
REMEMBERING_SLOT = "remembering"
MAX_TRANSIENT = 10_000


def _use_wal(engine: Any) -> None:
    """WAL journal on a SQLite tracker store: readers never block Rasa's writes.

    The console's live feed and the turn recorder read the ``events`` table several times a
    second.  In SQLite's default rollback journal a reader blocks the writer's commit, and Rasa's
    SQL tracker store commits synchronously on its event loop, so every read stalled all
    conversations.  WAL is a property of the database file, so setting it once is enough;
    ``synchronous=NORMAL`` is the setting SQLite recommends with WAL (durable across a process
    crash, at most the last commits lost on a power cut).
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA secure_delete=ON")  # erased conversations leave no readable pages
        cursor.close()

    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()  # connections opened before the listener get the pragmas on reconnect


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
        # Rasa passes the endpoint's `url` as `host`; ours comes from the settings unless given.
        resolved = make_url(url or host or settings.load().tracker_store_url)
        if resolved.drivername.split("+")[0] == "sqlite" and resolved.database:
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
        if self.engine.dialect.name == "sqlite":
            _use_wal(self.engine)

    def _delete_events(self, sender_id: Text) -> None:
        with self.session_scope() as session:
            session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete()
            session.commit()

    async def save(self, tracker: DialogueStateTracker) -> None:
        if tracker.get_slot(ERASED_SLOT):
            self._transient.pop(tracker.sender_id, None)
            self._delete_events(tracker.sender_id)
            logger.info("conversation erased on request; not saved")
            return
        if tracker.get_slot(REMEMBERING_SLOT) is False:
            self._delete_events(tracker.sender_id)
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
