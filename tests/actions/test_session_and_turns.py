"""Session start: a first-timer gets a plain greeting, a returning person a personal one."""

from __future__ import annotations

import time


from actions.session import ActionSessionStart
from bot.store import InteractionRecord, Source
from tests.actions.conftest import DOMAIN, tracker_from, user_turn


def _slots(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_session_start_for_a_first_time_visitor_is_plain(store_env, dispatcher) -> None:
    tracker = tracker_from("new_visitor_rest", slots={"session_started_metadata": {"rapport_channel": "rest"}})
    events = await ActionSessionStart().run(dispatcher, tracker, DOMAIN)
    assert events[0]["event"] == "session_started"
    assert events[-1] == {"event": "action", "name": "action_listen", "policy": None, "confidence": None, "timestamp": None}
    slots = _slots(events)
    assert slots["greeting"] == "new"
    assert slots["returning"] is False
    assert dispatcher.messages == []


async def test_returning_person_with_a_name_and_open_question_is_greeted_personally(store_env, dispatcher) -> None:
    person = await store_env.resolve_person("rest", "sam-1")
    await store_env.update_preferences(person.id, source=Source(channel="rest"), name="Sam", tone="brief")
    await store_env.record_interaction(person.id, InteractionRecord(channel="rest", intent="delivery"))
    later = time.time() + 60
    tracker = tracker_from(
        "new_visitor_rest", sender_id="sam-1",
        slots={"session_started_metadata": {"rapport_channel": "rest"}},
        events=[{"event": "session_started", "timestamp": later}],
    )
    events = await ActionSessionStart().run(dispatcher, tracker, DOMAIN)
    slots = _slots(events)
    assert slots["person_name"] == "Sam"
    assert slots["tone"] == "brief"
    assert slots["returning"] is True
    assert slots["open_issue"] == "delivery"
    assert slots["greeting"] == "named_open"


async def test_resolved_question_is_not_asked_about_again(store_env, dispatcher) -> None:
    person = await store_env.resolve_person("rest", "sam-2")
    await store_env.record_interaction(person.id, InteractionRecord(channel="rest", intent="returns"))
    await store_env.record_interaction(person.id, InteractionRecord(channel="rest", intent="thank", outcome="resolved"))
    tracker = tracker_from("new_visitor_rest", sender_id="sam-2", events=[{"event": "session_started", "timestamp": time.time() + 60}],
                           slots={"session_started_metadata": {"rapport_channel": "rest"}})
    slots = _slots(await ActionSessionStart().run(dispatcher, tracker, DOMAIN))
    assert slots["open_issue"] is None
    assert slots["greeting"] == "returning"


async def test_signed_customer_id_joins_a_second_device_to_the_same_person(store_env, dispatcher) -> None:
    from bot.identity import sign_customer_id

    signed = {"customer_id": "cust-9", "customer_signature": sign_customer_id("cust-9", "test-identity-secret")}
    laptop = tracker_from("new_visitor_rest", sender_id="laptop-9", latest_message={},
                          slots={"session_started_metadata": {"rapport_channel": "rest", **signed}})
    await ActionSessionStart().run(dispatcher, laptop, DOMAIN)
    first = await store_env.find_person("rest", "laptop-9")
    await store_env.update_preferences(first.id, source=Source(channel="rest"), name="Grace")
    phone = tracker_from("new_visitor_rest", sender_id="phone-9", latest_message={},
                         slots={"session_started_metadata": {"rapport_channel": "rest", **signed}})
    slots = _slots(await ActionSessionStart().run(dispatcher, phone, DOMAIN))
    assert slots["person_name"] == "Grace"
    assert (await store_env.find_person("rest", "phone-9")).id == (await store_env.find_person("customer", "cust-9")).id


async def test_forged_signature_is_treated_as_anonymous(store_env, dispatcher) -> None:
    forged = {"customer_id": "cust-10", "customer_signature": "ab" * 32}
    tracker = tracker_from("new_visitor_rest", sender_id="mallory", latest_message={},
                           slots={"session_started_metadata": {"rapport_channel": "rest", **forged}})
    await ActionSessionStart().run(dispatcher, tracker, DOMAIN)
    assert await store_env.find_person("customer", "cust-10") is None
    assert await store_env.find_person("rest", "mallory") is not None


async def test_tone_change_reaches_the_linked_conversation_at_once(store_env, dispatcher, fake_rasa, monkeypatch) -> None:
    import asyncio

    from actions import linked
    from actions.preferences import ActionSetTone
    from tests.console.conftest import RASA_TOKEN

    monkeypatch.setenv("RAPPORT_RASA_PORT", str(fake_rasa.port))
    monkeypatch.setenv("RAPPORT_RASA_TOKEN", RASA_TOKEN)
    monkeypatch.setattr(linked, "_rasa", None)
    person = await store_env.resolve_person("telegram", "tg-77")
    await store_env.link_identity(person.id, "rest", "web-77", verified_by="link_code")
    tracker = tracker_from("new_visitor_rest", sender_id="tg-77",
                           latest_message=user_turn("keep it short", "pref_brief", channel="telegram"))
    events = await ActionSetTone().run(dispatcher, tracker, DOMAIN)
    assert _slots(events) == {"tone": "brief"}
    for _ in range(100):
        if fake_rasa.calls:
            break
        await asyncio.sleep(0.02)
    assert [(c["sender"], c["body"]) for c in fake_rasa.calls] == [
        ("web-77", [{"event": "slot", "name": "tone", "value": "brief", "timestamp": None}])]
    assert (await store_env.find_person("rest", "web-77")).tone == "brief"


async def test_new_session_carries_what_the_last_one_set_once_per_slot(store_env, dispatcher) -> None:
    person = await store_env.resolve_person("rest", "carry-1")
    await store_env.update_preferences(person.id, source=Source(channel="rest"), tone="brief")
    tracker = tracker_from(
        "new_visitor_rest", sender_id="carry-1",
        slots={"session_started_metadata": {"rapport_channel": "rest"}, "last_topic": "crime", "tone": "brief",
               "greeting": "named"},
        events=[{"event": "slot", "name": "last_topic", "value": "crime"}, {"event": "slot", "name": "greeting", "value": "named"}],
    )
    events = await ActionSessionStart().run(dispatcher, tracker, DOMAIN)
    names = [e["name"] for e in events if e.get("event") == "slot"]
    assert len(names) == len(set(names)), names
    slots = _slots(events)
    assert slots["last_topic"] == "crime" and slots["tone"] == "brief"
    assert slots["greeting"] != "named"  # per-session: recomputed, not carried
