"""The Rasa tracker events a handoff writes into a conversation (as Rasa's event JSON)."""

from __future__ import annotations

from typing import Any


def bot_event(text: str, *, name: str, avatar: str | None) -> dict[str, Any]:
    """A bot message signed by a staff member, as Rasa's tracker event JSON."""
    return {"event": "bot", "text": text, "data": {"custom": {"rapport_staff": {"name": name, "avatar": avatar}}}}


def resume_event() -> dict[str, Any]:
    return {"event": "resume"}


def handoff_ended_event() -> dict[str, Any]:
    """Clears the slot the handoff action set, so the bot's own state agrees."""
    return {"event": "slot", "name": "handoff_active", "value": False}
