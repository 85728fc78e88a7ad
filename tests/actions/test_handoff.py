"""Handing over: honest next steps, tickets with summaries, closed hours, fallbacks and ratings."""

from __future__ import annotations

import pytest

from actions.handoff import ActionFallback, ActionHandoff, ActionLeaveMessage, ActionRate
from tests.actions.conftest import DOMAIN, tracker_from, user_turn


def _events_with(*turns: tuple[str, str]) -> list[dict]:
    events = [{"event": "session_started", "timestamp": 1.0}]
    for text, intent in turns:
        events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": []},
                       "metadata": {"rapport_channel": "rest"}})
    return events


async def test_open_hours_handoff_creates_a_ticket_and_pauses(store_env, dispatcher) -> None:
    tracker = tracker_from("new_visitor_rest", sender_id="h-1", latest_message=user_turn("a person please", "request_human"),
                           events=_events_with(("where's my parcel", "order_status"), ("a person please", "request_human")))
    events = await ActionHandoff().run(dispatcher, tracker, DOMAIN)
    assert {"event": "pause", "timestamp": None} in events
    assert dispatcher.messages[0]["response"] == "utter_handoff_waiting"
    assert "minute or two" in dispatcher.messages[0]["wait_text"]
    ticket = await store_env.open_ticket_for("rest", "h-1")
    assert ticket.team == "orders" and "order_status" in ticket.summary and ticket.status == "waiting"


async def test_second_customer_is_told_someone_is_ahead(store_env, dispatcher) -> None:
    for sender in ("h-2a", "h-2b"):
        dispatcher.messages.clear()
        tracker = tracker_from("new_visitor_rest", sender_id=sender, latest_message=user_turn("human", "request_human"),
                               events=_events_with(("human", "request_human")))
        await ActionHandoff().run(dispatcher, tracker, DOMAIN)
    assert "1 person ahead" in dispatcher.messages[0]["wait_text"]


async def test_closed_hours_offer_a_message_and_open_no_ticket(store_env, dispatcher, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_STAFFED_HOURS", "mon 00:00-00:01")
    monkeypatch.setenv("RAPPORT_TIMEZONE", "Pacific/Kiritimati")
    import datetime as dt

    tracker = tracker_from("new_visitor_rest", sender_id="h-3", latest_message=user_turn("person", "request_human"))
    from bot.handoff import hours

    if hours.parse("mon 00:00-00:01", "Pacific/Kiritimati").is_open(dt.datetime.now(dt.timezone.utc)):
        pytest.skip("the one open minute of this schedule is now")
    events = await ActionHandoff().run(dispatcher, tracker, DOMAIN)
    assert events == []
    assert dispatcher.messages[0]["response"] == "utter_handoff_closed_hours"
    assert await store_env.open_ticket_for("rest", "h-3") is None
    dispatcher.messages.clear()
    events = await ActionLeaveMessage().run(dispatcher, tracker, DOMAIN)
    assert {"event": "pause", "timestamp": None} in events
    assert (await store_env.open_ticket_for("rest", "h-3")).summary.startswith("[Left a message outside staffed hours]")


async def test_second_fallback_in_a_row_hands_over(store_env, dispatcher) -> None:
    once = tracker_from("new_visitor_rest", sender_id="h-4", latest_message=user_turn("qwx", "nlu_fallback"),
                        events=_events_with(("hello", "greet"), ("qwx", "nlu_fallback")))
    assert await ActionFallback().run(dispatcher, once, DOMAIN) == []
    assert dispatcher.messages[-1]["response"] == "utter_default"
    twice = tracker_from("new_visitor_rest", sender_id="h-4", latest_message=user_turn("zzq", "nlu_fallback"),
                         events=_events_with(("qwx", "nlu_fallback"), ("zzq", "nlu_fallback")))
    events = await ActionFallback().run(dispatcher, twice, DOMAIN)
    assert {"event": "pause", "timestamp": None} in events
    assert "did not understand twice" in (await store_env.open_ticket_for("rest", "h-4")).summary


async def test_rating_is_stored_with_the_ticket(store_env, dispatcher) -> None:
    person = await store_env.resolve_person("rest", "h-5")
    ticket = await store_env.create_ticket(person_id=person.id, channel="rest", sender_id="h-5", team="general", summary="s")
    await store_env.close_ticket(ticket.id)
    latest = user_turn("/rate", "rate", entities=[{"entity": "rating", "value": 4}])
    tracker = tracker_from("new_visitor_rest", sender_id="h-5", latest_message=latest, slots={"last_ticket_id": float(ticket.id)})
    await ActionRate().run(dispatcher, tracker, DOMAIN)
    assert (await store_env.get_ticket(ticket.id)).satisfaction == 4
    assert [i.satisfaction for i in await store_env.interaction_history(person.id)] == [4]


@pytest.mark.parametrize("raw", [None, "seven", 0, 9, "<b>5</b>"])
async def test_bad_rating_asks_again(store_env, dispatcher, raw) -> None:
    entities = [] if raw is None else [{"entity": "rating", "value": raw}]
    tracker = tracker_from("new_visitor_rest", sender_id="h-6", latest_message=user_turn("/rate", "rate", entities=entities))
    assert await ActionRate().run(dispatcher, tracker, DOMAIN) == []
    assert dispatcher.messages[-1]["response"] == "utter_ask_rating"
