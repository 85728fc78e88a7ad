"""The PostgreSQL + Redis set-up: conversations in a PostgreSQL tracker store, locks in Redis."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from bot import settings as settings_module
from bot.launcher import endpoints_for
from tests.support.services import need, temporary_database
from tests.support.stack import Stack, start_stack

pytestmark = pytest.mark.services  # PostgreSQL (and Redis) on this machine



def test_endpoints_use_redis_lock_store_when_configured() -> None:
    base = settings_module.load()
    document = endpoints_for(base, settings_module.ScalingSettings("redis://:pw@10.1.2.3:6380/2"),
                             "lock_store:\n  type: in_memory\n")
    assert document["lock_store"] == {"type": "redis", "url": "10.1.2.3", "port": 6380, "db": 2, "password": "pw",
                                      "use_ssl": False, "key_prefix": "rapport"}
    assert document["action_endpoint"]["url"] == base.actions_url


def test_lock_store_url_must_be_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_LOCK_STORE_URL", "http://example.org")
    with pytest.raises(settings_module.SettingsError):
        settings_module.load_scaling()


@pytest.fixture(scope="module")
def scaled_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    need("PostgreSQL", "127.0.0.1", 5432)
    need("Redis", "127.0.0.1", 6379)
    with temporary_database("rapport_scaled") as name:
        stack = start_stack(
            tmp_path_factory.mktemp("scaled"),
            RAPPORT_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            RAPPORT_TRACKER_STORE_URL=f"postgresql://postgres@127.0.0.1:5432/{name}",
            RAPPORT_LOCK_STORE_URL="redis://127.0.0.1:6379/3",
        )
        try:
            yield stack, name
        finally:
            stack.stop()


def test_conversation_runs_on_postgresql_and_redis(scaled_stack: tuple[Stack, str]) -> None:
    import redis
    from sqlalchemy import create_engine, text

    stack, name = scaled_stack
    me = "scaled-" + uuid.uuid4().hex[:8]
    assert "Tessa" in "".join(r.get("text", "") for r in stack.say(me, "call me Tessa"))
    assert "£3.50" in "".join(r.get("text", "") for r in stack.say(me, "how much is delivery"))
    engine = create_engine(f"postgresql://postgres@127.0.0.1:5432/{name}")
    with engine.connect() as connection:
        events = connection.execute(text("select count(*) from events where sender_id = :s"), {"s": me}).scalar()
        person = connection.execute(
            text("select p.name from persons p join identities i on i.person_id = p.id where i.sender_id = :s"), {"s": me}
        ).scalar()
    engine.dispose()
    assert events and events > 4
    assert person == "Tessa"
    client = redis.Redis(host="127.0.0.1", port=6379, db=3)
    assert client.ping()
    endpoints = (stack.var_dir / "endpoints.yml").read_text(encoding="utf-8")
    assert "type: redis" in endpoints
