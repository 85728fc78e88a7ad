from __future__ import annotations

import argparse
import asyncio
import io
import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store import InteractionRecord, RelationshipStore, Source
from bot.store.cli import add_store_commands
from bot.store.engine import Database
from bot.store.migrate import head_revision, upgrade
from bot.store.models import metadata


def _diff(connection) -> list:  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(
        connection, opts={"compare_type": True}  # every table the migrations make, no exclusions
    )
    return compare_metadata(context, metadata)


async def _compare(url: str) -> tuple[list, str | None]:
    database = Database.connect(url)
    try:
        async with database.engine.connect() as connection:
            diff = await connection.run_sync(_diff)
            revision = await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        return diff, revision
    finally:
        await database.dispose()


def test_migrations_build_the_schema_of_the_models_from_empty(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'store.db'}"
    assert upgrade(url) == head_revision()
    assert upgrade(url) == head_revision()  # idempotent
    assert asyncio.run(_compare(url)) == ([], head_revision())


def test_models_match_migrations(store_url: str) -> None:
    assert asyncio.run(_compare(store_url)) == ([], head_revision())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapport")
    add_store_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(argv: list[str], **kw) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    args = _parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    code = args.handler(args, out, err, **kw)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store_url: str, link_secret: str) -> str:
    monkeypatch.setenv("RAPPORT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RAPPORT_LINK_CODE_SECRET", link_secret)
    monkeypatch.setenv("RAPPORT_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    return store_url


async def _seed(url: str) -> int:
    store = await RelationshipStore.open(url)
    try:
        person = await store.resolve_person("web", "cli-user")
        await store.update_preferences(person.id, source=Source("web"), name="Cleo")
        await store.record_interaction(person.id, InteractionRecord("web", intent="hi", topics=("setup",)))
        return person.id
    finally:
        await store.close()


def test_cli_upgrade_show_export_forget_and_purge(cli_env: str) -> None:
    assert _run(["db", "upgrade", "--url", cli_env])[0] == 0
    asyncio.run(_seed(cli_env))
    code, out, _ = _run(["people", "show", "--channel", "web", "--sender", "cli-user", "--url", cli_env])
    assert code == 0 and json.loads(out)["name"] == "Cleo"
    code, out, _ = _run(["people", "export", "--channel", "web", "--sender", "cli-user", "--url", cli_env])
    assert code == 0 and json.loads(out)["interactions"][0]["intent"] == "hi"
    code, out, _ = _run(["retention", "purge", "--days", "30", "--url", cli_env])
    assert code == 0 and json.loads(out)["deleted_interactions"] == 0
    code, _, err = _run(["people", "forget", "--channel", "web", "--sender", "cli-user", "--url", cli_env], ask=lambda _: "no")
    assert code == 1 and "not confirmed" in err
    code, out, _ = _run(["people", "forget", "--channel", "web", "--sender", "cli-user", "--url", cli_env], ask=lambda _: "yes")
    assert code == 0 and json.loads(out)["sender_ids"] == [["web", "cli-user"]]
    code, _, err = _run(["people", "show", "--channel", "web", "--sender", "cli-user", "--url", cli_env])
    assert code == 1 and "no person" in err


def test_cli_bad_input_exits_2(cli_env: str) -> None:
    code, _, err = _run(["people", "show", "--channel", "Not A Channel", "--sender", "x", "--url", cli_env])
    assert code == 2 and "channel" in err
    assert _run(["retention", "purge", "--days", "-1", "--url", cli_env])[0] == 2
    assert _run(["db", "upgrade", "--url", "mysql://nope"])[0] == 2


def test_every_table_of_ours_is_in_the_one_metadata() -> None:
    """One schema: no module but bot/store/models.py makes a MetaData (bot/tracker_events.py describes Rasa's table)."""
    import re

    root = Path(__file__).resolve().parents[2]
    allowed = {root / "bot" / "store" / "models.py", root / "bot" / "tracker_events.py"}
    makers = [str(p.relative_to(root)) for folder in ("bot", "actions") for p in (root / folder).rglob("*.py")
              if p not in allowed and "migrations" not in p.parts and re.search(r"\bMetaData\(", p.read_text(encoding="utf-8"))]
    assert makers == [], f"tables outside bot/store/models.py: {makers}"
