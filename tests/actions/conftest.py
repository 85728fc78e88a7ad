"""Action tests: real actions against a real SQLite store, trackers built from JSON fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
async def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh SQLite store for the actions, and the settings pointing at it."""

    monkeypatch.setenv("RAPPORT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}")
    monkeypatch.setenv("RAPPORT_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("RAPPORT_IDENTITY_SECRET", "test-identity-secret")
    monkeypatch.setenv("RAPPORT_STAFFED_HOURS", "mon-sun 00:00-24:00")
    await context.reset_store()
    handle = await context.store()
    yield handle
    await context.reset_store()


def tracker_from(name: str, **changes: Any) -> Tracker:
    """A tracker from tests/actions/fixtures/<name>.json, with top-level keys replaced."""
    state = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    state.update(changes)
    return Tracker(
        sender_id=state["sender_id"], slots=state.get("slots", {}), latest_message=state.get("latest_message", {}),
        events=state.get("events", []), paused=state.get("paused", False), followup_action=None,
        active_loop=state.get("active_loop", {}), latest_action_name=state.get("latest_action_name"),
    )


def user_turn(text: str, intent: str, *, channel: str = "rest", entities: list[dict] | None = None,
              metadata: dict | None = None) -> dict[str, Any]:
    meta = {"rapport_channel": channel, **(metadata or {})}
    return {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or [],
            "metadata": meta}


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


DOMAIN: dict[str, Any] = {}


# Rasa's HTTP API, recording every call: the console tests' fake, shared.
from tests.console.conftest import fake_rasa  # noqa: E402,F401
