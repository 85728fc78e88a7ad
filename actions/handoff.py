"""Handing over to a person: on request, after two misunderstandings, or on clear frustration.

The bot is honest about what happens next: a real person will reply and roughly when, or,
outside staffed hours, an offer to leave a message that is answered later, only if the
customer agrees.  While a person holds the conversation Rasa stays paused.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import people, storage
from bot import settings as settings_module
from bot.handoff import hours, routing
from bot.handoff.summary import facts_from_events, summarise
from bot.store import InteractionRecord, RelationshipStore, StoreError

logger = logging.getLogger(__name__)

QUEUE_DOWN = ("Sorry, I can't reach our team's queue right now, so I can't pass you on this minute. "
              "Please try again in a few minutes; nothing you've told me is lost.")


def _session_user_intents(tracker: Tracker) -> list[str]:
    return list(facts_from_events(tracker.events).intents)


def staffed_hours() -> hours.StaffedHours:
    settings = settings_module.load()
    return hours.parse(settings.staffed_hours, settings.timezone)


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str,
                    *, after_hours_message: bool = False) -> list[dict[str, Any]]:
    """Create (or reuse) the ticket, tell the customer what happens next, and pause the bot."""
    schedule = staffed_hours()
    if not after_hours_message and not schedule.is_open():
        dispatcher.utter_message(response="utter_handoff_closed_hours", staffed_hours=schedule.text)
        return []
    who = people.speaker(tracker)
    facts = facts_from_events(tracker.events)
    team = routing.team_for(facts.intents)

    async def work(handle: RelationshipStore) -> tuple[int, int, str | None]:
        person = await handle.resolve_person(who.channel, who.sender_id)
        person = await people.verified_person(handle, who, person)
        summary = summarise(facts, reason=reason, name=person.name, tone=person.tone, channel=who.channel)
        if after_hours_message:
            summary = "[Left a message outside staffed hours]\n" + summary
        ticket = await handle.create_ticket(person_id=person.id, channel=who.channel, sender_id=who.sender_id,
                                            team=team, summary=summary)
        waiting = await handle.list_tickets(status="waiting", limit=500)
        ahead = sum(1 for t in waiting if t.created_at < ticket.created_at)
        await handle.record_interaction(person.id, InteractionRecord(
            channel=who.channel, intent="handoff", topics=facts.topics, outcome="handed_off"))
        return ticket.id, ahead, person.preferred_channel

    try:
        ticket_id, ahead, preferred = await storage.using_store(work)
    except (storage.StoreUnavailable, StoreError) as exc:
        logger.warning("handoff failed, queue unavailable: %s", exc)
        dispatcher.utter_message(text=QUEUE_DOWN)
        return []
    if after_hours_message:
        dispatcher.utter_message(
            text=f"Thanks. Type your message here and someone from our team will answer you on this "
                 f"channel when we're back ({schedule.text}).")
    else:
        dispatcher.utter_message(response="utter_handoff_waiting", wait_text=routing.wait_text(ahead))
    return [SlotSet("handoff_active", True), SlotSet("last_ticket_id", float(ticket_id)), ConversationPaused()]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        reason = {"request_human": "asked", "nlu_fallback": "fallbacks", "frustrated": "frustrated"}.get(intent, "rule")
        return await hand_over(dispatcher, tracker, reason)


class ActionLeaveMessage(Action):
    def name(self) -> str:
        return "action_leave_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await hand_over(dispatcher, tracker, "asked", after_hours_message=True)


class ActionFallback(Action):
    """Not understood: ask to rephrase; the second time in a row, hand over to a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        intents = _session_user_intents(tracker)
        if len(intents) >= 2 and intents[-1] == intents[-2] == "nlu_fallback":
            return await hand_over(dispatcher, tracker, "fallbacks")
        who = people.speaker(tracker)
        try:
            await storage.using_store(lambda handle: handle.resolve_and_record(
                who.channel, who.sender_id, InteractionRecord(channel=who.channel, intent="nlu_fallback", outcome="fallback")))
        except storage.StoreUnavailable as exc:
            logger.warning("fallback not recorded: %s", exc)
        dispatcher.utter_message(response="utter_default")
        return []


class ActionFrustrated(Action):
    """Offer a person the first time; hand over when the frustration comes back."""

    def name(self) -> str:
        return "action_frustrated"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        if _session_user_intents(tracker).count("frustrated") >= 2:
            return await hand_over(dispatcher, tracker, "frustrated")
        dispatcher.utter_message(response="utter_frustrated")
        return []


class ActionRate(Action):
    """The optional satisfaction question after a handoff, stored with the ticket."""

    def name(self) -> str:
        return "action_rate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        raw = next((e.get("value") for e in (tracker.latest_message or {}).get("entities") or []
                    if e.get("entity") == "rating"), None)
        try:
            rating = int(float(raw))
        except (TypeError, ValueError):
            rating = 0
        if not 1 <= rating <= 5:
            dispatcher.utter_message(response="utter_ask_rating")
            return []
        ticket_id = tracker.get_slot("last_ticket_id")
        who = people.speaker(tracker)

        async def work(handle: RelationshipStore) -> None:
            if ticket_id:
                await handle.rate_ticket(int(ticket_id), rating)
            await handle.resolve_and_record(who.channel, who.sender_id, InteractionRecord(
                channel=who.channel, intent="rate", outcome="resolved", satisfaction=rating))

        try:
            await storage.using_store(work)
        except (storage.StoreUnavailable, StoreError) as exc:
            logger.warning("rating not stored: %s", exc)
        dispatcher.utter_message(response="utter_rating_thanks")
        return [SlotSet("last_ticket_id", None)]
