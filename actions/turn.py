"""What one customer turn tells the relationship store: intent, topics and outcome.

Pure functions over the JSON of a Rasa ``user`` event (as the tracker store keeps it); the
:mod:`actions.recorder` applies them to every stored turn, off the answer's path.
"""

from __future__ import annotations

from typing import Any, Mapping

from rasa_sdk import Tracker

from bot.store import InteractionRecord

OUTCOMES = {"nlu_fallback": "fallback", "request_human": "handed_off", "out_of_scope": "fallback"}
#: Turns that are about the relationship itself, not a question: never remembered as interactions.
NOT_RECORDED = {
    "privacy_forget_me", "privacy_what_do_you_know", "privacy_stop_remembering", "privacy_remember_me",
    "affirm", "deny",
}
#: The greeting variations that asked "did the … question get sorted?".
ASKED_ABOUT_OPEN_ISSUE = {"named_open", "open"}
MAX_TOPICS = 10


def topics_in(parse_data: Mapping[str, Any] | None) -> tuple[str, ...]:
    seen: list[str] = []
    for entity in (parse_data or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == "topic" and entity.get("value") not in seen:
            seen.append(str(entity.get("value")))
    return tuple(seen[:MAX_TOPICS])


def topics_of(tracker: Tracker) -> tuple[str, ...]:
    return topics_in(tracker.latest_message)


def intent_in(parse_data: Mapping[str, Any] | None) -> str | None:
    """The intent, or for the retrieval intent ``stock`` its sub-intent (``stock/signed_copies``)."""
    latest = parse_data or {}
    intent = (latest.get("intent") or {}).get("name")
    if intent == "stock":
        selector = (latest.get("response_selector") or {}).get("stock") or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        return key or intent
    return intent


def resolves_open_issue(intent: str | None, greeting: str | None) -> bool:
    """The customer said yes to the greeting's "did the … question get sorted?"."""
    return intent == "affirm" and greeting in ASKED_ABOUT_OPEN_ISSUE


def record_for(user_event: Mapping[str, Any], channel: str, greeting: str | None) -> InteractionRecord | None:
    """The interaction to remember for one ``user`` event, or None when the turn is not recorded."""
    parse_data = user_event.get("parse_data") or {}
    intent = intent_in(parse_data)
    if resolves_open_issue(intent, greeting):
        return InteractionRecord(channel=channel, intent=intent, topics=topics_in(parse_data), outcome="resolved")
    if intent in NOT_RECORDED or intent is None:
        return None
    return InteractionRecord(channel=channel, intent=intent, topics=topics_in(parse_data),
                             outcome=OUTCOMES.get(intent, "answered"))
