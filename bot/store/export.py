"""Subject access and erasure: everything stored about a person, out as one document or gone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from . import consent as consent_store
from . import interests as interest_rule
from .engine import Database
from .merging import to_json
from .models import (
    advocacy,
    consent_events,
    content_engagement,
    fact_provenance,
    handoff_outbox,
    identities,
    interactions,
    interests,
    link_code_failures,
    link_codes,
    merge_log,
    persons,
    staff_notes,
    tickets,
)
from .persons import live_row
from .records import ErasureReport

EXPORT_FORMAT = "rapport.person/1"
_PERSON_FIELDS = ("id", "name", "tone", "language", "preferred_channel", "remembering", "created_at", "last_seen_at")


def _json(table: Table, row: Any, *, drop: tuple[str, ...] = ("person_id",)) -> dict[str, Any]:
    return {k: v for k, v in to_json(table, row).items() if k not in drop}


async def _all(session: AsyncSession, table: Table, person_id: int, order: str = "id") -> list[Any]:
    statement = select(table).where(table.c.person_id == person_id).order_by(table.c[order], table.c.id)
    return list(await session.execute(statement))


async def export(session: AsyncSession, db: Database, person_id: int, now: datetime) -> dict[str, Any]:
    """One JSON-serialisable document; facts carry their provenance (channel, how, purpose, when)."""
    row = await live_row(session, db, person_id)
    pid = row.id
    person = {k: v for k, v in to_json(persons, row).items() if k in _PERSON_FIELDS}
    provenance = {r.fact: _json(fact_provenance, r, drop=("id", "person_id", "fact")) for r in await _all(session, fact_provenance, pid)}
    person_identities = await _all(session, identities, pid)
    pairs = [(i.channel, i.sender_id) for i in person_identities]
    history = await consent_store.history(session, pid)
    tombstones = list((await session.execute(select(persons.c.id).where(persons.c.merged_into_id == pid))).scalars())
    ids = [pid, *tombstones]
    merges = await session.execute(
        select(merge_log).where(or_(merge_log.c.into_id.in_(ids), merge_log.c.from_id.in_(ids))).order_by(merge_log.c.id)
    )
    failures: list[Any] = []
    if pairs:
        failures = list(
            await session.execute(
                select(link_code_failures)
                .where(tuple_(link_code_failures.c.channel, link_code_failures.c.sender_id).in_(pairs))
                .order_by(link_code_failures.c.id)
            )
        )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "person": person,
        "provenance": provenance,
        "identities": [_json(identities, r) for r in person_identities],
        "interactions": [_json(interactions, r) for r in await _all(session, interactions, pid, "at")],
        "interests": [
            {**_json(interests, r), "strength": round(interest_rule.strength(r.weight, now), 6)}
            for r in await _all(session, interests, pid)
        ],
        "content": [_json(content_engagement, r) for r in await _all(session, content_engagement, pid)],
        "advocacy": [_json(advocacy, r) for r in await _all(session, advocacy, pid, "at")],
        "consent": {
            "current": consent_store.current(history),
            "history": [_json(consent_events, r) for r in history],
        },
        "tickets": [_json(tickets, r) for r in await _all(session, tickets, pid)],
        "notes": [_json(staff_notes, r) for r in await _all(session, staff_notes, pid)],
        "link_codes": [_json(link_codes, r, drop=("person_id", "code_hmac")) for r in await _all(session, link_codes, pid)],
        "link_code_failures": [_json(link_code_failures, r) for r in failures],
        "merged_person_ids": tombstones,
        "merges": [_json(merge_log, r, drop=()) for r in merges],
    }


async def erase(session: AsyncSession, db: Database, person_id: int) -> ErasureReport:
    """Delete every row naming the person, a person merged into them, or one of their identities."""
    row = await live_row(session, db, person_id, lock="update")
    pid = row.id
    tombstones = list((await session.execute(select(persons.c.id).where(persons.c.merged_into_id == pid))).scalars())
    ids = [pid, *tombstones]
    pairs = sorted({(i.channel, i.sender_id) for i in await _all(session, identities, pid)})
    ticket_filter = tickets.c.person_id.in_(ids)
    if pairs:
        ticket_filter = or_(ticket_filter, tuple_(tickets.c.channel, tickets.c.sender_id).in_(pairs))
    ticket_ids = list((await session.execute(select(tickets.c.id).where(ticket_filter))).scalars())
    pairs = sorted(
        set(pairs) | {(t.channel, t.sender_id) for t in await session.execute(select(tickets).where(tickets.c.id.in_(ticket_ids)))}
    )
    deleted: dict[str, int] = {}

    async def _delete(name: str, table: Table, condition: Any) -> None:
        result = await session.execute(delete(table).where(condition))
        deleted[name] = deleted.get(name, 0) + int(result.rowcount or 0)

    await _delete("staff_notes", staff_notes, or_(staff_notes.c.person_id.in_(ids), staff_notes.c.ticket_id.in_(ticket_ids)))
    await _delete("tickets", tickets, tickets.c.id.in_(ticket_ids))
    if pairs:
        await _delete(
            "link_code_failures",
            link_code_failures,
            tuple_(link_code_failures.c.channel, link_code_failures.c.sender_id).in_(pairs),
        )
    await _delete("merge_log", merge_log, or_(merge_log.c.into_id.in_(ids), merge_log.c.from_id.in_(ids)))
    for name, table in (
        ("link_codes", link_codes),
        ("consent_events", consent_events),
        ("advocacy", advocacy),
        ("interests", interests),
        ("content_engagement", content_engagement),
        ("interactions", interactions),
        ("fact_provenance", fact_provenance),
        ("identities", identities),
    ):
        await _delete(name, table, table.c.person_id.in_(ids))
    if pairs:
        # Staff replies to their conversations, delivered or waiting: a waiting one would otherwise
        # write the erased conversation back into Rasa's tracker when it is delivered.
        await _delete("handoff_outbox", handoff_outbox, handoff_outbox.c.sender_id.in_(sorted({s for _, s in pairs})))
    await _delete("persons", persons, and_(persons.c.id.in_(tombstones), persons.c.merged_into_id == pid))
    await _delete("persons", persons, persons.c.id == pid)
    return ErasureReport(person_id=pid, deleted=deleted, sender_ids=pairs)
