"""The turn recorder: Rasa's own SQL tracker store writes the events, the recorder remembers them."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions import linked, recorder, storage
from actions.recorder import TurnRecorder
from bot.identity import sign_customer_id
from bot.store import Source
from tests.console.conftest import RASA_TOKEN

SECRET = "test-identity-secret"


class Conversations:
    """Conversations saved through Rasa's SQLTrackerStore, as the Rasa server saves them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = SQLTrackerStore(dialect="sqlite", db=str(path))
        self.trackers: dict[str, DialogueStateTracker] = {}

    async def say(self, sender: str, text: str, intent: str, *, channel: str = "rest",
                  entities: list[dict] | None = None, metadata: dict | None = None,
                  slots: dict[str, Any] | None = None, selector: dict | None = None) -> None:
        tracker = self.trackers.setdefault(sender, DialogueStateTracker(sender, []))
        for name, value in (slots or {}).items():
            tracker.update(SlotSet(name, value))
        parse_data = {"intent": {"name": intent, "confidence": 0.97}, "entities": entities or [], "text": text}
        if selector:
            parse_data["response_selector"] = selector
        tracker.update(UserUttered(text, parse_data["intent"], entities or [], parse_data,
                                   input_channel=channel, metadata={"rapport_channel": channel, **(metadata or {})}))
        tracker.update(ActionExecuted("utter_x"))
        tracker.update(BotUttered("an answer"))
        tracker.update(ActionExecuted("action_listen"))
        await self.store.save(tracker)


@pytest.fixture()
async def conversations(store_env: Any, tmp_path: Path) -> Conversations:
    return Conversations(tmp_path / "tracker.db")


def make_recorder(store_env: Any, path: Path, pushed: list | None = None, holder: str = "test-a") -> TurnRecorder:
    async def push(sender: str, events: list[dict]) -> None:
        if pushed is not None:
            pushed.append((sender, events))

    async def handle() -> Any:
        return store_env

    return TurnRecorder(f"sqlite:///{path}", handle, identity_secret=SECRET, push_slots=push, holder=holder)


async def started(store_env: Any, conversations: Conversations, **kwargs: Any) -> TurnRecorder:
    rec = make_recorder(store_env, conversations.path, **kwargs)
    assert await rec.poll_once() == 0  # first run: takes the lease, starts at the end of the table
    return rec


async def test_records_intent_topics_and_outcome_of_every_stored_turn(store_env, conversations) -> None:
    rec = await started(store_env, conversations)
    crime = [{"entity": "topic", "value": "crime", "start": 9, "end": 14}]
    await conversations.say("reader-1", "any good crime novels?", "ask_recommendation", entities=crime)
    await conversations.say("reader-1", "asdf qwer", "nlu_fallback")
    await conversations.say("reader-1", "signed copies?", "stock",
                            selector={"stock": {"response": {"intent_response_key": "stock/signed_copies"}}})
    await rec.poll_once()
    person = await store_env.find_person("rest", "reader-1")
    history = await store_env.interaction_history(person.id)
    assert [(i.intent, i.topics, i.outcome, i.text) for i in reversed(history)] == [
        ("ask_recommendation", ("crime",), "answered", None),
        ("nlu_fallback", (), "fallback", None),
        ("stock/signed_copies", (), "answered", None),
    ]
    assert [i.topic for i in await store_env.interests(person.id)] == ["crime"]
    assert rec.recorded == 3


async def test_privacy_and_yes_no_turns_are_not_interactions(store_env, conversations) -> None:
    rec = await started(store_env, conversations)
    for text, intent in [("what do you know about me", "privacy_what_do_you_know"), ("yes", "affirm"), ("no", "deny")]:
        await conversations.say("quiet-1", text, intent)
    await rec.poll_once()
    assert await store_env.find_person("rest", "quiet-1") is None
    assert rec.recorded == 0


async def test_restart_resumes_at_the_saved_cursor_without_recording_twice(store_env, conversations) -> None:
    rec = await started(store_env, conversations)
    await conversations.say("twice-1", "delivery cost?", "delivery")
    await rec.poll_once()
    await rec.close()
    await conversations.say("twice-1", "opening hours?", "opening_hours")  # while the recorder is down
    again = make_recorder(store_env, conversations.path, holder="test-b")
    await again.poll_once()
    await again.poll_once()
    person = await store_env.find_person("rest", "twice-1")
    assert [i.intent for i in reversed(await store_env.interaction_history(person.id))] == ["delivery", "opening_hours"]


