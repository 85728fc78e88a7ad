"""Verified cross-channel linking with one-time codes."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import linked, people, storage
from actions.preferences import entity
from bot.store import InvalidInput, LinkCodeError, RelationshipStore

logger = logging.getLogger(__name__)

REASONS = {
    "unknown": "it doesn't match any code we sent",
    "expired": "it has expired",
    "used": "it has already been used",
    "locked": "there were too many wrong tries",
}
_DIGITS = re.compile(r"\d")


def code_from(tracker: Tracker) -> str | None:
    """Six digits from the entity or the message, ignoring spaces and dashes."""
    raw = entity(tracker, "link_code") or (tracker.latest_message or {}).get("text") or ""
    digits = "".join(_DIGITS.findall(raw))
    return digits if len(digits) == 6 else None


class ActionStartLink(Action):
    def name(self) -> str:
        return "action_start_link"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        try:
            _who, person = await people.resolve(tracker)
            code = await storage.using_store(lambda handle: handle.create_link_code(person.id))
        except storage.StoreUnavailable as exc:
            logger.warning("link code not created: %s", exc)
            dispatcher.utter_message(response="utter_privacy_unavailable")
            return []
        dispatcher.utter_message(response="utter_link_code", link_code=f"{code[:3]} {code[3:]}")
        dispatcher.utter_message(response="utter_link_ask_code")
        return []


class ActionRedeemLinkCode(Action):
    def name(self) -> str:
        return "action_redeem_link_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        code = code_from(tracker)
        if code is None:
            dispatcher.utter_message(response="utter_link_ask_code")
            return []
        who = people.speaker(tracker)

        async def work(handle: RelationshipStore) -> list[dict[str, Any]]:
            person = await handle.redeem_link_code(code, who.channel, who.sender_id)
            slots = people.person_slots(person, await handle.consents(person.id))
            linked.share_with_linked(person, slots, who.sender_id)
            return slots

        try:
            events = await storage.using_store(work)
        except LinkCodeError as exc:
            dispatcher.utter_message(response="utter_link_failed", reason=REASONS.get(exc.reason, exc.reason))
            return []
        except InvalidInput:
            dispatcher.utter_message(response="utter_link_ask_code")
            return []
        except storage.StoreUnavailable as exc:
            logger.warning("link code not redeemed: %s", exc)
            dispatcher.utter_message(response="utter_privacy_unavailable")
            return []
        dispatcher.utter_message(response="utter_link_done")
        return events
