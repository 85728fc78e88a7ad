"""What every action needs: who is talking, the relationship store, and the slots a person implies.

The store is opened lazily once per action-server process.  Every store call is bounded in time;
when the store is unreachable the action degrades to an unpersonalised answer and says nothing
false, instead of failing the turn.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from bot import settings as settings_module
from bot.rasa_client import RasaClient, RasaError
from bot.identity import SIGNED_ID_CHANNEL, channel_of, verified_customer_id
from bot.store import Person, RelationshipStore, Source, StoreError

logger = logging.getLogger(__name__)
T = TypeVar("T")

STORE_TIMEOUT_S = 3.0
SUPPORT_TOPICS = {"order_status": "order", "delivery": "delivery", "returns": "return", "payment": "payment"}

_store: RelationshipStore | None = None
_store_lock = asyncio.Lock()
_rasa: RasaClient | None = None
_pushing: set[asyncio.Task] = set()


class StoreUnavailable(RuntimeError):
    """The relationship store could not be reached in time; the turn goes on unpersonalised."""


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


async def store() -> RelationshipStore:
    global _store
    if _store is not None:
        return _store
    async with _store_lock:
        if _store is None:
            _store = await RelationshipStore.open(settings_module.load().database_url)
        return _store


async def reset_store() -> None:
    global _store
    broken, _store = _store, None
    if broken is not None:
        try:
            await broken.close()
        except Exception:  # closing a broken engine may fail again; the new one matters
            logger.debug("closing a broken store failed", exc_info=True)


async def using_store(work: Callable[[RelationshipStore], Awaitable[T]]) -> T:
    """Run ``work`` against the store within the time bound; StoreUnavailable if it cannot."""
    try:
        handle = await asyncio.wait_for(store(), STORE_TIMEOUT_S)
        return await asyncio.wait_for(work(handle), STORE_TIMEOUT_S)
    except StoreError:
        raise
    except (asyncio.TimeoutError, OSError, ConnectionError) as exc:
        await reset_store()
        raise StoreUnavailable(str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            await reset_store()
            raise StoreUnavailable(str(exc)) from exc
        raise


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

    return who, await using_store(work)


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


def open_issue_from(history: list[Any]) -> str | None:
    """The support question of the last visit, unless it was marked resolved since."""
    for interaction in history:
        if interaction.outcome == "resolved":
            return None
        if interaction.intent in SUPPORT_TOPICS and interaction.outcome in {"answered", "fallback", "handed_off"}:
            return SUPPORT_TOPICS[interaction.intent]
    return None


def _rasa_client() -> RasaClient:
    global _rasa
    if _rasa is None:
        settings = settings_module.load()
        _rasa = RasaClient(settings.rasa_url, settings.rasa_token)
    return _rasa


async def push_slots(sender_id: str, events: list[dict[str, Any]]) -> None:
    """Set slots in another conversation through Rasa's HTTP API (logged, never raised)."""
    try:
        await _rasa_client().add_events(sender_id, events)
    except RasaError as exc:
        logger.warning("could not update conversation %s: %s (its next session start will)", sender_id, exc)


def share_with_linked(person: Person, events: list[dict[str, Any]], current_sender: str) -> None:
    """Send slot changes to the person's other conversations, so a preference holds there at once.

    Runs in the background: the conversation being answered holds its own lock in Rasa, and the
    others must not wait for this answer.
    """
    for identity in person.identities:
        if identity.channel == SIGNED_ID_CHANNEL or identity.sender_id == current_sender:
            continue
        task = asyncio.get_running_loop().create_task(push_slots(identity.sender_id, events))
        _pushing.add(task)
        task.add_done_callback(_pushing.discard)
