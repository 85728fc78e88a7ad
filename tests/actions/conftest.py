"""Action tests: real actions against a real SQLite store, trackers built from JSON fixtures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text

from actions import storage

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
async def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh SQLite store for the actions, and the settings pointing at it."""

    monkeypatch.setenv("RAPPORT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}")
    monkeypatch.setenv("RAPPORT_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("RAPPORT_IDENTITY_SECRET", "test-identity-secret")
    monkeypatch.setenv("RAPPORT_STAFFED_HOURS", "mon-sun 00:00-24:00")
    await storage.reset_store()
    handle = await storage.store()
    yield handle
    await storage.reset_store()


@pytest.fixture(scope="session")
def postgres_database() -> Any:
    """A fresh, migrated PostgreSQL database for this session's action tests (skipped without the server)."""
    import asyncio
    import uuid

    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.store.migrate import upgrade
    from tests.support.services import need

    need("PostgreSQL", "127.0.0.1", 5432)
    name = f"rapport_actions_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    upgrade(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    yield name
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture()
async def pg_store_env(postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The actions' store on PostgreSQL behind a TCP proxy the test can cut; yields (store, proxy)."""
    from tests.support.tcp_proxy import TcpProxy

    proxy = TcpProxy("127.0.0.1", 5432).start()
    monkeypatch.setenv("RAPPORT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{postgres_database}")
    monkeypatch.setenv("RAPPORT_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("RAPPORT_IDENTITY_SECRET", "test-identity-secret")
    monkeypatch.setattr(storage, "_store_lock", asyncio.Lock())
    await storage.reset_store()
    handle = await storage.store()
    async with handle.database.write() as session:
        await session.execute(text("TRUNCATE turn_recorder, persons RESTART IDENTITY CASCADE"))
    yield handle, proxy
    await storage.reset_store()
    proxy.close()


def tracker_from(name: str, **changes: Any) -> Tracker:
    """A tracker from tests/actions/fixtures/<name>.json, with top-level keys replaced."""
    state = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    state.update(changes)
    return Tracker(
        sender_id=state["sender_id"], slots=state.get("slots", {}), latest_message=state.get("latest_message", {}),
        events=state.get("events", []), paused=state.get("paused", False), followup_action=None,
        active_loop=state.get("active_loop", {}), latest_action_name=state.get("latest_action_name"),
    )


def user_turn(text: str, intent: str, *, channel: str = "rest", entities: list[dict] | None = None,
              metadata: dict | None = None) -> dict[str, Any]:
    meta = {"rapport_channel": channel, **(metadata or {})}
    return {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or [],
            "metadata": meta}


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


DOMAIN: dict[str, Any] = {}


# Rasa's HTTP API, recording every call: the console tests' fake, shared.
from tests.console.conftest import fake_rasa  # noqa: E402,F401
