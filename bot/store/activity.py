"""What a person did with us: interactions, interests, content engagement, advocacy, retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from . import interests as interest_rule
from .models import UTCDateTime, advocacy, content_engagement, interactions, interests
from .records import Interaction, InteractionRecord, Interest, Source


def redact(text: str) -> str:
    from bot.redaction import redact

    return redact(text)


def record(connection: Connection | Session, person: Any, record: InteractionRecord) -> bool:
    """Store one validated interaction for the live person row ``person``; False when not remembering.

    Synchronous (async callers use ``await session.run_sync(record, person, interaction)``).
    """
    if not person.remembering:
        return False
    for statement, rows in turn_writes(person.id, record):
        connection.execute(statement, rows)
    return True


def turn_writes(person_id: int, record: InteractionRecord) -> list[tuple[Any, list[dict[str, Any]]]]:
    """What remembering one validated turn writes: (statement, parameter sets) in order.  Pure."""
    at = record.at
    assert at is not None
    writes: list[tuple[Any, list[dict[str, Any]]]] = [(_INTERACTION_INSERT, [{
        "person_id": person_id, "channel": record.channel, "at": at, "intent": record.intent,
        "topics": list(record.topics), "content_item": record.content_item, "content_type": record.content_type,
        "outcome": record.outcome, "satisfaction": record.satisfaction,
        "text": redact(record.text) if record.text else None,
    }])]  # fmt: skip
    if record.topics:
        writes.append(_interest_bumps(person_id, record.topics, Source(record.channel, "observed", "remember_me", at)))
    if record.content_item is not None:
        writes.append((_ENGAGE_UPSERT, [{
            "person_id": person_id, "item_id": record.content_item, "item_type": record.content_type,
            "count": 1, "first_at": at, "last_at": at, "channel": record.channel,
        }]))  # fmt: skip
    return writes


def _upsert(
    table: str, *, key: tuple[str, ...], columns: tuple[str, ...], added: tuple[str, ...], newer: str,
    if_newer: tuple[str, ...], times: tuple[str, ...],
) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE`` as text: same SQL on SQLite and PostgreSQL, and cached
    (SQLAlchemy 1.4 recompiles dialect upsert constructs on every execution)."""
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
        + on_conflict(table, key, added, newer, if_newer)
    )
    return text(sql).bindparams(*(bindparam(c, type_=UTCDateTime) for c in times))


def on_conflict(table: str, key: tuple[str, ...], added: tuple[str, ...], newer: str, if_newer: tuple[str, ...]) -> str:
    """The ON CONFLICT clause shared by the upserts: add counters, keep the newest values."""
    sets = [f"{c} = {table}.{c} + excluded.{c}" for c in added]
    sets += [
        f"{c} = CASE WHEN excluded.{newer} >= {table}.{newer} THEN excluded.{c} ELSE {table}.{c} END"
        for c in if_newer
    ]
    return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"


INTEREST_CONFLICT = dict(
    key=("person_id", "topic"), added=("weight", "mentions"), newer="last_mentioned_at",
    if_newer=("channel", "how", "purpose", "last_mentioned_at"),
)  # fmt: skip
ENGAGE_CONFLICT = dict(
    key=("person_id", "item_id"), added=("count",), newer="last_at", if_newer=("item_type", "channel", "last_at")
)


_INTERACTION_INSERT = interactions.insert()
_INTEREST_UPSERT = _upsert(
    "interests", columns=("person_id", "topic", "weight", "mentions", "last_mentioned_at", "channel", "how", "purpose"),
    times=("last_mentioned_at",), **INTEREST_CONFLICT,
)  # fmt: skip
_ENGAGE_UPSERT = _upsert(
    "content_engagement", columns=("person_id", "item_id", "item_type", "count", "first_at", "last_at", "channel"),
    times=("first_at", "last_at"), **ENGAGE_CONFLICT,
)  # fmt: skip


def _interest_bumps(person_id: int, topics: tuple[str, ...], source: Source) -> tuple[Any, list[dict[str, Any]]]:
    """Upsert every topic: add a mention's weight, keep the newest mention and its provenance."""
    at = source.at
    assert at is not None
    weight = interest_rule.mention_weight(at)
    rows = [
        {
            "person_id": person_id, "topic": topic, "weight": weight, "mentions": 1, "last_mentioned_at": at,
            "channel": source.channel, "how": source.how, "purpose": source.purpose,
        }  # fmt: skip
        for topic in topics
    ]
    return _INTEREST_UPSERT, rows


def to_interest(row: Any, now: datetime) -> Interest:
    return Interest(
        topic=row.topic,
        strength=interest_rule.strength(row.weight, now),
        last_mentioned_at=row.last_mentioned_at,
        source=Source(row.channel, row.how, row.purpose, row.last_mentioned_at),
    )


async def top_interests(session: AsyncSession, person_id: int, limit: int, now: datetime) -> list[Interest]:
    result = await session.execute(
        select(interests)
        .where(interests.c.person_id == person_id)
        .order_by(interests.c.weight.desc(), interests.c.topic)
        .limit(limit)
    )
    return [to_interest(row, now) for row in result]


async def seen_content(session: AsyncSession, person_id: int) -> set[str]:
    result = await session.execute(
        select(content_engagement.c.item_id).where(content_engagement.c.person_id == person_id)
    )
    return set(result.scalars())


def to_interaction(row: Any) -> Interaction:
    return Interaction(
        id=row.id,
        channel=row.channel,
        at=row.at,
        intent=row.intent,
        topics=tuple(row.topics or ()),
        content_item=row.content_item,
        content_type=row.content_type,
        outcome=row.outcome,
        satisfaction=row.satisfaction,
        text=row.text,
    )


async def history(session: AsyncSession, person_id: int, limit: int) -> list[Interaction]:
    result = await session.execute(
        select(interactions)
        .where(interactions.c.person_id == person_id)
        .order_by(interactions.c.at.desc(), interactions.c.id.desc())
        .limit(limit)
    )
    return [to_interaction(row) for row in result]


async def record_advocacy(
    session: AsyncSession, person_id: int, kind: str, source: Source, detail: str | None
) -> None:
    await session.execute(
        advocacy.insert().values(
            person_id=person_id, kind=kind, at=source.at, channel=source.channel, how=source.how,
            purpose=source.purpose, detail=detail,
        )  # fmt: skip
    )


async def purge(session: AsyncSession, older_than: timedelta, now: datetime) -> int:
    result = await session.execute(delete(interactions).where(interactions.c.at < now - older_than))
    return int(result.rowcount or 0)
