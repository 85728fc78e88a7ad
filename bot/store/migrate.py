"""Schema migrations, driven from code: ``upgrade(url)`` for the CLI, ``upgrade_on(engine)`` for the store.

No ``alembic.ini`` is needed; the environment lives in ``bot/store/migrations``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade_connection(connection: Any, revision: str) -> None:
    command.upgrade(alembic_config(connection=connection), revision)


def _current_revision(connection: Any) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_on(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database of ``engine`` to ``revision`` (skipped when already at head)."""
    if revision == "head":
        async with engine.connect() as connection:
            if await connection.run_sync(_current_revision) == head_revision():
                return
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_connection, revision)


async def current_revision_on(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def _upgrade_url(url: str, revision: str) -> str | None:
    database = Database.connect(url)
    try:
        await upgrade_on(database.engine, revision)
        return await current_revision_on(database.engine)
    finally:
        await database.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> str | None:
    """Migrate the database at ``url`` (default: the configured store) and return its revision.

    Synchronous, for the CLI and scripts; inside a running event loop use :func:`upgrade_on`.
    """
    if url is None:
        from bot import settings

        url = settings.load().database_url
    return asyncio.run(_upgrade_url(url, revision))
