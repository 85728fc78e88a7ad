"""Consent per purpose as an append-only history; the newest row of a purpose is its state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .engine import Database
from .models import consent_events, persons
from .persons import write_provenance
from .records import Source

REMEMBER_ME = "remember_me"


async def add_event(
    session: AsyncSession,
    person_id: int,
    purpose: str,
    state: str,
    *,
    at: Any,
    channel: str | None,
    how: str,
    merge_id: int | None = None,
) -> int:
    result = await session.execute(
        consent_events.insert().values(
            person_id=person_id, purpose=purpose, state=state, at=at, channel=channel, how=how, merge_id=merge_id
        )
    )
    return int(result.inserted_primary_key[0])


async def set_consent(
    session: AsyncSession, db: Database, person_id: int, purpose: str, granted: bool, source: Source
) -> None:
    """Append the person's decision; "remember_me" also switches the person's ``remembering`` flag."""
    state = "granted" if granted else "withdrawn"
    await add_event(session, person_id, purpose, state, at=source.at, channel=source.channel, how=source.how)
    if purpose == REMEMBER_ME:
        await session.execute(update(persons).where(persons.c.id == person_id).values(remembering=granted))
        await write_provenance(session, db, person_id, "remembering", source)


async def history(session: AsyncSession, person_id: int) -> list[Any]:
    result = await session.execute(
        select(consent_events)
        .where(consent_events.c.person_id == person_id)
        .order_by(consent_events.c.at, consent_events.c.id)
    )
    return list(result)


def current(rows: list[Any]) -> dict[str, str]:
    """purpose -> state of the newest row (rows ordered oldest first)."""
    states: dict[str, str] = {}
    for row in rows:
        states[row.purpose] = row.state
    return states


async def consents(session: AsyncSession, person_id: int) -> dict[str, str]:
    return current(await history(session, person_id))
