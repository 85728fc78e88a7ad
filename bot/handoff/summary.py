"""A short summary for the agent of what the bot knew and tried (pure; no customer words)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

MAX_SUMMARY = 1_000
REASONS = {
    "asked": "Customer asked for a person.",
    "fallbacks": "The bot did not understand twice in a row.",
    "frustrated": "The customer seemed frustrated.",
    "rule": "A conversation rule handed over.",
}


@dataclass(frozen=True)
class ConversationFacts:
    intents: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    answered: tuple[str, ...] = ()
    fallbacks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def facts_from_events(events: Iterable[Mapping[str, Any]]) -> ConversationFacts:
    """Intents, topics and answers of the current session, from Rasa tracker events."""
    session: list[Mapping[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            session = []
        session.append(event)
    intents, topics, answered, fallbacks = [], [], [], 0
    for event in session:
        if event.get("event") == "user":
            parse = event.get("parse_data") or {}
            name = (parse.get("intent") or {}).get("name")
            if name:
                intents.append(name)
                fallbacks += name == "nlu_fallback"
            for entity in parse.get("entities") or []:
                if entity.get("entity") == "topic" and entity.get("value") not in topics:
                    topics.append(str(entity.get("value")))
        elif event.get("event") == "action":
            name = str(event.get("name") or "")
            if name.startswith("utter_") and name not in answered and name not in {"utter_default"}:
                answered.append(name)
    return ConversationFacts(tuple(intents), tuple(topics), tuple(answered), fallbacks)


def summarise(facts: ConversationFacts, *, reason: str, name: str | None, tone: str | None,
              channel: str) -> str:
    """Plain lines an agent reads in five seconds."""
    asked = ", ".join(dict.fromkeys(i for i in facts.intents if i not in {"greet", "request_human"})) or "nothing specific yet"
    lines = [
        REASONS.get(reason, reason),
        f"Customer: {name or 'name not known'}; prefers {tone or 'friendly'} answers; on {channel}.",
        f"Asked about: {asked}.",
    ]
    if facts.topics:
        lines.append("Topics: " + ", ".join(facts.topics) + ".")
    if facts.answered:
        lines.append("Bot answered with: " + ", ".join(a.removeprefix("utter_") for a in facts.answered) + ".")
    if facts.fallbacks:
        lines.append(f"Not understood {facts.fallbacks} time(s).")
    return "\n".join(lines)[:MAX_SUMMARY]