async def test_turns_before_the_first_run_are_not_replayed(store_env, conversations) -> None:
    await conversations.say("old-1", "delivery cost?", "delivery")  # recorded by an older version
    rec = await started(store_env, conversations)
    await rec.poll_once()
    assert await store_env.find_person("rest", "old-1") is None


async def test_a_tracker_store_created_later_is_recorded_from_its_first_event(store_env, tmp_path) -> None:
    path = tmp_path / "later.db"
    rec = make_recorder(store_env, path)
    assert await rec.poll_once() == 0  # no events table yet: Rasa has not started
    later = Conversations(path)
    await later.say("first-1", "returns?", "returns")
    await rec.poll_once()
    await rec.poll_once()
    assert await store_env.find_person("rest", "first-1") is not None


async def test_only_one_recorder_holds_the_lease(store_env, conversations, tmp_path) -> None:
    first = await started(store_env, conversations, holder="server-1")
    second = make_recorder(store_env, conversations.path, holder="server-2")
    await conversations.say("lease-1", "returns?", "returns")
    assert await second.poll_once() == 0
    assert await first.poll_once() > 0
    await conversations.say("lease-1", "hours?", "opening_hours")
    with sqlite3.connect(tmp_path / "rapport.db") as db:  # the first server died: its lease ran out
        db.execute("UPDATE turn_recorder SET lease_until = '2000-01-01 00:00:00.000000'")
    assert await second.poll_once() > 0
    person = await store_env.find_person("rest", "lease-1")
    assert [i.intent for i in reversed(await store_env.interaction_history(person.id))] == ["returns", "opening_hours"]


async def test_a_gap_in_the_ids_is_waited_for_then_passed(store_env, conversations, monkeypatch) -> None:
    monkeypatch.setattr(recorder, "GAP_WAIT_S", 0.3)
    rec = await started(store_env, conversations)
    await conversations.say("gap-1", "returns?", "returns")
    await conversations.say("gap-1", "hours?", "opening_hours")
    with sqlite3.connect(conversations.path) as db:  # an event that committed later, or rolled back
        bot = db.execute("SELECT MIN(id) FROM events WHERE type_name = 'bot'").fetchone()[0]
        db.execute("DELETE FROM events WHERE id = ?", (bot,))
    assert await rec.poll_once() == 2  # up to the gap: the first turn
    person = await store_env.find_person("rest", "gap-1")
    assert len(await store_env.interaction_history(person.id)) == 1
    assert await rec.poll_once() == 0  # the gap may still fill
    await asyncio.sleep(0.35)
    assert await rec.poll_once() > 0
    assert len(await store_env.interaction_history(person.id)) == 2


async def test_unreadable_event_is_skipped_and_the_rest_recorded(store_env, conversations) -> None:
    rec = await started(store_env, conversations)
    with sqlite3.connect(conversations.path) as db:
        db.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('bad-1', 'user', ?, ?)",
                   (time.time(), b"\xff\xfe not json"))
    await conversations.say("good-1", "returns?", "returns")
    await rec.poll_once()
    assert await store_env.find_person("rest", "good-1") is not None
    assert await store_env.find_person("rest", "bad-1") is None


async def test_nothing_is_stored_while_not_remembering(store_env, conversations) -> None:
    rec = await started(store_env, conversations)
    person = await store_env.resolve_person("rest", "private-1")
    await store_env.set_remembering(person.id, False, source=Source(channel="rest"))
    await conversations.say("private-1", "returns?", "returns")
    await rec.poll_once()
    assert await store_env.interaction_history(person.id) == []


async def test_yes_to_the_open_question_marks_it_resolved_and_updates_the_slots(store_env, conversations) -> None:
    pushed: list = []
    rec = await started(store_env, conversations, pushed=pushed)
    person = await store_env.resolve_person("rest", "sam-3")
    await store_env.update_preferences(person.id, source=Source(channel="rest"), name="Sam")
    await conversations.say("sam-3", "yes it did thanks", "affirm", slots={"greeting": "named_open"})
    await rec.poll_once()
    history = await store_env.interaction_history(person.id)
    assert [(i.intent, i.outcome) for i in history] == [("affirm", "resolved")]
    assert pushed == [("sam-3", [{"event": "slot", "name": "open_issue", "value": None},
                                 {"event": "slot", "name": "greeting", "value": "named"}])]


async def test_plain_yes_is_not_a_resolution(store_env, conversations) -> None:
    pushed: list = []
    rec = await started(store_env, conversations, pushed=pushed)
    await conversations.say("yes-1", "yes", "affirm", slots={"greeting": "returning"})
    await rec.poll_once()
    assert await store_env.find_person("rest", "yes-1") is None and pushed == []


