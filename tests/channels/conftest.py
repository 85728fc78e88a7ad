"""Channel tests use the suite's shared stack, whose providers point at the loopback fakes (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.fakes.base import FakeServers, Recorder


@pytest.fixture
def api(fakes: FakeServers) -> Recorder:
    return fakes.recorder
