"""Transparency in plain words: what the store holds about a person, rendered from their export.

The answer to "what do you know about me?" is built from the same document as the data export,
so it can never say less than what is stored.
"""

from __future__ import annotations

from typing import Any

HOW = {"said": "you told us", "observed": "from what you did", "staff": "entered by our staff"}
CHANNEL_NAMES = {
    "rest": "the website API", "socketio": "the web chat", "telegram": "Telegram", "slack": "Slack",
    "twilio": "SMS", "whatsapp": "WhatsApp", "messenger": "Messenger", "customer": "your shop account",
}
TOPIC_LIMIT = 8


def _channel(name: str | None) -> str:
    return CHANNEL_NAMES.get(name or "", name or "an unknown channel")


def _day(value: Any) -> str:
    return str(value)[:10] if value else "an unknown date"


def _origin(provenance: dict[str, Any], fact: str) -> str:
    source = provenance.get(fact)
    if not source:
        return ""
    how = HOW.get(source.get("how", ""), source.get("how", ""))
    return f" ({how} on {_channel(source.get('channel'))}, {_day(source.get('at'))})"


def describe(export: dict[str, Any]) -> str:
    """Every kind of fact in the export, one short line each, in the customer's words."""
    person = export.get("person") or {}
    provenance = export.get("provenance") or {}
    lines = ["Here is everything we have stored about you:"]
    lines.append(f"- Name: {person['name']}{_origin(provenance, 'name')}" if person.get("name") else "- Name: none stored")
    lines.append(f"- Tone: {person.get('tone', 'friendly')}{_origin(provenance, 'tone')}")
    if person.get("preferred_channel"):
        lines.append(f"- Preferred channel: {person['preferred_channel']}{_origin(provenance, 'preferred_channel')}")
    if person.get("language"):
        lines.append(f"- Language: {person['language']}")
    identities = export.get("identities") or []
    if identities:
        lines.append("- Channels we know you on: " + ", ".join(sorted({_channel(i.get("channel")) for i in identities})))
    interests = sorted(export.get("interests") or [], key=lambda i: -float(i.get("strength") or 0))
    if interests:
        topics = ", ".join(str(i.get("topic")) for i in interests[:TOPIC_LIMIT])
        more = f" and {len(interests) - TOPIC_LIMIT} more" if len(interests) > TOPIC_LIMIT else ""
        lines.append(f"- Topics you asked about: {topics}{more}")
    interactions = export.get("interactions") or []
    if interactions:
        lines.append(
            f"- {len(interactions)} conversation turn(s) since {_day(interactions[0].get('at'))}: what they were "
            "about and whether we helped (not your messages' text)"
        )
    content = export.get("content") or []
    if content:
        lines.append(f"- {len(content)} article(s), video(s) or stories we showed you")
    advocacy = export.get("advocacy") or []
    if advocacy:
        lines.append(f"- {len(advocacy)} time(s) you told us you recommended us")
    consent = (export.get("consent") or {}).get("current") or {}
    if consent:
        lines.append("- Your choices: " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(consent.items())))
    tickets = export.get("tickets") or []
    if tickets:
        lines.append(f"- {len(tickets)} conversation(s) with our staff")
    notes = export.get("notes") or []
    if notes:
        lines.append(f"- {len(notes)} note(s) our staff wrote about helping you")
    lines.append(
        "You can change any of this (\"call me …\", \"keep it short\"), say \"stop remembering me\", "
        "or \"forget me\" to erase it all."
    )
    return "\n".join(lines)
