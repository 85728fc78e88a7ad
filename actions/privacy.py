"""Transparency and control: what we know, forget me, stop remembering, remember again."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import linked, people, recorder, storage
from bot import settings as settings_module
from bot.identity import pseudonym
from bot.privacy import describe
from bot.store import PersonNotFound, RelationshipStore, erase_tracker_events

logger = logging.getLogger(__name__)

#: Set by action_forget_me; the tracker store then deletes the conversation instead of saving it.
ERASED_SLOT = "erased"


class ActionWhatDoYouKnow(Action):
    def name(self) -> str:
        return "action_what_do_you_know"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        who = people.speaker(tracker)
        await recorder.flush()  # the answer includes the turns just before this question

        async def work(handle: RelationshipStore) -> dict | None:
            person = await handle.find_person(who.channel, who.sender_id)
            return None if person is None else await handle.export_person(person.id)

        try:
            export = await storage.using_store(work)
        except storage.StoreUnavailable as exc:
            logger.warning("transparency answer unavailable for %s: %s", pseudonym(who.sender_id), exc)
            dispatcher.utter_message(response="utter_privacy_unavailable")
            return []
        if export is None:
            dispatcher.utter_message(text="We have nothing stored about you.")
        else:
            dispatcher.utter_message(text=describe(export))
        return []


class ActionForgetMe(Action):
    def name(self) -> str:
        return "action_forget_me"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        who = people.speaker(tracker)
        tracker_url = settings_module.load().tracker_store_url
        await recorder.flush()  # nothing already stored may be recorded after the erasure

        async def work(handle: RelationshipStore) -> tuple[list[str], int]:
            person = await handle.find_person(who.channel, who.sender_id)
            senders = {who.sender_id}
            rows = 0
            if person is not None:
                report = await handle.erase_person(person.id)
                senders |= {sender for _channel, sender in report.sender_ids}
                rows = sum(report.deleted.values())
            return sorted(senders), rows

        try:
            senders, rows = await storage.using_store(work)
        except (storage.StoreUnavailable, PersonNotFound) as exc:
            logger.warning("forget-me failed for %s: %s", pseudonym(who.sender_id), exc)
            dispatcher.utter_message(response="utter_privacy_unavailable")
            return []
        events = await erase_tracker_events(tracker_url, senders)
        # No pseudonym here: nothing in the logs should tie the erased conversations together afterwards.
        logger.info("forget me: erased %d stored rows and %d tracker events of %d conversation(s)",
                    rows, events, len(senders))
        dispatcher.utter_message(response="utter_forgotten")
        return [SlotSet(ERASED_SLOT, True)]


class ActionStopRemembering(Action):
    def name(self) -> str:
        return "action_stop_remembering"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await _set_remembering(dispatcher, tracker, False, "utter_stopped_remembering")


class ActionRememberMe(Action):
    def name(self) -> str:
        return "action_remember_me"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await _set_remembering(dispatcher, tracker, True, "utter_remembering_again")


async def _set_remembering(dispatcher: CollectingDispatcher, tracker: Tracker, remembering: bool,
                           response: str) -> list[dict[str, Any]]:
    who = people.speaker(tracker)

    async def work(handle: RelationshipStore) -> None:
        person = await handle.resolve_person(who.channel, who.sender_id)
        person = await handle.set_remembering(person.id, remembering, source=who.source(purpose="remember_me"))
        # Every linked conversation switches too: the tracker store keeps them in memory only.
        linked.share_with_linked(person, people.person_slots(person, await handle.consents(person.id)), who.sender_id)

    await recorder.flush()
    try:
        await storage.using_store(work)
    except storage.StoreUnavailable as exc:
        logger.warning("remembering choice of %s not stored: %s", pseudonym(who.sender_id), exc)
        dispatcher.utter_message(response="utter_privacy_unavailable")
        return []
    dispatcher.utter_message(response=response)
    return [SlotSet("remembering", remembering)]
