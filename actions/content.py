"""Curation: at most one helpful, unseen, on-topic suggestion per conversation, never pushed."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import people, storage
from actions.turn import topics_of
from bot import settings as settings_module
from bot.content import ContentItem, choose, load_catalogue
from bot.store import InteractionRecord, RelationshipStore

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def catalogue() -> tuple[ContentItem, ...]:
    return tuple(load_catalogue(settings_module.load().project_root / "data" / "content.yml"))


def suggestion_text(item: ContentItem, tone: str | None) -> str:
    if tone == "brief":
        return f"Related: {item.title} {item.url}"
    return f"If it helps, we have this: {item.title} — {item.summary} {item.url}"


class ActionSuggestContent(Action):
    def name(self) -> str:
        return "action_suggest_content"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        if tracker.get_slot("suggested") or tracker.get_slot("suggestions_ok") is False:
            return []
        topics_now = topics_of(tracker)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        asked = intent == "ask_recommendation"
        if not topics_now and not asked:
            return []
        who = people.speaker(tracker)

        async def work(handle: RelationshipStore) -> ContentItem | None:
            # Session start created the person; a read is enough (no last-seen write per suggestion).
            person = await handle.find_person(who.channel, who.sender_id)
            if person is None:
                person = await handle.resolve_person(who.channel, who.sender_id)
            consents, interests, seen = await handle.curation_facts(person.id)
            if consents.get("suggestions") == "withdrawn":
                return None
            topics = [i.topic for i in interests] if person.remembering else []
            item = choose(catalogue(), topics_now=topics_now, interests=topics, seen=seen,
                          asked_for_recommendation=asked)
            if item is not None:
                await handle.record_interaction(person.id, InteractionRecord(
                    channel=who.channel, intent="content_suggested", topics=item.topics,
                    content_item=item.id, content_type=item.type, outcome="answered"))
            return item

        try:
            item = await storage.using_store(work)
        except storage.StoreUnavailable as exc:
            logger.info("no suggestion without the store: %s", exc)
            return []
        if item is None:
            return []
        dispatcher.utter_message(text=suggestion_text(item, tracker.get_slot("tone")))
        return [SlotSet("suggested", True)]
