"""Reachability of the machine's services, and the rule for when they are missing."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from typing import Iterator

import pytest


def require_services() -> bool:
    """`.ci/run` sets RAPPORT_REQUIRE_SERVICES=1: a missing service is then a failure, not a skip."""
    return os.environ.get("RAPPORT_REQUIRE_SERVICES", "0") == "1"


def reachable(host: str, port: int, timeout: float = 1.0) -> str | None:
    """None when a TCP connection succeeds, else the error text."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return str(exc)


def need(service: str, host: str, port: int) -> None:
    """Skip (or fail, under RAPPORT_REQUIRE_SERVICES=1) when a service is unreachable."""
    error = reachable(host, port)
    if error is None:
        return
    message = f"{service} not reachable at {host}:{port}: {error}"
    if require_services():
        pytest.fail(message + " (RAPPORT_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _pg_admin(statement: str) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    asyncio.run(run())


@contextlib.contextmanager
def temporary_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one fixture, dropped afterwards whatever happened."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
