"""The engines and units of work: SQLite pragmas and write locking, PostgreSQL pooling.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for every writing unit of
work, so writers queue instead of failing half-way.  PostgreSQL uses row locks taken by the queries.
Every SQLite connection also zeroes what it deletes (``secure_delete``) and keeps its write-ahead log
small; after an erasure :func:`truncate_wal` empties the log, whose old page images would otherwise
keep the erased rows on disk until the log is reused.

Short units of work written as plain functions of a sync ``Connection`` go through :meth:`Database.run`.
On a SQLite file they run on a second, synchronous engine (stdlib ``sqlite3``, same file, same pragmas)
in one dedicated worker thread: one thread hop per unit of work instead of aiosqlite's three or four per
statement, writes kept in order and off the event loop.  Elsewhere they run through ``run_sync`` on the
async engine, with the same result.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
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
#: SQLite's default, set on every connection so that nothing can leave the WAL to grow unchecked:
#: after a commit that brings the WAL to 1000 pages (about 4 MiB of 4 KiB pages) it is copied back.
SQLITE_AUTOCHECKPOINT_PAGES = 1000
#: When the WAL restarts after a complete checkpoint it is cut back to this size.  Normal running
#: stays under it (the auto-checkpoint runs at about 3.9 MiB); a big transaction (a migration, a
#: retention purge) grows the file for a while, and the next restart gives the space back.
SQLITE_JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
#: A checkpoint that must wait for readers waits this long per try (readers hold snapshots for
#: milliseconds: the console's live feed and the turn recorder poll the tracker store) ...
CHECKPOINT_BUSY_TIMEOUT_MS = 100
#: ... and tries again after these pauses: at most about 1.2 s in all.
CHECKPOINT_PAUSES_S = (0.05, 0.1, 0.2, 0.3)
logger = logging.getLogger(__name__)
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
        hide_parameters=True,  # error messages (and so log lines) never quote a sender id or a message
        poolclass=pool.QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_reset_on_return=None,
        # Only the worker thread uses the connection; closing it at shutdown may happen elsewhere.
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    listen_sqlite(engine)
    event.listen(engine, "connect", _on_worker_connect)
    return engine


def _on_worker_connect(dbapi_connection: Any, _record: Any) -> None:
    # The hot path's one connection keeps the index pages of a million identities in memory.
    dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_WORKER_CACHE_KIB}")


def listen_sqlite(engine: Engine) -> None:
    """Our pragmas on every new connection, and ``BEGIN IMMEDIATE`` for writing transactions."""
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)


def set_sqlite_pragmas(dbapi_connection: Any) -> None:
    """The pragmas of every SQLite connection we open, on the relationship store and the tracker store.

    WAL (readers in other processes never block the writer), NORMAL sync, foreign keys, busy timeout;
    deleted rows overwritten with zeros, and a WAL that is checkpointed and kept small.
    """
    cursor = dbapi_connection.cursor()
    for statement in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA secure_delete=ON",
        f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT}",
        f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}",
    ):
        cursor.execute(statement)
    cursor.close()


def _decode_text(value: bytes) -> str:
    """SQLite text as ``str``; bytes that are not UTF-8 (a lone surrogate an older version let in) become U+FFFD."""
    return value.decode("utf-8", "replace")


@dataclass(frozen=True)
class Checkpoint:
    """The last row of ``PRAGMA wal_checkpoint(TRUNCATE)`` and how many tries it took."""

    busy: bool
    log_frames: int
    checkpointed_frames: int
    attempts: int

    @property
    def complete(self) -> bool:
        """The WAL was copied into the database and cut to zero bytes (or there is no WAL)."""
        return not self.busy


def truncate_wal(dbapi_connection: Any, name: str) -> Checkpoint:
    """Copy the WAL into the database file and cut it to zero bytes (stdlib ``sqlite3``, no open transaction).

    Old page images in the WAL are the last copy of rows just deleted.  A reader holding a snapshot
    blocks the truncation: each try waits ``CHECKPOINT_BUSY_TIMEOUT_MS``, and the tries stop after
    about a second.  Then, or when SQLite refuses the checkpoint, one log line (naming the database
    file ``name``, nothing else) says so and a later checkpoint empties the log instead: the rows
    are deleted either way, so the erasure goes on.  Blocking: call it in a thread.
    """
    result = Checkpoint(busy=True, log_frames=-1, checkpointed_frames=-1, attempts=0)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
        for attempt, pause in enumerate((*CHECKPOINT_PAUSES_S, None), start=1):
            busy, log_frames, checkpointed = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            result = Checkpoint(bool(busy), int(log_frames), int(checkpointed), attempt)
            if result.complete or pause is None:
                break
            time.sleep(pause)
    except sqlite3.OperationalError as exc:  # I/O or locking trouble: reported below, like a busy reader
        logger.warning("checkpoint of %s failed: %s", name, exc)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # the connection may be pooled
        cursor.close()
    if not result.complete:
        logger.warning(
            "the write-ahead log of %s could not be emptied (%d tries, %d of %d pages copied): "
            "erased rows stay in it until a later checkpoint",
            name, result.attempts, result.checkpointed_frames, result.log_frames,
        )
    return result


def truncate_wal_file(path: Path) -> Checkpoint:
    """:func:`truncate_wal` on a connection of its own to the SQLite file at ``path`` (blocking).

    The connection deletes nothing and WAL mode is kept in the file, so it needs none of our pragmas.
    """
    connection = sqlite3.connect(str(path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        return truncate_wal(connection, path.name)
    finally:
        connection.close()


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
        self._file = None if sync_engine is None else _sqlite_file(str(sync_engine.url))

    @classmethod
    def connect(cls, url: str) -> Database:
        url = async_url(url)
        # Error messages (and so log lines) never quote the values bound: sender ids, names, words.
        kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
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
            listen_sqlite(engine.sync_engine)
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

    async def truncate_wal(self) -> Checkpoint | None:
        """Empty the SQLite file's write-ahead log after deleting what must not stay on disk.

        Runs on a connection and a thread of its own, so neither the event loop nor the worker's
        units of work wait for it.  None when there is no WAL file (PostgreSQL, an in-memory SQLite).
        """
        if self._file is None:
            return None
        return await asyncio.to_thread(truncate_wal_file, self._file)

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
