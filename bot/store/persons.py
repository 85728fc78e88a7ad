"""Persons and their channel identities: resolve-or-create, look up, preferences with provenance."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable, TypeVar

from sqlalchemy import Boolean, Integer, String, bindparam, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from . import validation as check
from .engine import Database
from .models import UTCDateTime, fact_provenance, identities, persons
from .records import (
    DEFAULT_LANGUAGE,
    DEFAULT_REMEMBERING,
    DEFAULT_TONE,
    Identity,
    Person,
    PersonNotFound,
    Source,
)

_PERSON_COLUMNS = (
    "id", "name", "tone", "language", "preferred_channel", "remembering", "created_at", "last_seen_at",
    "merged_into_id",
)  # fmt: skip
_MAX_REDIRECTS = 32
_RETRIES = 5
T = TypeVar("T")


_BY_ID = select(persons).where(persons.c.id == bindparam("person_id"))
_IDENTITIES_OF = select(identities).where(identities.c.person_id == bindparam("person_id"))
_TOUCH = update(persons).where(persons.c.id == bindparam("person_id")).values(last_seen_at=bindparam("now"))
# SQLite ≥ 3.35: find, touch and read the person (identities as JSON) in one statement.
SQLITE_TOUCH = text(
    """
UPDATE persons SET last_seen_at = :now
WHERE id = (SELECT person_id FROM identities WHERE channel = :channel AND sender_id = :sender_id)
RETURNING id, name, tone, language, preferred_channel, remembering, created_at, last_seen_at, merged_into_id,
    (SELECT json_group_array(json_array(channel, sender_id, verified_by, verified_at))
     FROM identities WHERE person_id = persons.id) AS identities
"""
).bindparams(bindparam("now", type_=UTCDateTime)).columns(
    id=Integer, created_at=UTCDateTime, last_seen_at=UTCDateTime, merged_into_id=Integer
)


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


class RetryUnitOfWork(Exception):
    """Internal: a concurrent writer won a race; roll back and run the unit of work again."""


def to_person(row: Any, identity_rows: Iterable[Any], *, is_new: bool = False) -> Person:
    return Person(
        id=row.id,
        name=row.name,
        tone=row.tone,
        language=row.language,
        preferred_channel=row.preferred_channel,
        remembering=bool(row.remembering),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        identities=tuple(
            sorted(
                (Identity(i.channel, i.sender_id, i.verified_by, i.verified_at) for i in identity_rows),
                key=lambda i: (i.channel, i.sender_id),
            )
        ),
        is_new=is_new,
    )


async def live_row(session: AsyncSession, db: Database, person_id: int, *, lock: str | None = None) -> Any:
    """The person row for ``person_id``, following merge redirects; optionally row-locked.

    ``lock`` is None, "share" (writes that must not race a merge) or "update" (merges).
    """
    current = person_id
    statement = _BY_ID if lock is None else db.for_update(_BY_ID, share=lock == "share")
    for _ in range(_MAX_REDIRECTS):
        row = (await session.execute(statement, {"person_id": current})).first()
        if row is None:
            raise PersonNotFound(f"no person with id {person_id}")
        if row.merged_into_id is None:
            return row
        current = row.merged_into_id
    raise PersonNotFound(f"person {person_id} is in a merge cycle")  # pragma: no cover - defensive


async def identity_rows(session: AsyncSession, person_id: int) -> list[Any]:
    return list(await session.execute(_IDENTITIES_OF, {"person_id": person_id}))


async def load(session: AsyncSession, db: Database, person_id: int, *, lock: str | None = None) -> Person:
    row = await live_row(session, db, person_id, lock=lock)
    return to_person(row, await identity_rows(session, row.id))


async def find(session: AsyncSession, channel: str, sender_id: str) -> Person | None:
    owner = select(identities.c.person_id).where(
        identities.c.channel == channel, identities.c.sender_id == sender_id
    )
    row = (await session.execute(select(persons).where(persons.c.id == owner.scalar_subquery()))).first()
    if row is None:
        return None
    return to_person(row, await identity_rows(session, row.id))


PG_RESOLVE_CTES = """
WITH ex AS (
    SELECT person_id FROM identities WHERE channel = :channel AND sender_id = :sender_id
), touched AS (
    UPDATE persons p SET last_seen_at = :now FROM ex WHERE p.id = ex.person_id
    RETURNING p.id, p.name, p.tone, p.language, p.preferred_channel, p.remembering,
              p.created_at, p.last_seen_at, p.merged_into_id
), np AS (
    INSERT INTO persons (tone, language, remembering, created_at, last_seen_at)
    SELECT CAST(:tone AS VARCHAR), CAST(:language AS VARCHAR), :remembering, :now, :now
    WHERE :create AND NOT EXISTS (SELECT 1 FROM ex)
    RETURNING id, name, tone, language, preferred_channel, remembering,
              created_at, last_seen_at, merged_into_id
), ni AS (
    INSERT INTO identities (person_id, channel, sender_id, verified_by, created_at)
    SELECT np.id, :channel, :sender_id, 'channel', :now FROM np
    ON CONFLICT (channel, sender_id) DO NOTHING
    RETURNING person_id
)
"""
PG_RESOLVE_SELECT = """
SELECT t.*, false AS is_new, i.channel AS i_channel, i.sender_id AS i_sender_id,
       i.verified_by AS i_verified_by, i.verified_at AS i_verified_at
