"""Fixtures: every store test runs on a SQLite file and on the real PostgreSQL server.

PostgreSQL gets one fresh database per test session (migrated once) and every table truncated
before each test; SQLite gets a copy of a migrated template file per test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest
from sqlalchemy.engine import make_url

from bot.store import RelationshipStore
from bot.store.migrate import upgrade

PG_URL = os.environ.get("RAPPORT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SECRET = "test-link-code-secret"
BACKENDS = ("sqlite", "postgres")


async def _pg_admin(url: str, statement: str) -> None:
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database or "postgres",
        timeout=5,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"rapport_store_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        asyncio.run(_pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection failure means "not reachable"
        message = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if os.environ.get("RAPPORT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(_pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the backend under test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "rapport.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_pg_admin(url, _TRUNCATE_ALL))
    return url


# Every table but the migration marker: the store's, the console's (outbox, staff) and any a test added
# (Rasa's ``events``), so that a test reading every table sees only its own rows.
_TRUNCATE_ALL = """
DO $$
DECLARE names text;
BEGIN
    SELECT string_agg(format('%I', tablename), ', ') INTO names
    FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version';
    IF names IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE';
    END IF;
END $$
"""


@pytest.fixture
def link_secret() -> str:
    return SECRET


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RelationshipStore]:
    opened = await RelationshipStore.open(store_url, link_code_secret=SECRET)
    try:
        yield opened
    finally:
        await opened.close()
