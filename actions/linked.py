"""A change on one channel reaches the person's other open conversations at once (Rasa's HTTP API)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot import settings as settings_module
from bot.rasa_client import RasaClient, RasaError, loggable
from bot.identity import SIGNED_ID_CHANNEL, pseudonym
from bot.store import Person

logger = logging.getLogger(__name__)

_rasa: RasaClient | None = None
_pushing: set[asyncio.Task] = set()


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
        logger.warning("could not update conversation %s: %s (its next session start will)",
                       pseudonym(sender_id), loggable(exc))


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