FROM touched t LEFT JOIN identities i ON i.person_id = t.id
UNION ALL
SELECT np.*, true, CAST(:channel AS VARCHAR), CAST(:sender_id AS VARCHAR), CAST('channel' AS VARCHAR),
       CAST(NULL AS TIMESTAMP WITH TIME ZONE)
FROM np JOIN ni ON ni.person_id = np.id
"""
PG_RESOLVE_PARAMS = (
    bindparam("channel", type_=String),
    bindparam("sender_id", type_=String),
    bindparam("now", type_=UTCDateTime),
    bindparam("tone", type_=String),
    bindparam("language", type_=String),
    bindparam("remembering", type_=Boolean),
    bindparam("create", type_=Boolean),
)
PG_RESOLVE_COLUMNS = dict(
    id=Integer, created_at=UTCDateTime, last_seen_at=UTCDateTime, merged_into_id=Integer, i_verified_at=UTCDateTime
)
_PG_RESOLVE = text(PG_RESOLVE_CTES + PG_RESOLVE_SELECT).bindparams(*PG_RESOLVE_PARAMS).columns(**PG_RESOLVE_COLUMNS)


class _IdentityView:
    __slots__ = ("channel", "sender_id", "verified_by", "verified_at")

    def __init__(self, row: Any) -> None:
        self.channel, self.sender_id = row.i_channel, row.i_sender_id
        self.verified_by, self.verified_at = row.i_verified_by, row.i_verified_at


async def resolve_postgres(
    session: AsyncSession, db: Database, channel: str, sender_id: str, create: bool, now: datetime
) -> Person:
    """One round trip: find-and-touch or create, race-safe through ON CONFLICT on the identity."""
    rows = list(await session.execute(_PG_RESOLVE, pg_resolve_params(channel, sender_id, create, now)))
    return await pg_resolved(session, db, rows, channel, sender_id, create, now)


def pg_resolve_params(channel: str, sender_id: str, create: bool, now: datetime) -> dict[str, Any]:
    return {
        "channel": channel, "sender_id": sender_id, "now": now, "tone": DEFAULT_TONE,
        "language": DEFAULT_LANGUAGE, "remembering": DEFAULT_REMEMBERING, "create": create,
    }  # fmt: skip


async def pg_resolved(
    session: AsyncSession, db: Database, rows: list[Any], channel: str, sender_id: str, create: bool, now: datetime
) -> Person:
    """The person from the rows of the resolve statement (following a merge that raced us)."""
    if not rows:
        if not create:
            raise PersonNotFound(f"no person known as {channel}:{sender_id}")
        raise RetryUnitOfWork("another request created this identity first")
    first = rows[0]
    if first.merged_into_id is not None:  # merged while we looked: follow the redirect
        row = await live_row(session, db, first.id)
        await session.execute(_TOUCH, {"person_id": row.id, "now": now})
        person = to_person(row, await identity_rows(session, row.id))
        return _with_last_seen(person, now)
    return pg_person(rows)


def pg_person(rows: list[Any]) -> Person:
    """The person from the rows of the resolve statement when it found (or made) a live person."""
    views = [_IdentityView(r) for r in rows if r.i_channel is not None]
    return to_person(rows[0], views, is_new=bool(rows[0].is_new))


def _with_last_seen(person: Person, now: datetime) -> Person:
    from dataclasses import replace

    return replace(person, last_seen_at=now)


def resolve_sqlite(connection: Connection, channel: str, sender_id: str, *, create: bool, now: datetime) -> Person:
    """Inside ``BEGIN IMMEDIATE`` nobody else writes, so look-then-insert is race-free.

    Synchronous: it runs whole in the SQLite worker thread (``Database.run``).
    """
    row = connection.execute(SQLITE_TOUCH, {"channel": channel, "sender_id": sender_id, "now": now}).first()
    if row is not None:
        return touched_person(row)
    if not create:
        raise PersonNotFound(f"no person known as {channel}:{sender_id}")
    person_id = _insert_person(connection, now)
    connection.execute(
        identities.insert().values(
            person_id=person_id, channel=channel, sender_id=sender_id, verified_by="channel", created_at=now
        )
    )
    row = connection.execute(_BY_ID, {"person_id": person_id}).one()
    return to_person(row, [Identity(channel, sender_id, "channel", None)], is_new=True)


def touched_person(row: Any) -> Person:
    """The person from a row of ``SQLITE_TOUCH`` (identities as a JSON array)."""
    return to_person(row, [Identity(c, s, v, _parse_time(t)) for c, s, v, t in json.loads(row.identities)])


def _insert_person(connection: Connection, now: datetime) -> int:
    result = connection.execute(
        persons.insert().values(
            tone=DEFAULT_TONE, language=DEFAULT_LANGUAGE, remembering=DEFAULT_REMEMBERING,
            created_at=now, last_seen_at=now,
        )  # fmt: skip
    )
    return int(result.inserted_primary_key[0])


async def resolve(db: Database, channel: str, sender_id: str, *, create: bool, now: datetime) -> Person:
    """Resolve-or-create as its own unit of work (retried on PostgreSQL when a racing insert won)."""
    if db.is_sqlite:
        return await db.run(lambda connection: resolve_sqlite(connection, channel, sender_id, create=create, now=now))
    return await retrying(db, lambda session: resolve_postgres(session, db, channel, sender_id, create, now))


async def retrying(db: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in a writing transaction, again when it raises ``RetryUnitOfWork``."""
    for attempt in range(_RETRIES):
        try:
            async with db.write() as session:
                return await work(session)
        except RetryUnitOfWork:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


