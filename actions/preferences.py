"""Preferences the customer states: tone, name, preferred channel, suggestions, recommending us."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import linked, people, storage
from bot.names import name_from_text
from bot.store import InvalidInput, RelationshipStore

logger = logging.getLogger(__name__)

CHANNEL_LABELS = {
    "telegram": "Telegram", "slack": "Slack", "sms": "SMS", "whatsapp": "WhatsApp",
    "web": "the web chat", "email": "email",
}
_NAME_CHARS = re.compile(r"^[^\W\d_][\w' .-]{0,79}$", re.UNICODE)


def clean_name(raw: str | None) -> str | None:
    """A plausible name from the extracted entity, capitalised when typed all lower-case."""
    if not raw:
        return None
    name = " ".join(raw.strip().strip(".,!?").split())
    if not name or not _NAME_CHARS.match(name):
        return None
    return name.title() if name.islower() else name


def entity(tracker: Tracker, name: str) -> str | None:
    for found in (tracker.latest_message or {}).get("entities") or []:
        if found.get("entity") == name and found.get("value"):
            return str(found["value"])
    return None


class ActionSetTone(Action):
    def name(self) -> str:
        return "action_set_tone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        tone = "brief" if intent == "pref_brief" else "friendly"
        try:
            who, person = await people.resolve(tracker)
            if person.remembering:
                await storage.using_store(
                    lambda handle: handle.update_preferences(person.id, source=who.source(), tone=tone)
                )
                linked.share_with_linked(person, [SlotSet("tone", tone)], who.sender_id)
        except storage.StoreUnavailable as exc:
            logger.warning("tone kept for this conversation only, store unavailable: %s", exc)
        return [SlotSet("tone", tone)]


class ActionSetName(Action):
    def name(self) -> str:
        return "action_set_name"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        name = clean_name(entity(tracker, "name")) or clean_name(name_from_text(text))
        if name is None:
            dispatcher.utter_message(response="utter_ask_name_again")
            return []
        remembered = False
        try:
            who, person = await people.resolve(tracker)
            if person.remembering:
                await storage.using_store(
                    lambda handle: handle.update_preferences(person.id, source=who.source(), name=name)
                )
                linked.share_with_linked(person, [SlotSet("person_name", name)], who.sender_id)
                remembered = True
        except InvalidInput:
            dispatcher.utter_message(response="utter_ask_name_again")
            return []
        except storage.StoreUnavailable as exc:
            logger.warning("name kept for this conversation only, store unavailable: %s", exc)
        events = [SlotSet("person_name", name)]
        if remembered:
            dispatcher.utter_message(response="utter_name_saved", person_name=name)
        else:
            dispatcher.utter_message(response="utter_name_not_remembered", person_name=name)
        return events


class ActionSetChannel(Action):
    def name(self) -> str:
        return "action_set_channel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        channel = entity(tracker, "channel")
        if channel not in CHANNEL_LABELS:
            dispatcher.utter_message(response="utter_channel_unknown")
            return []
        try:
            who, person = await people.resolve(tracker)
            if person.remembering:
                await storage.using_store(
                    lambda handle: handle.update_preferences(person.id, source=who.source(), preferred_channel=channel)
                )
        except storage.StoreUnavailable as exc:
            logger.warning("preferred channel not stored, store unavailable: %s", exc)
        dispatcher.utter_message(response="utter_channel_saved", channel=CHANNEL_LABELS[channel])
        return []


class ActionNoSuggestions(Action):
    def name(self) -> str:
        return "action_no_suggestions"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        try:
            who, person = await people.resolve(tracker)
            await storage.using_store(
                lambda handle: handle.set_consent(person.id, "suggestions", False, source=who.source(purpose="suggestions"))
            )
            linked.share_with_linked(person, [SlotSet("suggestions_ok", False)], who.sender_id)
        except storage.StoreUnavailable as exc:
            logger.warning("no-suggestions kept for this conversation only: %s", exc)
        return [SlotSet("suggestions_ok", False)]


class ActionRecordAdvocacy(Action):
    def name(self) -> str:
        return "action_record_advocacy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = ((tracker.latest_message or {}).get("text") or "").lower()
        kind = "referred" if any(w in text for w in ("sent me", "referred", "told me about")) else "recommended"

        who = people.speaker(tracker)

        async def work(handle: RelationshipStore) -> None:
            person = await handle.resolve_person(who.channel, who.sender_id)
            if person.remembering:
                await handle.record_advocacy(person.id, kind, source=who.source(how="said"))

        try:
            await storage.using_store(work)
        except storage.StoreUnavailable as exc:
            logger.warning("advocacy not recorded: %s", exc)
        return []
