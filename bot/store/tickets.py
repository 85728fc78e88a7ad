"""Handoff tickets (a conversation waiting for, or with, a person) and staff notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from .engine import Database
from .models import staff_notes, tickets
from .persons import live_row
from .records import OPEN_TICKET_STATUSES, Note, Ticket, TicketConflict, TicketNotFound

_OPEN = tickets.c.status.in_(OPEN_TICKET_STATUSES)
_OPEN_LITERAL = text("status IN (" + ", ".join(f"'{s}'" for s in OPEN_TICKET_STATUSES) + ")")


def to_ticket(row: Any) -> Ticket:
    return Ticket(
        id=row.id,
        person_id=row.person_id,
        channel=row.channel,
        sender_id=row.sender_id,
        status=row.status,
        team=row.team,
        summary=row.summary,
        assigned_staff_id=row.assigned_staff_id,
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        closed_at=row.closed_at,
        satisfaction=row.satisfaction,
    )


def to_note(row: Any) -> Note:
    return Note(
        id=row.id,
        person_id=row.person_id,
        ticket_id=row.ticket_id,
        author_id=row.author_id,
        author_name=row.author_name,
        text=row.text,
        created_at=row.created_at,
    )


def _found(row: Any, ticket_id: int) -> Any:
    if row is None:
        raise TicketNotFound(f"no ticket with id {ticket_id}")
    return row


async def get(session: AsyncSession, ticket_id: int, *, db: Database | None = None) -> Any:
    statement = select(tickets).where(tickets.c.id == ticket_id)
    if db is not None:
        statement = db.for_update(statement)
    return _found((await session.execute(statement)).first(), ticket_id)


def read(connection: Connection, ticket_id: int) -> Ticket:
    """One ticket, as a unit of work for :meth:`Database.run` (every desk request reads one)."""
    return to_ticket(_found(connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first(), ticket_id))


async def open_for(session: AsyncSession, channel: str, sender_id: str) -> Any | None:
    result = await session.execute(
        select(tickets).where(tickets.c.channel == channel, tickets.c.sender_id == sender_id, _OPEN)
    )
    return result.first()


async def create(
    session: AsyncSession, db: Database, *, person_id: int, channel: str, sender_id: str, team: str, summary: str, now: datetime
) -> Ticket:
    """A waiting ticket, or the open one this conversation already has (the partial unique index decides)."""
    person = await live_row(session, db, person_id, lock="share")
    statement = db.insert(tickets).values(
        person_id=person.id, channel=channel, sender_id=sender_id, status="waiting", team=team, summary=summary,
        created_at=now,
    )  # fmt: skip
    await session.execute(
        statement.on_conflict_do_nothing(
            # Literal values: PostgreSQL matches a partial index only by a predicate it can read,
            # not one with bound parameters.
            index_elements=["channel", "sender_id"], index_where=_OPEN_LITERAL,
        )
    )
    row = await open_for(session, channel, sender_id)
    assert row is not None
    return to_ticket(row)


async def list_(session: AsyncSession, status: str | None, limit: int) -> list[Ticket]:
    statement = select(tickets).order_by(tickets.c.created_at, tickets.c.id).limit(limit)
    if status is not None:
        statement = statement.where(tickets.c.status == status)
    return [to_ticket(row) for row in await session.execute(statement)]


async def claim(session: AsyncSession, ticket_id: int, staff_id: int, now: datetime) -> Ticket:
    """Compare-and-set waiting → claimed: of two concurrent claims exactly one updates a row."""
    result = await session.execute(
        update(tickets)
        .where(tickets.c.id == ticket_id, tickets.c.status == "waiting")
        .values(status="claimed", assigned_staff_id=staff_id, claimed_at=now)
    )
    row = await get(session, ticket_id)
    if result.rowcount != 1:
        raise TicketConflict(f"ticket {ticket_id} is {row.status}, it cannot be claimed")
    return to_ticket(row)


async def transfer(
    session: AsyncSession, db: Database, ticket_id: int, staff_id: int | None, team: str | None, now: datetime
) -> Ticket:
    """To another staff member (claimed by them) and/or team (back to waiting if no one is named)."""
    row = await get(session, ticket_id, db=db)
    if row.status == "closed":
        raise TicketConflict(f"ticket {ticket_id} is closed")
    values: dict[str, Any] = {}
    if team is not None:
        values["team"] = team
    if staff_id is not None:
        values.update(status="claimed", assigned_staff_id=staff_id, claimed_at=now)
    else:
        values.update(status="waiting", assigned_staff_id=None, claimed_at=None)
    await session.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))
    return to_ticket(await get(session, ticket_id))


async def close(session: AsyncSession, db: Database, ticket_id: int, now: datetime) -> Ticket:
    row = await get(session, ticket_id, db=db)
    if row.status != "closed":
        await session.execute(update(tickets).where(tickets.c.id == ticket_id).values(status="closed", closed_at=now))
    return to_ticket(await get(session, ticket_id))


async def rate(session: AsyncSession, ticket_id: int, satisfaction: int) -> Ticket:
    await get(session, ticket_id)
    await session.execute(update(tickets).where(tickets.c.id == ticket_id).values(satisfaction=satisfaction))
    return to_ticket(await get(session, ticket_id))


async def add_note(
    session: AsyncSession,
    db: Database,
    *,
    person_id: int,
    author_id: int,
    author_name: str,
    text: str,
    ticket_id: int | None,
    now: datetime,
) -> Note:
    person = await live_row(session, db, person_id, lock="share")
    if ticket_id is not None:
        await get(session, ticket_id)
    result = await session.execute(
        staff_notes.insert().values(
            person_id=person.id, ticket_id=ticket_id, author_id=author_id, author_name=author_name, text=text,
            created_at=now,
        )  # fmt: skip
    )
    note_id = int(result.inserted_primary_key[0])
    return to_note((await session.execute(select(staff_notes).where(staff_notes.c.id == note_id))).one())


async def notes(session: AsyncSession, person_id: int) -> list[Note]:
    result = await session.execute(
        select(staff_notes).where(staff_notes.c.person_id == person_id).order_by(staff_notes.c.created_at, staff_notes.c.id)
    )
    return [to_note(row) for row in result]
