"""Erased data leaves no copy in the SQLite files (database, ``-wal``, ``-shm``), and the WAL stays small.

SQLite keeps the old image of every page it changes in the write-ahead log until the log is reset,
and a deleted row in free space unless ``secure_delete`` is on; these tests read the files as bytes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store import InteractionRecord, RelationshipStore, erase_tracker_events
from bot.store.engine import SQLITE_JOURNAL_SIZE_LIMIT
from bot.store.models import interactions
from tests.support.people import NAME, SENDERS, everything as _everything
from tests.support.on_disk import files_holding, sqlite_files

NEEDLES = [NAME, *(s for _, s in SENDERS), "zq-slack-1"]
WORDS = "you can call me Zelda Quixote"


@pytest.fixture
async def sqlite_store(sqlite_template: Path, tmp_path: Path, link_secret: str) -> AsyncIterator[RelationshipStore]:
    path = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, path)
    opened = await RelationshipStore.open(f"sqlite+aiosqlite:///{path}", link_code_secret=link_secret)
    try:
        yield opened
    finally:
        await opened.close()


def _wal(database: Path) -> Path:
    return database.with_name(database.name + "-wal")


# the relationship store ----------------------------------------------------------------------------
async def test_erasure_leaves_no_copy_of_the_person_in_the_store_files(sqlite_store: RelationshipStore, tmp_path: Path) -> None:
    database = tmp_path / "rapport.db"
    person_id = await _everything(sqlite_store)  # name, interactions, ticket, note, link code, a merge
    await sqlite_store.resolve_person("web", "bystander-1")
    assert files_holding(sqlite_files(database), NEEDLES)  # the files do hold them first

    await sqlite_store.erase_person(person_id)

    assert files_holding(sqlite_files(database), NEEDLES) == {}
    assert files_holding(sqlite_files(database), ["bystander-1"]) != {}  # the others are still there


async def test_retention_purge_leaves_no_copy_of_the_purged_turns_in_the_store_files(
    sqlite_store: RelationshipStore, tmp_path: Path
) -> None:
    person = await sqlite_store.resolve_person("web", "old-visitor")
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    await sqlite_store.record_interaction(person.id, InteractionRecord("web", intent="ask", text="my old secret words", at=long_ago))
    assert files_holding(sqlite_files(tmp_path / "rapport.db"), ["my old secret words"])
    assert await sqlite_store.purge_interactions(timedelta(days=365)) == 1
    assert files_holding(sqlite_files(tmp_path / "rapport.db"), ["my old secret words"]) == {}


# Rasa's tracker store, erased by the action server ---------------------------------------------------
def _tracker_file(path: Path, rows: list[tuple[str, str]]) -> None:
    """A WAL-mode tracker store holding ``(sender_id, words)`` user events, like Rasa's."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255),"
            " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
        )
        db.execute("CREATE INDEX ix_events_sender_id ON events (sender_id)")
        db.executemany(
            "INSERT INTO events (sender_id, type_name, data) VALUES (?, 'user', ?)",
            [(sender, json.dumps({"event": "user", "text": words})) for sender, words in rows],
        )


@pytest.fixture
def tracker_db(tmp_path: Path) -> Path:
    path = tmp_path / "tracker.db"
    _tracker_file(path, [(SENDERS[0][1], WORDS), (SENDERS[1][1], f"Hi {NAME}"), ("bystander-2", "hello")] * 50)
    return path


async def test_erased_conversations_leave_nothing_in_the_tracker_files(tracker_db: Path) -> None:
    reader = sqlite3.connect(tracker_db)  # the console's live feed keeps its connection open
    try:
        assert files_holding(sqlite_files(tracker_db), NEEDLES)
        deleted = await erase_tracker_events(f"sqlite:///{tracker_db}", [s for _, s in SENDERS])
        assert deleted == 100
        assert files_holding(sqlite_files(tracker_db), [*NEEDLES, WORDS]) == {}
        assert reader.execute("SELECT COUNT(*) FROM events WHERE sender_id = 'bystander-2'").fetchone() == (50,)
    finally:
        reader.close()


def _hold_snapshot(path: Path) -> sqlite3.Connection:
    """A reader in the middle of a read transaction (its snapshot pins the WAL)."""
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM events").fetchone()
    return reader


async def test_a_reader_holding_a_snapshot_only_delays_emptying_the_tracker_wal(tracker_db: Path) -> None:
    reader = _hold_snapshot(tracker_db)
    threading.Timer(0.3, reader.execute, ("COMMIT",)).start()  # the poll ends a moment later
    try:
        await erase_tracker_events(f"sqlite:///{tracker_db}", [s for _, s in SENDERS])
        assert files_holding(sqlite_files(tracker_db), [*NEEDLES, WORDS]) == {}
    finally:
        time.sleep(0.3)
        reader.close()


