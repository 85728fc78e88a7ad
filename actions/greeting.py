"""How a session opens: which greeting fits, and whether a support question was left open (pure rules)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker

SUPPORT_TOPICS = {"order_status": "order", "delivery": "delivery", "returns": "return", "payment": "payment"}


def session_started_at(tracker: Tracker) -> float | None:
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return event.get("timestamp")
    return None


def before_session(history: list[Any], session_start: float | None) -> list[Any]:
    """The interactions (newest first) that happened before this session started (None = now)."""
    start = datetime.fromtimestamp(session_start, tz=timezone.utc) if session_start else datetime.now(timezone.utc)
    return [i for i in history if _utc(i.at).timestamp() < start.timestamp()]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def greeting_style(returning: bool, named: bool, open_issue: str | None) -> str:
    """Which greeting variation fits: new, returning, named, named_open or open."""
    if not returning:
        return "new"
    if named:
        return "named_open" if open_issue else "named"
    return "open" if open_issue else "returning"


def open_issue_from(history: list[Any]) -> str | None:
    """The support question of the last visit, unless it was marked resolved since."""
    for interaction in history:
        if interaction.outcome == "resolved":
            return None
        if interaction.intent in SUPPORT_TOPICS and interaction.outcome in {"answered", "fallback", "handed_off"}:
            return SUPPORT_TOPICS[interaction.intent]
    return None
