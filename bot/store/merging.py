"""Merging two persons into one, and undoing it — the SQL side; the rules live in ``merge_rules.py``.

Both person rows are locked in id order (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite writers are
already serialised by ``BEGIN IMMEDIATE``), so two merges, or a merge and a write, cannot interleave.
The merged-away person stays as a tombstone row pointing at the survivor, so ids callers still hold
keep working; the merge log keeps snapshots and moved row ids for ``undo``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import consent as consent_store
from . import merge_rules as rules
from .engine import Database
from .models import (
    UTCDateTime,
    advocacy,
    consent_events,
    content_engagement,
    fact_provenance,
    identities,
    interactions,
    interests,
    link_codes,
    merge_log,
    persons,
    staff_notes,
    tickets,
)
from .persons import load
from .records import PREFERENCE_FACTS, MergeError, MergeRecord, Person, PersonNotFound

#: Tables whose rows simply change owner; undo moves the recorded ids back.
MOVED_TABLES: dict[str, Table] = {
    "identities": identities,
    "interactions": interactions,
    "advocacy": advocacy,
    "consent_events": consent_events,
    "tickets": tickets,
    "staff_notes": staff_notes,
    "link_codes": link_codes,
}
#: Tables with one row per (person, key): rows with the same key are combined.
COMBINED_TABLES: dict[str, tuple[Table, str]] = {
    "interests": (interests, "topic"),
    "content_engagement": (content_engagement, "item_id"),
}
_CHUNK = 500


def to_json(table: Table, row: Any) -> dict[str, Any]:
    """A row as a JSON-safe dict (datetimes as ISO 8601 strings)."""
    values = dict(row._mapping)
    for column in table.columns:
        value = values.get(column.name)
        if isinstance(value, datetime):
            values[column.name] = value.isoformat()
    return values


def from_json(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    restored = dict(values)
    for column in table.columns:
        if isinstance(column.type, UTCDateTime) and isinstance(restored.get(column.name), str):
            restored[column.name] = datetime.fromisoformat(restored[column.name])
    return restored


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


async def _lock_pair(session: AsyncSession, db: Database, a: int, b: int) -> tuple[Any, Any]:
    """Lock both live person rows in id order, following merge redirects."""
    for _ in range(16):
        statement = db.for_update(select(persons).where(persons.c.id.in_({a, b})).order_by(persons.c.id))
        rows = {row.id: row for row in await session.execute(statement)}
        for wanted in (a, b):
            if wanted not in rows:
                raise PersonNotFound(f"no person with id {wanted}")
        if rows[a].merged_into_id is not None:
            a = rows[a].merged_into_id
        elif rows[b].merged_into_id is not None:
            b = rows[b].merged_into_id
        else:
            return rows[a], rows[b]
    raise MergeError("merge redirects do not settle")  # pragma: no cover - defensive


async def _ids(session: AsyncSession, table: Table, person_id: int) -> list[int]:
    result = await session.execute(select(table.c.id).where(table.c.person_id == person_id).order_by(table.c.id))
    return list(result.scalars())


async def _move(session: AsyncSession, table: Table, ids: list[int], owner: int, to: int) -> None:
    for chunk in _chunks(ids):
        await session.execute(
            update(table).where(table.c.id.in_(chunk), table.c.person_id == owner).values(person_id=to)
        )


async def _rows(session: AsyncSession, table: Table, person_id: int) -> list[Any]:
    return list(await session.execute(select(table).where(table.c.person_id == person_id).order_by(table.c.id)))


def _combined_values(table: Table, keep: Any, other: Any) -> dict[str, Any]:
    """The survivor's row after adding ``other`` (same topic / item) into ``keep``."""
    if table is interests:
        newer = other if other.last_mentioned_at > keep.last_mentioned_at else keep
        return {
            "weight": keep.weight + other.weight, "mentions": keep.mentions + other.mentions,
            "last_mentioned_at": newer.last_mentioned_at, "channel": newer.channel, "how": newer.how,
            "purpose": newer.purpose,
        }  # fmt: skip
    newer = other if other.last_at > keep.last_at else keep
    return {
        "count": keep.count + other.count, "first_at": min(keep.first_at, other.first_at),
        "last_at": newer.last_at, "channel": newer.channel, "item_type": newer.item_type,
    }  # fmt: skip


