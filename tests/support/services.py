"""Reachability of the machine's services, and the rule for when they are missing."""

from __future__ import annotations

import os
import socket

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
