"""JSON shapes of desk records for the API and the live feed (the OpenAPI document describes them)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot.handoff.canned import CannedReply
from bot.handoff.desk import Profile, QueueEntry, TranscriptLine
from bot.staff import StaffMember
from bot.store import Note, Ticket


def _time(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def ticket(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id, "person_id": t.person_id, "channel": t.channel, "sender_id": t.sender_id, "status": t.status,
        "team": t.team, "summary": t.summary, "assigned_staff_id": t.assigned_staff_id,
        "created_at": _time(t.created_at), "claimed_at": _time(t.claimed_at), "closed_at": _time(t.closed_at),
        "satisfaction": t.satisfaction,
    }  # fmt: skip


def queue_entry(e: QueueEntry) -> dict[str, Any]:
    return {**ticket(e.ticket), "wait_seconds": round(e.wait_seconds, 1), "assigned_name": e.assigned_name}


def note(n: Note) -> dict[str, Any]:
    return {
        "id": n.id, "ticket_id": n.ticket_id, "author_id": n.author_id, "author_name": n.author_name, "text": n.text,
        "created_at": _time(n.created_at),
    }  # fmt: skip


def line(item: TranscriptLine) -> dict[str, Any]:
    return {"who": item.who, "text": item.text, "at": item.at.isoformat(), "staff_name": item.staff_name}


def profile(p: Profile) -> dict[str, Any]:
    return {
        "person_id": p.person_id,
        "name": p.name,
        "tone": p.tone,
        "channels": [{"channel": c, "sender_id": s} for c, s in p.channels],
        "topics": list(p.topics),
        "tickets": [asdict(t) for t in p.tickets],
        "notes": [note(n) for n in p.notes],
    }


def staff(m: StaffMember) -> dict[str, Any]:
    return {"id": m.id, "email": m.email, "name": m.name, "role": m.role, "enabled": m.enabled}


def canned(c: CannedReply) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "text": c.text}