async def _combine(session: AsyncSession, name: str, into_id: int, from_id: int) -> dict[str, Any]:
    table, key = COMBINED_TABLES[name]
    mine = {row._mapping[key]: row for row in await _rows(session, table, into_id)}
    moved: list[int] = []
    combined: list[dict[str, Any]] = []
    for row in await _rows(session, table, from_id):
        keep = mine.get(row._mapping[key])
        if keep is None:
            moved.append(row.id)
            continue
        values = _combined_values(table, keep, row)
        await session.execute(update(table).where(table.c.id == keep.id).values(**values))
        await session.execute(delete(table).where(table.c.id == row.id))
        combined.append({"into": to_json(table, keep), "from": to_json(table, row), "after": to_json(table, _AsRow(values))})
    await _move(session, table, moved, from_id, into_id)
    return {"moved": moved, "combined": combined}


class _AsRow:
    def __init__(self, values: dict[str, Any]) -> None:
        self._mapping = values


async def merge(session: AsyncSession, db: Database, into_id: int, from_id: int, by: str, now: datetime) -> MergeRecord:
    into, other = await _lock_pair(session, db, into_id, from_id)
    if into.id == other.id:
        raise MergeError(f"persons {into_id} and {from_id} are already the same person")
    log_id = int(
        (await session.execute(merge_log.insert().values(into_id=into.id, from_id=other.id, by=by, at=now, data={})))
        .inserted_primary_key[0]
    )
    data: dict[str, Any] = {
        "into_person": to_json(persons, into),
        "from_person": to_json(persons, other),
        "into_provenance": [to_json(fact_provenance, r) for r in await _rows(session, fact_provenance, into.id)],
        "from_provenance": [to_json(fact_provenance, r) for r in await _rows(session, fact_provenance, other.id)],
    }
    into_consent = await consent_store.consents(session, into.id)
    from_consent = await consent_store.consents(session, other.id)

    moved: dict[str, list[int]] = {}
    for name, table in MOVED_TABLES.items():
        moved[name] = await _ids(session, table, other.id)
        await _move(session, table, moved[name], other.id, into.id)
    tombstones = list(
        (await session.execute(select(persons.c.id).where(persons.c.merged_into_id == other.id))).scalars()
    )
    if tombstones:
        await session.execute(update(persons).where(persons.c.id.in_(tombstones)).values(merged_into_id=into.id))
    data["moved"] = moved
    data["tombstones"] = tombstones
    data["combined"] = {name: await _combine(session, name, into.id, other.id) for name in COMBINED_TABLES}

    # Preferences: the documented rule picks, per fact, whose value survives.
    into_prov = {r["fact"]: r for r in data["into_provenance"]}
    from_prov = {r["fact"]: r for r in data["from_provenance"]}
    changes: dict[str, Any] = {}
    taken: list[str] = []
    for fact in PREFERENCE_FACTS:
        mine, theirs = into_prov.get(fact), from_prov.get(fact)
        winner = rules.preference_winner(_fact(into, mine, fact), _fact(other, theirs, fact))
        if winner == "from" and theirs is not None:
            changes[fact] = other._mapping[fact]
            taken.append(fact)
            values = from_json(fact_provenance, {k: v for k, v in theirs.items() if k != "id"})
            await session.execute(
                delete(fact_provenance).where(fact_provenance.c.person_id == into.id, fact_provenance.c.fact == fact)
            )
            await session.execute(fact_provenance.insert().values(**{**values, "person_id": into.id}))
    await session.execute(delete(fact_provenance).where(fact_provenance.c.person_id == other.id))
    data["taken"] = taken

    conflicts = rules.consent_conflicts(into_consent, from_consent)
    data["conflict_events"] = [
        await consent_store.add_event(session, into.id, purpose, "conflict", at=now, channel=None, how="merge", merge_id=log_id)
        for purpose in conflicts
    ]
    remember_me = rules.merged_consent(into_consent.get("remember_me"), from_consent.get("remember_me"))
    changes["remembering"] = rules.merged_remembering(remember_me, bool(into.remembering), bool(other.remembering))
    changes["created_at"] = min(into.created_at, other.created_at)
    changes["last_seen_at"] = max(into.last_seen_at, other.last_seen_at)
    await session.execute(update(persons).where(persons.c.id == into.id).values(**changes))
    await session.execute(
        update(persons).where(persons.c.id == other.id).values(merged_into_id=into.id, name=None, preferred_channel=None)
    )
    data["into_after"] = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()}
    await session.execute(update(merge_log).where(merge_log.c.id == log_id).values(data=data))
    counts = {name: len(ids) for name, ids in moved.items()}
    for name, result in data["combined"].items():
        counts[name] = len(result["moved"]) + len(result["combined"])
    return MergeRecord(id=log_id, into_id=into.id, from_id=other.id, by=by, at=now, moved=counts, conflicts=tuple(conflicts))