async def test_signed_customer_id_joins_the_known_person_and_fills_the_slots(store_env, conversations) -> None:
    pushed: list = []
    rec = await started(store_env, conversations, pushed=pushed)
    known = await store_env.resolve_person("rest", "laptop-9")
    known = await store_env.link_identity(known.id, "customer", "cust-9", verified_by="signed_id")
    await store_env.update_preferences(known.id, source=Source(channel="rest"), name="Grace", tone="brief")
    signed = {"customer_id": "cust-9", "customer_signature": sign_customer_id("cust-9", SECRET)}
    await conversations.say("phone-9", "hi", "greet", metadata=signed)
    await rec.poll_once()
    assert (await store_env.find_person("rest", "phone-9")).id == known.id
    (sender, slots), = pushed
    values = {e["name"]: e["value"] for e in slots}
    assert sender == "phone-9" and values["person_name"] == "Grace" and values["tone"] == "brief"


async def test_forged_signature_links_nothing(store_env, conversations) -> None:
    pushed: list = []
    rec = await started(store_env, conversations, pushed=pushed)
    forged = {"customer_id": "cust-10", "customer_signature": "ab" * 32}
    await conversations.say("mallory", "hi", "greet", metadata=forged)
    await rec.poll_once()
    assert await store_env.find_person("customer", "cust-10") is None
    assert await store_env.find_person("rest", "mallory") is not None and pushed == []


async def test_store_down_keeps_the_turns_for_later(store_env, conversations) -> None:
    rec = await started(store_env, conversations)
    await conversations.say("later-1", "returns?", "returns")

    async def broken() -> Any:
        raise storage.StoreUnavailable("connection refused")

    rec._store = broken
    assert await rec.poll_once() == 0

    async def working() -> Any:
        return store_env

    rec._store = working
    assert await rec.poll_once() > 0
    assert await store_env.find_person("rest", "later-1") is not None


