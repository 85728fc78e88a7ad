"""The turn recorder: Rasa's own SQL tracker store writes the events, the recorder remembers them."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions import context, recorder
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
        raise context.StoreUnavailable("connection refused")

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
    monkeypatch.setattr(context, "_rasa", None)
    person = await store_env.resolve_person("telegram", "tg-77")
    person = await store_env.link_identity(person.id, "rest", "web-77", verified_by="link_code")
    person = await store_env.link_identity(person.id, "customer", "cust-77", verified_by="signed_id")
    context.share_with_linked(person, [{"event": "slot", "name": "tone", "value": "brief"}], "tg-77")
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
    monkeypatch.setattr(context, "_rasa", None)
    fake_rasa.down = True
    await context.push_slots("web-78", [{"event": "slot", "name": "tone", "value": "brief"}])
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