async def test_a_reader_that_never_lets_go_costs_a_bounded_wait_and_one_log_line_without_ids(
    tracker_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reader = _hold_snapshot(tracker_db)
    try:
        loop = asyncio.get_running_loop()
        ticks: list[float] = []
        ticker = loop.call_later(0.05, lambda: ticks.append(loop.time()))  # the event loop keeps running
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="bot.store.engine"):
            deleted = await erase_tracker_events(f"sqlite:///{tracker_db}", [s for _, s in SENDERS])
        waited = time.monotonic() - started
        ticker.cancel()
    finally:
        reader.close()
    assert deleted == 100 and ticks, "the rows are deleted and the event loop was not blocked"
    assert 0.3 < waited < 2.0, waited
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.store.engine"]
    assert len(lines) == 1 and "tracker.db" in lines[0] and "could not be emptied" in lines[0], lines
    assert not any(n in lines[0] for n in [*NEEDLES, WORDS])


# Rasa's tracker store, saving an erased conversation in the Rasa server ------------------------------
DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  erased: {type: bool, influence_conversation: false, mappings: [{type: custom}]}
  remembering: {type: bool, influence_conversation: false, mappings: [{type: custom}]}
"""
)


def _tracker(sender: str, *extra: object, name: str = NAME) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    for at, event in enumerate((
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered(f"you can call me {name}", {"name": "greet", "confidence": 1.0}),
        BotUttered(f"Nice to meet you, {name}!"), *extra,
    )):  # fmt: skip
        event.timestamp = 1_700_000_000.0 + at  # type: ignore[attr-defined]
        tracker.update(event)  # type: ignore[arg-type]
    return tracker


@pytest.mark.parametrize("slot, value", [("erased", True), ("remembering", False)])
async def test_saving_an_erased_or_forgotten_conversation_leaves_nothing_in_the_tracker_files(
    tmp_path: Path, slot: str, value: bool
) -> None:
    from bot.rasa.tracker_store import RapportTrackerStore

    path = tmp_path / "tracker.db"
    store = RapportTrackerStore(DOMAIN, url=f"sqlite:///{path}")
    sender = SENDERS[0][1]
    try:
        await store.save(_tracker(sender))
        await store.save(_tracker("bystander-3", name="Bartholomew"))
        assert files_holding(sqlite_files(path), [sender, NAME, WORDS])
        await store.save(_tracker(sender, SlotSet(slot, value)))
        assert files_holding(sqlite_files(path), [sender, NAME, WORDS]) == {}
        assert files_holding(sqlite_files(path), ["bystander-3", "Bartholomew"])
    finally:
        store.engine.dispose()


# the WAL in normal running ---------------------------------------------------------------------------
async def test_the_store_wal_stays_under_its_size_limit_in_normal_running(sqlite_store: RelationshipStore, tmp_path: Path) -> None:
    database = tmp_path / "rapport.db"
    text = "a customer's turn, told at some length. " * 90  # about 3.6 kB
    largest = 0
    for batch in range(40):
        for turn in range(50):
            await sqlite_store.resolve_and_record("web", f"visitor-{turn % 7}", InteractionRecord("web", intent="ask", text=text))
        largest = max(largest, _wal(database).stat().st_size)
    assert database.stat().st_size > 1.5 * SQLITE_JOURNAL_SIZE_LIMIT  # the turns needed several checkpoints
    assert 0 < largest <= SQLITE_JOURNAL_SIZE_LIMIT


async def test_after_a_big_transaction_the_store_wal_gives_its_space_back(sqlite_store: RelationshipStore, tmp_path: Path) -> None:
    database = tmp_path / "rapport.db"
    person = await sqlite_store.resolve_person("web", "importer")
    now = datetime.now(timezone.utc)
    rows = [
        {"person_id": person.id, "channel": "web", "at": now, "intent": "ask", "topics": [], "outcome": "answered",
         "text": f"imported turn {n} " + "x" * 3000}
        for n in range(4000)
    ]  # fmt: skip
    await sqlite_store.database.run(lambda connection: connection.execute(interactions.insert(), rows))
    assert _wal(database).stat().st_size > 2 * SQLITE_JOURNAL_SIZE_LIMIT  # one transaction: one big WAL
    for n in range(3):  # ordinary turns afterwards
        await sqlite_store.resolve_and_record("web", "importer", InteractionRecord("web", intent="ask"))
    assert _wal(database).stat().st_size <= SQLITE_JOURNAL_SIZE_LIMIT
