"""Who is talking, and which person of the relationship store they are.

A person is addressed by any channel identity ``(channel, sender_id)``; a website may vouch for
its logged-in customer with a signed id in the message metadata, which joins them across devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import storage
from bot import settings as settings_module
from bot.identity import SIGNED_ID_CHANNEL, channel_of, verified_customer_id
from bot.store import Person, RelationshipStore, Source


@dataclass(frozen=True)
class Speaker:
    """The identity behind a tracker: channel, sender id and a verified customer id if any."""

    channel: str
    sender_id: str
    customer_id: str | None

    def source(self, how: str = "said", purpose: str = "remember_me") -> Source:
        return Source(channel=self.channel, how=how, purpose=purpose)


def _metadata(tracker: Tracker) -> dict[str, Any]:
    latest = (tracker.latest_message or {}).get("metadata") or {}
    if latest:
        return latest
    started = tracker.get_slot("session_started_metadata") or {}
    return started if isinstance(started, dict) else {}


def speaker(tracker: Tracker) -> Speaker:
    metadata = _metadata(tracker)
    secret = settings_module.load().identity_secret
    return Speaker(
        channel=channel_of(metadata, tracker.get_latest_input_channel()),
        sender_id=tracker.sender_id,
        customer_id=verified_customer_id(metadata, secret),
    )


async def verified_person(handle: RelationshipStore, who: Speaker, person: Person) -> Person:
    """Join a verified customer id to this channel identity (the same person on every device)."""
    if who.customer_id is None:
        return person
    known = await handle.find_person(SIGNED_ID_CHANNEL, who.customer_id)
    if known is None:
        return await handle.link_identity(person.id, SIGNED_ID_CHANNEL, who.customer_id, verified_by="signed_id")
    if known.id != person.id:
        return await handle.link_identity(known.id, who.channel, who.sender_id, verified_by="signed_id")
    return person


async def resolve(tracker: Tracker) -> tuple[Speaker, Person]:
    who = speaker(tracker)

    async def work(handle: RelationshipStore) -> Person:
        person = await handle.resolve_person(who.channel, who.sender_id)
        return await verified_person(handle, who, person)

    return who, await storage.using_store(work)


def person_slots(person: Person, consents: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The slots every turn refreshes, so a change on a linked channel holds at once."""
    consents = consents or {}
    events = [
        SlotSet("remembering", person.remembering),
        SlotSet("suggestions_ok", consents.get("suggestions") != "withdrawn"),
    ]
    if person.remembering:
        # While not remembering, what the person says now lives in this conversation's slots.
        events += [SlotSet("tone", person.tone), SlotSet("person_name", person.name)]
    return events
