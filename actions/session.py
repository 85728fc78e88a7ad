"""Session start: recognise the person and fill the slots the first reply needs."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import greeting, people, recorder, storage
from bot.store import Person, RelationshipStore

logger = logging.getLogger(__name__)

#: Slots that live only for one session.
SESSION_SLOTS = ("greeting", "open_issue", "suggested")


async def profile_events(handle: RelationshipStore, person: Person, session_start: float | None) -> list[dict[str, Any]]:
    """Slot events for a person at the start of a session (one store read for history).

    Returning means we met before this session: an interaction older than it, or a name they gave.
    """
    if person.is_new:  # created just now: no consents, history or ticket to read yet
        return people.person_slots(person, {}) + [
            SlotSet("returning", False), SlotSet("open_issue", None), SlotSet("greeting", "new")]
    consents = await handle.consents(person.id)
    history = await handle.interaction_history(person.id, limit=20)
    earlier = greeting.before_session(history, session_start)
    returning = bool(earlier) or bool(person.name)
    open_issue = greeting.open_issue_from(earlier)
    return people.person_slots(person, consents) + [
        SlotSet("returning", returning),
        SlotSet("open_issue", open_issue),
        SlotSet("greeting", greeting.greeting_style(returning, bool(person.name), open_issue)),
    ]


def _carried_slots(tracker: Tracker) -> list[dict[str, Any]]:
    """Carry over the slots the previous session set, except the per-session ones (as Rasa does)."""
    set_before = {e.get("name") for e in tracker.events if e.get("event") == "slot"}
    return [
        SlotSet(name, value)
        for name, value in tracker.slots.items()
        if name in set_before and name not in SESSION_SLOTS and name != "session_started_metadata"
    ]


def _last_per_slot(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One event per slot (the last value wins), other events kept in order."""
    last = {e["name"]: i for i, e in enumerate(events) if e.get("event") == "slot"}
    return [e for i, e in enumerate(events) if e.get("event") != "slot" or last[e["name"]] == i]


async def _session_profile(handle: RelationshipStore, who: people.Speaker, person: Person) -> list[dict[str, Any]]:
    events = await profile_events(handle, person, None)
    if not person.is_new and await handle.open_ticket_for(who.channel, who.sender_id) is not None:
        # A person still holds this conversation: the new session stays with them.
        events += [SlotSet("handoff_active", True), ConversationPaused()]
    return events


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        events += _carried_slots(tracker)
        events += [SlotSet("greeting", "new"), SlotSet("suggested", False)]
        metadata = tracker.get_slot("session_started_metadata")
        if metadata:
            events.append(SlotSet("session_started_metadata", metadata))
        who = people.speaker(tracker)
        if who.channel != "unknown":
            try:
                who, person = await people.resolve(tracker)
                if not person.is_new:
                    await recorder.flush()  # the last visit's turns count for "returning" and the open question
                events += await storage.using_store(lambda handle: _session_profile(handle, who, person))
            except storage.StoreUnavailable as exc:
                logger.warning("session start without the store (%s): unpersonalised", exc)
        events.append(ActionExecuted("action_listen"))
        return _last_per_slot(events)
