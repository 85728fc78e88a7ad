"""One assistant for all channel tests, with every provider's API pointed at a loopback fake."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.fakes.base import FakeServers, Recorder
from tests.fakes.providers import provider_env, start_fakes
from tests.support.stack import Stack, start_stack


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeServers]:
    servers = start_fakes()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def stack(trained_model: Path, fakes: FakeServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Overrides the suite's ``stack`` here: the same `rapport up`, plus provider secrets and fake URLs."""
    running = start_stack(tmp_path_factory.mktemp("channel-stack"), **provider_env(fakes))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(fakes: FakeServers) -> Recorder:
    return fakes.recorder
