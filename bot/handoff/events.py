"""The Rasa tracker events a handoff writes into a conversation, built with rasa_sdk's event builders."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import BotUttered, ConversationResumed, SlotSet

from bot.tracker_events import staff_marker


def bot_event(text: str, *, name: str, avatar: str | None) -> dict[str, Any]:
    """A bot message signed by a staff member (``bot.tracker_events.staff_author`` reads it back)."""
    return BotUttered(text, data=staff_marker(name, avatar))


def resume_event() -> dict[str, Any]:
    return ConversationResumed()


def handoff_ended_event() -> dict[str, Any]:
    """Clears the slot the handoff action set, so the bot's own state agrees."""
    return SlotSet("handoff_active", False)
