"""Every answered turn: remember what it was about, and refresh the person's slots first.

``action_record_turn`` runs before the answer, so a preference changed on a linked channel a
moment ago already shapes this reply.  If the action server or store is down, the answer that
follows in the rule is still given.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.session import profile_events
from bot.identity import CHANNEL_KEY
from bot.store import InteractionRecord, RelationshipStore

logger = logging.getLogger(__name__)

OUTCOMES = {"nlu_fallback": "fallback", "request_human": "handed_off", "out_of_scope": "fallback"}
NOT_RECORDED = {"privacy_forget_me", "privacy_what_do_you_know", "affirm", "deny"}


def topics_of(tracker: Tracker) -> tuple[str, ...]:
    seen: list[str] = []
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "topic" and entity.get("value") not in seen:
            seen.append(str(entity.get("value")))
    return tuple(seen[:10])


def intent_of(tracker: Tracker) -> str | None:
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    if intent == "stock":
        selector = (latest.get("response_selector") or {}).get("stock") or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        return key or intent
    return intent


def _first_turn_of_session(tracker: Tracker) -> bool:
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "user":
            users += 1
    return users <= 1


def _answered_open_issue(tracker: Tracker) -> bool:
    """The customer said yes to "did the … question get sorted?"."""
    if tracker.get_slot("greeting") not in {"named_open", "open"}:
        return False
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent == "affirm"


class ActionRecordTurn(Action):
    def name(self) -> str:
        return "action_record_turn"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        who = context.speaker(tracker)
        intent = intent_of(tracker)
        topics = topics_of(tracker)
        resolved_issue = _answered_open_issue(tracker)
        outcome = "resolved" if resolved_issue else OUTCOMES.get(intent or "", "answered")
        record = InteractionRecord(channel=who.channel, intent=intent, topics=topics, outcome=outcome)
        # Session start fills the greeting when it knew the channel; otherwise the first turn does.
        started = tracker.get_slot("session_started_metadata") or {}
        first_turn = _first_turn_of_session(tracker) and not (isinstance(started, dict) and started.get(CHANNEL_KEY))

        async def work(handle: RelationshipStore) -> list[dict[str, Any]]:
            if intent in NOT_RECORDED and not resolved_issue:
                person = await handle.resolve_person(who.channel, who.sender_id)
            else:
                person = await handle.resolve_and_record(who.channel, who.sender_id, record)
            person = await context.verified_person(handle, who, person)
            if first_turn:
                return await profile_events(handle, person, context.session_started_at(tracker))
            return context.person_slots(person, await handle.consents(person.id))

        events: list[dict[str, Any]] = []
        try:
            events = await context.using_store(work)
        except context.StoreUnavailable as exc:
            logger.warning("turn not recorded, store unavailable: %s", exc)
        if topics:
            events.append(SlotSet("last_topic", topics[0]))
        if resolved_issue:
            events += [SlotSet("open_issue", None), SlotSet("greeting", "named" if tracker.get_slot("person_name") else "returning")]
        return events
