"""The engines and units of work: SQLite pragmas and write locking, PostgreSQL pooling.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for every writing unit of
work, so writers queue instead of failing half-way.  PostgreSQL uses row locks taken by the queries.

Short units of work written as plain functions of a sync ``Connection`` go through :meth:`Database.run`.
On a SQLite file they run on a second, synchronous engine (stdlib ``sqlite3``, same file, same pragmas)
in one dedicated worker thread: one thread hop per unit of work instead of aiosqlite's three or four per
statement, writes kept in order and off the event loop.  Elsewhere they run through ``run_sync`` on the
async engine, with the same result.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, TypeVar

from sqlalchemy import create_engine, event, pool
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

from .records import InvalidInput

SQLITE_BUSY_TIMEOUT_MS = 15000
SQLITE_WORKER_CACHE_KIB = 64 * 1024
_READ_ONLY = "rapport_read_only"
T = TypeVar("T")


def async_url(url: str) -> str:
    """The URL with an async driver: ``sqlite://`` → aiosqlite, ``postgresql://`` → asyncpg."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with an unhelpful text
        raise InvalidInput(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise InvalidInput(f"the relationship store runs on SQLite or PostgreSQL, not {backend!r}")
    return parsed.render_as_string(hide_password=False)


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sync_sqlite_engine(path: Path) -> Engine:
    """The stdlib-``sqlite3`` engine for :meth:`Database.run`: one connection, used by one thread."""
    engine = create_engine(
        make_url("sqlite://").set(database=str(path)),
        future=True,
        poolclass=pool.QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_reset_on_return=None,
        # Only the worker thread uses the connection; closing it at shutdown may happen elsewhere.
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    _listen_sqlite(engine)
    event.listen(engine, "connect", _on_worker_connect)
    return engine


def _on_worker_connect(dbapi_connection: Any, _record: Any) -> None:
    # The hot path's one connection keeps the index pages of a million identities in memory.
    dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_WORKER_CACHE_KIB}")


def _listen_sqlite(engine: Engine) -> None:
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)


def set_sqlite_pragmas(dbapi_connection: Any) -> None:
    """WAL (readers in other processes never block the writer), NORMAL sync, foreign keys, busy timeout."""
    cursor = dbapi_connection.cursor()
    for statement in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(statement)
    cursor.close()


def _decode_text(value: bytes) -> str:
    """SQLite text as ``str``; bytes that are not UTF-8 (a lone surrogate an older version let in) become U+FFFD."""
    return value.decode("utf-8", "replace")


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to our "begin" hook instead of the driver's implicit BEGIN.
    dbapi_connection.isolation_level = None
    # One row that is not UTF-8 must not make every read of it fail (sqlite3's default decoder is strict).
    getattr(dbapi_connection, "driver_connection", dbapi_connection).text_factory = _decode_text
    set_sqlite_pragmas(dbapi_connection)


def _on_sqlite_begin(connection: Any) -> None:
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """The engine(s) plus the kinds of unit of work the store uses."""

    def __init__(self, engine: AsyncEngine, sync_engine: Engine | None = None) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sync_engine = sync_engine
        self._statements: dict[str, Any] = {}
        read_only = {_READ_ONLY: True}
        self._write = sessionmaker(engine, class_=AsyncSession, future=True, expire_on_commit=False)
        self._read = sessionmaker(
            engine.execution_options(**read_only), class_=AsyncSession, future=True, expire_on_commit=False
        )
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        runner: Any = sync_engine or engine
        self._run_engines = {True: runner, False: runner.execution_options(**read_only)}
        self._worker = None if sync_engine is None else ThreadPoolExecutor(1, thread_name_prefix="rapport-sqlite")

    @classmethod
    def connect(cls, url: str) -> Database:
        url = async_url(url)
        kwargs: dict[str, Any] = {"future": True}
        sync_engine = None
        if url.startswith("sqlite"):
            path = _sqlite_file(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                kwargs.update(poolclass=pool.AsyncAdaptedQueuePool, pool_size=5, max_overflow=20)
                # Units of work always end in COMMIT or ROLLBACK; a reset on return would cost a round trip.
                kwargs["pool_reset_on_return"] = None
                sync_engine = _sync_sqlite_engine(path)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            # No pre-ping: it would add a round trip to every checkout; a dropped connection fails one
            # unit of work and is replaced.  Prepared statements are cached per connection (asyncpg).
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=False)
        engine = create_async_engine(url, **kwargs)
        if engine.dialect.name == "sqlite":
            _listen_sqlite(engine.sync_engine)
        return cls(engine, sync_engine)

    def statement(self, key: str, build: Callable[[Database], Any]) -> Any:
        """A statement built once per database (hot paths skip rebuilding and re-hashing it)."""
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = build(self)
        return found

    def insert(self, table: Any) -> Any:
        """A dialect INSERT that knows ``on_conflict_do_update`` / ``do_nothing``."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A writing transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        async with self._write() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A reading transaction; never writes."""
        async with self._read() as session, session.begin():
            yield session

    @property
    def runs_on_sqlite3(self) -> bool:
        """Whether :meth:`run` hands its work a connection of the stdlib ``sqlite3`` driver."""
        return self._worker is not None

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection without BEGIN / COMMIT: each statement is its own transaction (PostgreSQL)."""
        async with self._autocommit.connect() as connection:
            yield connection

    async def run(self, work: Callable[[Connection], T], *, write: bool = True) -> T:
        """Run ``work(connection)`` as one transaction (``BEGIN IMMEDIATE`` when writing on SQLite).

        On a SQLite file it runs whole in the worker thread: one hop for the entire unit of work.
        Never call it from inside another unit of work: on SQLite it would wait for that one's lock.
        """
        if self._worker is not None:
            return await asyncio.get_running_loop().run_in_executor(self._worker, self._run_in_worker, work, write)
        async with self._run_engines[write].connect() as connection, connection.begin():
            return await connection.run_sync(work)

    def _run_in_worker(self, work: Callable[[Connection], T], write: bool) -> T:
        with self._run_engines[write].connect() as connection, connection.begin():
            return work(connection)

    def for_update(self, statement: Any, *, share: bool = False) -> Any:
        """Row locks on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers."""
        if self.is_sqlite:
            return statement
        return statement.with_for_update(read=share)

    async def dispose(self) -> None:
        if self._worker is not None and self._sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._worker, self._sync_engine.dispose)
            self._worker.shutdown(wait=False)
        await self.engine.dispose()
