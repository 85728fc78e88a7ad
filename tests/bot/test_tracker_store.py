"""Rapport's tracker store reads and writes exactly what Rasa's SQLTrackerStore does, on a WAL SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from bot.rasa.tracker_store import RapportTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  tone:
    type: text
    mappings: [{type: custom}]
"""
)


def _events(*events, start: int = 0) -> list:
    for at, event in enumerate(events, start):
        event.timestamp = 1_700_000_000.0 + at
    return list(events)


FIRST_SESSION = (
    ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
    UserUttered("hello", {"name": "greet", "confidence": 1.0}), BotUttered("hi there"), SlotSet("tone", "brief"),
)  # fmt: skip
SECOND_SESSION = (
    ActionExecuted("action_session_start"), SessionStarted(), SlotSet("tone", "brief"), ActionExecuted("action_listen"),
    UserUttered("again", {"name": "greet", "confidence": 1.0}),
)  # fmt: skip


async def _converse(store: SQLTrackerStore, sender: str) -> None:
    """Two sessions saved as Rasa saves them: each turn on the tracker of the latest session."""
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    for event in _events(*FIRST_SESSION):
        tracker.update(event)
    await store.save(tracker)
    await store.save(tracker)  # nothing new: nothing written twice
    tracker = await store.retrieve(sender)
    for event in _events(*SECOND_SESSION, start=len(FIRST_SESSION)):
        tracker.update(event)
    await store.save(tracker)
    tracker = await store.retrieve(sender)
    tracker.update(_events(BotUttered("Ann: how can I help?"), start=20)[0])
    await store.save(tracker)


@pytest.fixture
def stores(tmp_path: Path) -> tuple[RapportTrackerStore, SQLTrackerStore]:
    ours = RapportTrackerStore(DOMAIN, url=f"sqlite:///{tmp_path / 'ours.db'}")
    rasa = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    return ours, rasa


def _stored(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id").fetchall()


async def test_reads_and_writes_the_same_as_rasa(stores, tmp_path: Path) -> None:
    ours, rasa = stores
    for store in (ours, rasa):
        await _converse(store, "cust-1")
    rows = _stored(tmp_path / "ours.db")
    assert rows == _stored(tmp_path / "rasa.db")
    assert [row[5] for row in rows].count(rows[-1][5]) == 1 and "Ann: how can I help?" in rows[-1][5]
    latest, full = await ours.retrieve("cust-1"), await ours.retrieve_full_tracker("cust-1")
    assert latest.current_state(EventVerbosity.ALL) == (await rasa.retrieve("cust-1")).current_state(EventVerbosity.ALL)
    assert full.current_state(EventVerbosity.ALL) == (await rasa.retrieve_full_tracker("cust-1")).current_state(EventVerbosity.ALL)
    assert len(full.events) == len(rows) and len(latest.events) < len(full.events)
    assert latest.latest_bot_utterance.text == "Ann: how can I help?" and latest.get_slot("tone") == "brief"


async def test_an_unknown_conversation_is_none(stores) -> None:
    ours, _ = stores
    assert await ours.retrieve("nobody") is None and await ours.retrieve_full_tracker("nobody") is None


async def test_sqlite_file_is_in_wal_mode(stores, tmp_path: Path) -> None:
    ours, _ = stores
    await _converse(ours, "cust-4")
    with sqlite3.connect(tmp_path / "ours.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
