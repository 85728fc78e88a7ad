"""The per-turn hot path: resolve-or-create (channel, sender_id), touch and remember one turn.

SQLite: the whole unit of work is one synchronous function run in the store's SQLite worker thread
(``Database.run``), so a turn costs one thread hop; ``BEGIN IMMEDIATE`` makes look-then-insert safe.
A known person's turn executes the store's own statements (compiled once, named parameters) straight
on the ``sqlite3`` cursor inside that SQLAlchemy transaction: SQLAlchemy's per-statement bookkeeping
cost about six times what SQLite itself spends on the turn.  First contacts go the ordinary way.

PostgreSQL: ONE statement.  Data-modifying CTEs run to completion whether or not the final SELECT
reads them, so the interaction, interest and content upserts ride along with the resolve statement.
Nothing is written when the person is not remembering or was merged away while we looked.

A turn of a known person is that statement alone, as its own (autocommit) transaction: one round
trip, no BEGIN / COMMIT.  It also sets ``synchronous_commit = off`` for its own transaction only
(``set_config(..., true)`` is ``SET LOCAL`` inside the statement), so its COMMIT does not wait for the
WAL flush.  Trade-off: a crash of the database server (not of the bot or a connection) can lose the
turns of the last few hundred milliseconds (at most 3 × ``wal_writer_delay``), never corrupt or
half-apply one.  First contacts and turns that raced a merge take the ordinary transaction with a
durable commit, as does every other unit of work (consent, merges, erasure, links).
"""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import datetime
from typing import Any

from sqlalchemy import Float, SmallInteger, String, Text, bindparam, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from . import activity
from . import interests as interest_rule
from . import persons
from .engine import Database
from .models import UTCDateTime
from .records import InteractionRecord, Person

_RECORD_CTES = f"""
, who AS (
    SELECT id, remembering, merged_into_id FROM touched
    UNION ALL
    SELECT np.id, np.remembering, np.merged_into_id FROM np JOIN ni ON ni.person_id = np.id
), rec AS (
    INSERT INTO interactions (person_id, channel, at, intent, topics, content_item, content_type, outcome,
                              satisfaction, text)
    SELECT id, CAST(:r_channel AS VARCHAR), :at, CAST(:intent AS VARCHAR), CAST(:topics_json AS JSON),
           CAST(:content_item AS VARCHAR), CAST(:content_type AS VARCHAR), CAST(:outcome AS VARCHAR),
           CAST(:satisfaction AS SMALLINT), CAST(:text AS TEXT)
    FROM who WHERE remembering AND merged_into_id IS NULL
    RETURNING person_id
), bumped AS (
    INSERT INTO interests (person_id, topic, weight, mentions, last_mentioned_at, channel, how, purpose)
    SELECT rec.person_id, t.topic, :weight, 1, :at, CAST(:r_channel AS VARCHAR), 'observed', 'remember_me'
    FROM rec CROSS JOIN unnest(CAST(:topics AS VARCHAR[])) AS t(topic)
    {activity.on_conflict("interests", **activity.INTEREST_CONFLICT)}
    RETURNING 1
), engaged AS (
    INSERT INTO content_engagement (person_id, item_id, item_type, count, first_at, last_at, channel)
    SELECT rec.person_id, CAST(:content_item AS VARCHAR), CAST(:content_type AS VARCHAR), 1, :at, :at,
           CAST(:r_channel AS VARCHAR)
    FROM rec WHERE CAST(:content_item AS VARCHAR) IS NOT NULL
    {activity.on_conflict("content_engagement", **activity.ENGAGE_CONFLICT)}
    RETURNING 1
)
"""

_PARAMS = (
    *persons.PG_RESOLVE_PARAMS,
    bindparam("r_channel", type_=String),
    bindparam("at", type_=UTCDateTime),
    bindparam("intent", type_=String),
    bindparam("topics_json", type_=String),
    bindparam("topics", type_=ARRAY(String)),
    bindparam("content_item", type_=String),
    bindparam("content_type", type_=String),
    bindparam("outcome", type_=String),
    bindparam("satisfaction", type_=SmallInteger),
    bindparam("text", type_=Text),
    bindparam("weight", type_=Float),
)
_CTES = persons.PG_RESOLVE_CTES.rstrip() + _RECORD_CTES
_STATEMENT = text(_CTES + persons.PG_RESOLVE_SELECT).bindparams(*_PARAMS).columns(**persons.PG_RESOLVE_COLUMNS)
# Every row out means the statement wrote (touched the person at least), so the setting is in place
# before this transaction commits; with no row out nothing was written and nothing needs flushing.
_KNOWN_PERSON_TURN = (
    text(
        _CTES + "SELECT turn.*, set_config('synchronous_commit', 'off', true) AS commit_mode\n"
        f"FROM ({persons.PG_RESOLVE_SELECT}) AS turn"
    )
    .bindparams(*_PARAMS)
    .columns(**persons.PG_RESOLVE_COLUMNS)
)


