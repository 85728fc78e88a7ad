"""Which team a handoff goes to, from what the conversation was about (pure)."""

from __future__ import annotations

from typing import Iterable

_BY_INTENT = {
    "order_status": "orders", "delivery": "orders", "returns": "orders", "payment": "orders",
    "gift_cards": "orders", "stock": "booksellers", "ask_recommendation": "booksellers",
    "events": "booksellers",
}


def team_for(intents: Iterable[str]) -> str:
    """The team of the most recent intent that has one; "general" otherwise."""
    for intent in reversed(list(intents)):
        team = _BY_INTENT.get(intent.split("/")[0])
        if team:
            return team
    return "general"


def wait_text(waiting_ahead: int, minutes_per_ticket: int = 4) -> str:
    """An honest rough wait, from the queue in front of the customer."""
    if waiting_ahead <= 0:
        return "Someone should be with you in a minute or two."
    low = max(2, waiting_ahead * minutes_per_ticket)
    return f"There {'is' if waiting_ahead == 1 else 'are'} {waiting_ahead} {'person' if waiting_ahead == 1 else 'people'} ahead of you, so it may take about {low}–{low + minutes_per_ticket} minutes."