async def provenance(session: AsyncSession, person_id: int) -> dict[str, Any]:
    """fact name -> provenance row, for the person's preference facts."""
    result = await session.execute(select(fact_provenance).where(fact_provenance.c.person_id == person_id))
    return {row.fact: row for row in result}


async def write_provenance(session: AsyncSession, db: Database, person_id: int, fact: str, source: Source) -> None:
    values = {
        "person_id": person_id, "fact": fact, "channel": source.channel, "how": source.how,
        "purpose": source.purpose, "learned_at": source.at,
    }  # fmt: skip
    statement = db.insert(fact_provenance).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["person_id", "fact"],
        set_={k: statement.excluded[k] for k in ("channel", "how", "purpose", "learned_at")},
    )
    await session.execute(statement)


async def update_preferences(
    session: AsyncSession, db: Database, person_id: int, source: Source, changes: dict[str, Any]
) -> Person:
    row = await live_row(session, db, person_id, lock="share")
    await session.execute(update(persons).where(persons.c.id == row.id).values(**changes))
    for fact in changes:
        await write_provenance(session, db, row.id, fact, source)
    return await load(session, db, row.id)


def check_preferences(
    name: str | None, tone: str | None, language: str | None, preferred_channel: str | None
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = check.name(name)
    if tone is not None:
        changes["tone"] = check.tone(tone)
    if language is not None:
        changes["language"] = check.language(language)
    if preferred_channel is not None:
        changes["preferred_channel"] = check.channel(preferred_channel, "preferred_channel")
    if not changes:
        raise check.InvalidInput("update_preferences needs at least one of name, tone, language, preferred_channel")
    return changes
