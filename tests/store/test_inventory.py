"""The privacy inventory covers the real schema, and export and erasure keep what it promises."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from bot.store import RelationshipStore
from bot.store import inventory
from bot.store.migrate import upgrade
from tests.support.people import SENDERS, everything as _everything

ROOT = Path(__file__).resolve().parents[2]


def _migrated_columns(tmp_path: Path) -> dict[str, list[str]]:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        found = inspect(engine)
        return {t: [c["name"] for c in found.get_columns(t)] for t in found.get_table_names() if t != "alembic_version"}
    finally:
        engine.dispose()


def test_every_column_of_every_table_is_in_the_inventory(tmp_path: Path) -> None:
    missing = [f"{table}.{column}" for table, columns in _migrated_columns(tmp_path).items()
               for column in columns if not inventory.covers(table, column)]
    assert not missing, f"declare these in bot/store/inventory.py (what, why, how long, exported, erased): {missing}"


def test_every_table_the_inventory_names_exists(tmp_path: Path) -> None:
    tables = _migrated_columns(tmp_path)
    for table, places in inventory.by_table().items():
        assert table in tables, f"inventory names a table the schema does not have: {table}"
        for place in places:
            if not place.whole_table:
                assert place.where.split(".", 1)[1] in tables[table], f"no such column: {place.where}"


async def test_the_export_has_a_section_for_every_exported_table(store: RelationshipStore) -> None:
    document = json.loads(json.dumps(await store.export_person(await _everything(store))))
    for table, places in inventory.by_table().items():
        if places[0].exported:
            section = inventory.EXPORT_SECTIONS.get(table)
            assert section is not None, f"{table} is marked exported but has no export section"
            assert document.get(section), f"the export has nothing under {section!r} for {table}"


async def test_after_forget_me_no_erased_table_has_a_row_of_the_person(store: RelationshipStore) -> None:
    person_id = await _everything(store)
    await store.erase_person(person_id)
    senders = [s for _, s in SENDERS]
    async with store.database.engine.connect() as connection:
        for table, places in inventory.by_table().items():
            if not places[0].erased:
                continue
            columns = {p.where.split(".", 1)[1] for p in places if not p.whole_table}
            if not columns:
                columns = {c["name"] for c in await connection.run_sync(lambda c: inspect(c).get_columns(table))}
            for column, values in (("person_id", [person_id]), ("sender_id", senders), ("into_id", [person_id])):
                if column in columns:
                    marks = ", ".join(f":v{i}" for i in range(len(values)))
                    count = (await connection.execute(text(f"SELECT count(*) FROM {table} WHERE {column} IN ({marks})"),
                                                      {f"v{i}": v for i, v in enumerate(values)})).scalar_one()
                    assert count == 0, f"{table}.{column} still has the person after forget me"


def test_the_readme_shows_the_inventory() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert inventory.markdown_table() in readme, "README's privacy table is out of date: paste inventory.markdown_table()"