def _fact(row: Any, provenance: dict[str, Any] | None, fact: str) -> rules.FactValue:
    if provenance is None:
        return rules.FactValue(row._mapping[fact])
    return rules.FactValue(row._mapping[fact], provenance["how"], datetime.fromisoformat(provenance["learned_at"]))


async def undo(session: AsyncSession, db: Database, merge_id: int, now: datetime) -> tuple[Person, Person]:
    log = (await session.execute(db.for_update(select(merge_log).where(merge_log.c.id == merge_id)))).first()
    if log is None:
        raise MergeError(f"no merge with id {merge_id}")
    if log.undone_at is not None:
        raise MergeError(f"merge {merge_id} was already undone")
    statement = db.for_update(select(persons).where(persons.c.id.in_({log.into_id, log.from_id})).order_by(persons.c.id))
    rows = {row.id: row for row in await session.execute(statement)}
    into, other = rows.get(log.into_id), rows.get(log.from_id)
    if into is None or other is None:
        raise MergeError(f"merge {merge_id} cannot be undone: a person in it was erased")
    if into.merged_into_id is not None or other.merged_into_id != into.id:
        raise MergeError(f"merge {merge_id} cannot be undone: undo the later merges first")
    data = log.data
    merged_at = log.at

    before = from_json(persons, data["from_person"])
    await session.execute(update(persons).where(persons.c.id == other.id).values(**{k: v for k, v in before.items() if k != "id"}))
    if data["tombstones"]:
        await session.execute(
            update(persons)
            .where(persons.c.id.in_(data["tombstones"]), persons.c.merged_into_id == into.id)
            .values(merged_into_id=other.id)
        )
    for name, table in MOVED_TABLES.items():
        await _move(session, table, data["moved"][name], into.id, other.id)
    for name, (table, _key) in COMBINED_TABLES.items():
        await _uncombine(session, table, data["combined"][name], into.id, other.id)

    for values in data["from_provenance"]:
        await session.execute(fact_provenance.insert().values(**from_json(fact_provenance, values)))
    await _restore_preferences(session, data, into.id, merged_at)
    await session.execute(delete(consent_events).where(consent_events.c.merge_id == merge_id))
    await session.execute(update(merge_log).where(merge_log.c.id == merge_id).values(undone_at=now))
    return await load(session, db, into.id), await load(session, db, other.id)


async def _uncombine(session: AsyncSession, table: Table, result: dict[str, Any], into_id: int, from_id: int) -> None:
    await _move(session, table, result["moved"], into_id, from_id)
    count_column = "mentions" if table is interests else "count"
    for entry in result["combined"]:
        keep, theirs, after = entry["into"], entry["from"], entry["after"]
        current = (await session.execute(select(table).where(table.c.id == keep["id"]))).first()
        if current is not None:
            if current._mapping[count_column] == after[count_column]:
                values = from_json(table, keep)  # untouched since the merge: restore exactly
            else:
                values = {count_column: current._mapping[count_column] - theirs[count_column]}
                if table is interests:
                    values["weight"] = current.weight - theirs["weight"]
            await session.execute(update(table).where(table.c.id == keep["id"]).values(**{k: v for k, v in values.items() if k != "id"}))
        await session.execute(table.insert().values(**{**from_json(table, theirs), "person_id": from_id}))


async def _restore_preferences(session: AsyncSession, data: dict[str, Any], into_id: int, merged_at: datetime) -> None:
    """Give the survivor back its own preferences, except those changed after the merge."""
    current = {r.fact: r for r in await _rows(session, fact_provenance, into_id)}
    own = {r["fact"]: r for r in data["into_provenance"]}
    snapshot = from_json(persons, data["into_person"])
    values: dict[str, Any] = {"created_at": snapshot["created_at"]}
    for fact in [*data["taken"], "remembering"]:
        row = current.get(fact)
        if row is not None and row.learned_at > merged_at:
            continue  # said again after the merge: that stays
        values[fact] = snapshot[fact]
        await session.execute(
            delete(fact_provenance).where(fact_provenance.c.person_id == into_id, fact_provenance.c.fact == fact)
        )
        if fact in own:
            await session.execute(fact_provenance.insert().values(**from_json(fact_provenance, own[fact])))
    after_last_seen = datetime.fromisoformat(data["into_after"]["last_seen_at"])
    row = (await session.execute(select(persons.c.last_seen_at).where(persons.c.id == into_id))).scalar_one()
    if row == after_last_seen:
        values["last_seen_at"] = snapshot["last_seen_at"]
    await session.execute(update(persons).where(persons.c.id == into_id).values(**values))
