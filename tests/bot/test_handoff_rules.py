"""Staffed hours, team routing, wait estimates and the agent's summary (pure functions)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.handoff import hours, routing
from bot.handoff.summary import facts_from_events, summarise


def test_staffed_hours_open_and_closed_in_the_shops_time_zone() -> None:
    schedule = hours.parse("mon-fri 09:00-17:30, sat 10:00-16:00", "Europe/London")
    assert schedule.is_open(datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc))      # Tuesday 10:00
    assert not schedule.is_open(datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc))  # Tuesday 18:00
    assert not schedule.is_open(datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc))  # Sunday
    summer = datetime(2026, 7, 4, 9, 30, tzinfo=timezone.utc)  # Saturday 10:30 BST
    assert schedule.is_open(summer)


@pytest.mark.parametrize("text", ["mon-fri", "mon-fri 9-17", "fri-mon 09:00-17:00", "xyz 09:00-10:00", "mon 10:00-09:00", "mon 25:00-26:00"])
def test_unreadable_staffed_hours_are_refused_clearly(text: str) -> None:
    with pytest.raises(hours.HoursError):
        hours.parse(text, "Europe/London")


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(hours.HoursError):
        hours.parse("mon 09:00-10:00", "Mars/Olympus")


def test_round_the_clock() -> None:
    assert hours.parse("mon-sun 00:00-24:00", "UTC").is_open(datetime(2026, 12, 6, 23, 59, 30, tzinfo=timezone.utc))


def test_routing_follows_the_latest_topic_with_a_team() -> None:
    assert routing.team_for(["greet", "delivery", "request_human"]) == "orders"
    assert routing.team_for(["returns", "stock"]) == "booksellers"
    assert routing.team_for(["greet", "bot_challenge"]) == "general"


def test_wait_text_grows_with_the_queue() -> None:
    assert "minute or two" in routing.wait_text(0)
    assert "1 person ahead" in routing.wait_text(1)
    assert "3 people ahead" in routing.wait_text(3)


def _user(intent: str, topics: tuple[str, ...] = ()) -> dict:
    return {"event": "user", "text": "SECRET CUSTOMER WORDS", "parse_data": {
        "intent": {"name": intent}, "entities": [{"entity": "topic", "value": t} for t in topics]}}


def test_summary_tells_what_the_bot_knew_and_tried_without_customer_words() -> None:
    events = [
        _user("greet"), {"event": "session_started"},
        _user("delivery", ("crime",)), {"event": "action", "name": "utter_delivery"},
        _user("nlu_fallback"), {"event": "action", "name": "utter_default"}, _user("request_human"),
    ]
    facts = facts_from_events(events)
    assert facts.intents == ("delivery", "nlu_fallback", "request_human")
    text = summarise(facts, reason="asked", name="Sam", tone="brief", channel="telegram")
    assert "Customer asked for a person." in text and "Sam" in text and "brief" in text and "telegram" in text
    assert "delivery" in text and "crime" in text and "Not understood 1 time(s)" in text
    assert "SECRET" not in text