async def test_preference_is_pushed_to_the_linked_conversations_only(store_env, fake_rasa, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_RASA_PORT", str(fake_rasa.port))
    monkeypatch.setenv("RAPPORT_RASA_TOKEN", RASA_TOKEN)
    monkeypatch.setattr(linked, "_rasa", None)
    person = await store_env.resolve_person("telegram", "tg-77")
    person = await store_env.link_identity(person.id, "rest", "web-77", verified_by="link_code")
    person = await store_env.link_identity(person.id, "customer", "cust-77", verified_by="signed_id")
    linked.share_with_linked(person, [{"event": "slot", "name": "tone", "value": "brief"}], "tg-77")
    for _ in range(100):
        if fake_rasa.calls:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    assert [(c["sender"], c["body"]) for c in fake_rasa.posted("/tracker/events")] == [
        ("web-77", [{"event": "slot", "name": "tone", "value": "brief"}])]
    assert "execute_side_effects" not in fake_rasa.calls[0]["query"]


async def test_push_to_a_rasa_that_is_down_is_logged_not_raised(store_env, fake_rasa, monkeypatch, caplog) -> None:
    monkeypatch.setenv("RAPPORT_RASA_PORT", str(fake_rasa.port))
    monkeypatch.setenv("RAPPORT_RASA_TOKEN", RASA_TOKEN)
    monkeypatch.setattr(linked, "_rasa", None)
    fake_rasa.down = True
    await linked.push_slots("web-78", [{"event": "slot", "name": "tone", "value": "brief"}])
    from bot.identity import pseudonym

    assert f"could not update conversation {pseudonym('web-78')}" in caplog.text and "web-78" not in caplog.text


async def test_flush_with_a_broken_store_lets_the_action_go_on(store_env, conversations, monkeypatch, caplog) -> None:
    rec = await started(store_env, conversations)

    async def broken() -> Any:
        raise OSError("connection is closed")

    rec._store = broken
    monkeypatch.setattr(recorder, "_running", rec)
    await recorder.flush()  # does not raise
    assert "recorder flush failed" in caplog.text


# an event that cannot be recorded never stops the recording ------------------------------------
def _insert_event(path: Path, sender: str, data: str | bytes, type_name: str = "user") -> int:
    """A row as Rasa's SQLTrackerStore writes it, with data no route should have let through."""
    with sqlite3.connect(path) as db:
        cursor = db.execute("INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                            "VALUES (?, ?, ?, 'greet', ?)", (sender, type_name, time.time(), data))
        return int(cursor.lastrowid)


def _history_intents(interactions: list) -> list[str]:
    return [i.intent for i in reversed(interactions)]


async def _polls(rec: TurnRecorder, times: int) -> None:
    for _ in range(times):
        await rec.poll_once()


async def test_a_signed_id_that_is_not_valid_unicode_leaves_the_turn_anonymous_and_the_rest_recorded(
        store_env, conversations) -> None:
    rec = await started(store_env, conversations)
    await conversations.say("before-1", "returns?", "returns")
    await conversations.say("surrogate-1", "delivery?", "delivery",
                            metadata={"customer_id": "\ud800", "customer_signature": "\ud800"})
    await conversations.say("after-1", "hours?", "opening_hours")
    await _polls(rec, 3)
    for sender, intent in [("before-1", "returns"), ("surrogate-1", "delivery"), ("after-1", "opening_hours")]:
        person = await store_env.find_person("rest", sender)
        assert person is not None, sender
        assert _history_intents(await store_env.interaction_history(person.id)) == [intent]
    assert (await rec.status()).skipped == 0


async def test_an_event_that_cannot_be_recorded_is_skipped_after_three_tries_logged_once_and_counted(
        store_env, conversations, monkeypatch, caplog) -> None:
    monkeypatch.setattr(recorder, "RETRY_AFTER_S", 0.0)
    rec = await started(store_env, conversations)
    await conversations.say("good-1", "returns?", "returns")
    topic = [{"entity": "topic", "value": "\ud800", "start": 0, "end": 1}]  # the store cannot hold it
    await conversations.say("poison-topic", "any \ud800 books?", "ask_recommendation", entities=topic)
    shape = _insert_event(conversations.path, "poison-shape", json.dumps({"event": "user", "parse_data": [1, 2]}))
    await conversations.say("good-2", "hours?", "opening_hours")
    with sqlite3.connect(conversations.path) as db:
        topic_event = db.execute("SELECT id FROM events WHERE sender_id = 'poison-topic' AND type_name = 'user'"
                                 ).fetchone()[0]

    await rec.poll_once()  # good-1, then the first try of the bad topic
    assert await store_env.find_person("rest", "good-2") is None  # the turns after it wait for its retries
    await _polls(rec, 10)
    for sender, intent in [("good-1", "returns"), ("good-2", "opening_hours")]:
        person = await store_env.find_person("rest", sender)
        assert _history_intents(await store_env.interaction_history(person.id)) == [intent]  # once each
    assert await store_env.find_person("rest", "poison-shape") is None
    status = await rec.status()
    assert (status.skipped, status.last_skipped_event_id, status.lag_events) == (2, shape, 0)
    skips = [r.getMessage() for r in caplog.records if "skipped tracker event" in r.getMessage()]
    assert len(skips) == 2
    assert f"event {topic_event}:" in skips[0] and "3 attempts" in skips[0]
    assert f"event {shape}:" in skips[1]
    assert "poison" not in caplog.text and "books" not in caplog.text  # no sender ids, no words


async def test_the_skipped_count_survives_a_restart_and_rapport_status_says_it(
        store_env, conversations, monkeypatch, capsys) -> None:
    from bot import cli

    rec = await started(store_env, conversations)
    bad = _insert_event(conversations.path, "bad-2", b"\xff\xfe not json")
    await conversations.say("good-3", "returns?", "returns")
    await rec.poll_once()
    await rec.close()
    again = make_recorder(store_env, conversations.path, holder="test-b")
    await again.poll_once()
    assert ((await again.status()).skipped, (await again.status()).last_skipped_event_id) == (1, bad)
    await conversations.say("good-3", "hours?", "opening_hours")  # not recorded yet: one event behind

    assert await asyncio.to_thread(cli.main, ["status"]) == 0
    said = capsys.readouterr().out
    assert "The turn recorder is running." in said
    assert "events behind the tracker store" in said
    assert f"It has skipped 1 event it could not record; the last was event {bad}." in said


def test_rapport_status_before_the_recorder_ever_ran(store_env, capsys) -> None:
    from bot import cli

    assert cli.main(["status"]) == 0
    assert "has not started yet" in capsys.readouterr().out


async def test_a_poisoned_event_does_not_grow_the_log_with_every_poll(store_env, conversations, monkeypatch,
                                                                       caplog) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(recorder, "RETRY_AFTER_S", 0.0)
    rec = await started(store_env, conversations)
    for n in range(5):  # five bad events in a row, the same fault each
        _insert_event(conversations.path, f"poison-{n}", json.dumps({"event": "user", "parse_data": [n]}))
    await conversations.say("good-4", "returns?", "returns")
    await _polls(rec, 200)
    assert await store_env.find_person("rest", "good-4") is not None
    assert (await rec.status()).skipped == 5
    assert len([r for r in caplog.records if r.name == "actions.recorder"]) == 1  # the rest held back for a minute


class _Flaky:
    """The real store, whose recording calls fail like a database that is down, ``failures`` times in all."""

    failures = 0

    def __init__(self, store: Any, error: Exception) -> None:
        self._store, self._error = store, error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def resolve_and_record(self, *args: Any, **kwargs: Any) -> Any:
        if _Flaky.failures > 0:
            _Flaky.failures -= 1
            raise self._error
        return await self._store.resolve_and_record(*args, **kwargs)


@pytest.mark.parametrize("error", [
    OperationalError("INSERT INTO interactions ...", {"sender": "down-1"},
                     sqlite3.OperationalError("database is locked")),
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
], ids=["operational-error", "connection-refused"])
async def test_a_store_outage_skips_nothing_and_is_logged_once_a_minute(store_env, conversations, monkeypatch,
                                                                         caplog, error) -> None:
    monkeypatch.setattr(recorder, "POLL_S", 0.01)
    monkeypatch.setattr(_Flaky, "failures", 40)
    monkeypatch.setattr(storage, "_store_lock", asyncio.Lock())  # this test's loop: the store is opened concurrently
    rec = await started(store_env, conversations)
    await conversations.say("down-1", "returns?", "returns")
    cached: dict[int, _Flaky] = {}

    async def handle() -> Any:  # as in the action server: the store, reopened after each failure
        current = await storage.store()
        return cached.setdefault(id(current), _Flaky(current, error))

    rec._store = handle
    task = asyncio.create_task(rec.run())
    try:
        for _ in range(500):
            person = await (await storage.store()).find_person("rest", "down-1")
            if person is not None:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert _Flaky.failures == 0 and person is not None
    store = await storage.store()
    assert _history_intents(await store.interaction_history(person.id)) == ["returns"]
    assert (await rec.status()).skipped == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "actions.recorder"]
    assert len(lines) == 1 and "turns not recorded yet" in lines[0], lines
    assert "down-1" not in caplog.text and "INSERT" not in caplog.text


async def test_on_postgresql_a_poisoned_event_is_skipped_and_a_real_outage_skips_nothing(
        pg_store_env, tmp_path, monkeypatch, caplog) -> None:
    store, proxy = pg_store_env
    monkeypatch.setattr(recorder, "RETRY_AFTER_S", 0.0)
    monkeypatch.setattr(recorder, "POLL_S", 0.02)
    talk = Conversations(tmp_path / "tracker.db")
    rec = TurnRecorder(f"sqlite:///{talk.path}", storage.store, identity_secret=SECRET, holder="pg-a")
    assert await rec.poll_once() == 0
    topic = [{"entity": "topic", "value": "\ud800", "start": 0, "end": 1}]
    await talk.say("pg-poison", "books?", "ask_recommendation", entities=topic)  # PostgreSQL refuses the text
    await talk.say("pg-good-1", "returns?", "returns")
    await _polls(rec, 6)
    assert await store.find_person("rest", "pg-good-1") is not None
    assert (await rec.status()).skipped == 1

    task = asyncio.create_task(rec.run())
    try:
        proxy.cut()  # the store is down for real: connections dropped, new ones refused
        await talk.say("pg-good-2", "hours?", "opening_hours")
        await asyncio.sleep(1.5)  # dozens of failed polls
        proxy.restore()
        for _ in range(300):
            person = await (await storage.store()).find_person("rest", "pg-good-2")
            if person is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert person is not None
    status = await rec.status()
    assert (status.skipped, status.lag_events) == (1, 0)
    lines = [r.getMessage() for r in caplog.records if r.name == "actions.recorder"]
    assert len(lines) <= 3, lines  # the skip, and the outage once (its kinds may differ as it starts)
    assert "pg-" not in caplog.text


def test_rapport_status_on_a_store_that_is_not_set_up_says_what_to_do(store_env, tmp_path, monkeypatch,
                                                                       capsys) -> None:
    from bot import cli

    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert cli.main(["status"]) == 1
    assert "rapport db upgrade" in capsys.readouterr().err


async def test_stopping_the_action_server_ends_the_recorder_promptly_every_time(store_env, monkeypatch) -> None:
    import random

    monkeypatch.setattr(recorder, "POLL_S", 0.001)  # a poll is nearly always in flight
    monkeypatch.setattr(storage, "_store_lock", asyncio.Lock())
    for _ in range(40):
        await recorder.start()
        await asyncio.sleep(random.random() * 0.03)
        began = time.monotonic()
        await asyncio.wait_for(recorder.stop(), 30)
        assert time.monotonic() - began < 3.0 and recorder.current() is None