async def resolve_and_record(
    db: Database, channel: str, sender_id: str, record: InteractionRecord, now: datetime
) -> Person:
    """One validated turn as one unit of work; the person as resolved (or created)."""
    if db.is_sqlite:
        turn = _sqlite_direct if db.runs_on_sqlite3 else _sqlite
        return await db.run(lambda connection: turn(connection, channel, sender_id, record, now))
    return await _postgres(db, channel, sender_id, record, now)


def _sqlite(connection: Connection, channel: str, sender_id: str, record: InteractionRecord, now: datetime) -> Person:
    """Any SQLite connection (in-memory databases run on the async engine)."""
    person = persons.resolve_sqlite(connection, channel, sender_id, create=True, now=now)
    activity.record(connection, person, record)
    return person


def _sqlite_direct(
    connection: Connection, channel: str, sender_id: str, record: InteractionRecord, now: datetime
) -> Person:
    """The same on the worker's plain ``sqlite3`` connection, known persons bypassing SQLAlchemy."""
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(_sqlite_sql(persons.SQLITE_TOUCH), _sqlite_params(channel=channel, sender_id=sender_id, now=now))
        found = cursor.fetchone()
        if found is None:  # first contact
            person = persons.resolve_sqlite(connection, channel, sender_id, create=True, now=now)
        else:
            person = _sqlite_person(found)
        if person.remembering:
            for statement, rows in activity.turn_writes(person.id, record):
                cursor.executemany(_sqlite_sql(statement, rows[0]), [_sqlite_params(**row) for row in rows])
        return person
    finally:
        cursor.close()


_NAMED_SQLITE = sqlite.dialect(paramstyle="named")
_SQLITE_TIME = UTCDateTime().dialect_impl(_NAMED_SQLITE)
_TO_SQLITE_TIME = _SQLITE_TIME.bind_processor(_NAMED_SQLITE)
_FROM_SQLITE_TIME = _SQLITE_TIME.result_processor(_NAMED_SQLITE, None)
_SQLITE_SQL: dict[tuple[int, tuple[str, ...]], str] = {}  # by id(): the statements are module constants


def _sqlite_sql(statement: Any, row: dict[str, Any] | None = None) -> str:
    """The statement's SQLite text with ``:name`` parameters, compiled once."""
    keys = tuple(row or ())
    found = _SQLITE_SQL.get((id(statement), keys))
    if found is None:
        compiled = statement.compile(dialect=_NAMED_SQLITE, column_keys=list(keys) or None)
        found = _SQLITE_SQL[(id(statement), keys)] = str(compiled)
    return found


def _sqlite_params(**values: Any) -> dict[str, Any]:
    """Values as the SQLAlchemy types store them on SQLite: UTC datetimes as text, lists as JSON."""
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = _TO_SQLITE_TIME(value)
        elif isinstance(value, list):
            values[key] = json.dumps(value)
    return values


_TouchedRow = namedtuple(
    "_TouchedRow",
    "id name tone language preferred_channel remembering created_at last_seen_at merged_into_id identities",
)


def _sqlite_person(found: tuple[Any, ...]) -> Person:
    row = _TouchedRow(*found)
    row = row._replace(created_at=_FROM_SQLITE_TIME(row.created_at), last_seen_at=_FROM_SQLITE_TIME(row.last_seen_at))
    return persons.touched_person(row)


async def _postgres(db: Database, channel: str, sender_id: str, record: InteractionRecord, now: datetime) -> Person:
    params = _turn_params(channel, sender_id, record, now)
    async with db.autocommit() as connection:
        rows = list(await connection.execute(_KNOWN_PERSON_TURN, {**params, "create": False}))
    if rows and rows[0].merged_into_id is None:
        return persons.pg_person(rows)
    # First contact, or merged away while we looked (nothing recorded yet): the ordinary transaction.
    return await persons.retrying(db, lambda session: _in_transaction(session, db, channel, sender_id, record, now, params))


async def _in_transaction(
    session: AsyncSession, db: Database, channel: str, sender_id: str, record: InteractionRecord, now: datetime,
    params: dict[str, Any],
) -> Person:  # fmt: skip
    rows = list(await session.execute(_STATEMENT, params))
    person = await persons.pg_resolved(session, db, rows, channel, sender_id, True, now)
    if rows and rows[0].merged_into_id is not None:  # merged while we looked: nothing was written yet
        await session.run_sync(activity.record, person, record)
    return person


def _turn_params(channel: str, sender_id: str, record: InteractionRecord, now: datetime) -> dict[str, Any]:
    at = record.at
    assert at is not None
    return {
        **persons.pg_resolve_params(channel, sender_id, True, now),
        "r_channel": record.channel, "at": at, "intent": record.intent, "topics_json": json.dumps(list(record.topics)),
        "topics": list(record.topics), "content_item": record.content_item, "content_type": record.content_type,
        "outcome": record.outcome, "satisfaction": record.satisfaction,
        "text": activity.redact(record.text) if record.text else None,
        "weight": interest_rule.mention_weight(at),
    }  # fmt: skip
