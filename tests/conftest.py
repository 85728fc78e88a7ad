"""Suite-wide fixtures: services, the trained model (once per run) and the running assistant."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

# The action package blocks TensorFlow (the action server never needs it) while tests of the Rasa
# process patches (bot/rasa/speed.py) import Rasa's action module, which needs it: import it first.
import rasa.core.actions.action  # noqa: E402,F401

from tests.support.services import require_services  # noqa: E402  (after the env default)
from tests.fakes.base import FakeServers  # noqa: E402
from tests.fakes.providers import provider_env, start_fakes  # noqa: E402
from tests.support.stack import SHOP_SITE_PORT, Stack, start_stack  # noqa: E402


#: Markers by cost, set from what a test uses, so the inner loop is `pytest -m "not stack and not browser"`.
_STACK_FIXTURES = {"stack", "trained_model"}
_BROWSER_FIXTURES = {"browser", "context"}
_SERVICE_FIXTURES = {"postgres_url", "redis_url"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & _STACK_FIXTURES:
            item.add_marker(pytest.mark.stack)
        if used & _BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if used & _SERVICE_FIXTURES or params.get("backend") == "postgres":
            item.add_marker(pytest.mark.services)
        if "tests/assistant/" in item.nodeid:
            item.add_marker(pytest.mark.rasa_cli)


def pytest_report_header(config: pytest.Config) -> str:
    strict = "on" if require_services() else "off"
    return f"rapport: RAPPORT_REQUIRE_SERVICES={strict} (unreachable services {'fail' if strict == 'on' else 'skip'})"


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current data and config, trained at most once per run."""
    from bot import settings as settings_module
    from bot.nlp import pipeline
    from bot.training import ensure_model

    settings = settings_module.load()
    pipeline.ensure_built(settings.nlp_model_dir, settings.entity_patterns)
    return ensure_model(settings).path


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeServers]:
    """Loopback fakes of Telegram's, Slack's, Twilio's and Messenger's HTTP APIs."""
    servers = start_fakes()
    try:
        yield servers
    finally:
        servers.stop()


#: The shared stack is staffed around the clock so handoff tests do not depend on the hour;
#: closed hours are tested on the actions directly.
ALWAYS_STAFFED = "mon-sun 00:00-24:00"


@pytest.fixture(scope="session")
def stack(trained_model: Path, fakes: FakeServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant started by `rapport up` on SQLite, every provider pointed at its fake."""
    running = start_stack(tmp_path_factory.mktemp("stack"), RAPPORT_STAFFED_HOURS=ALWAYS_STAFFED,
                          RAPPORT_WEBCHAT_ALLOWED_ORIGINS=f"http://127.0.0.1:{SHOP_SITE_PORT}",
                          **provider_env(fakes))
    try:
        yield running
    finally:
        running.stop()
