"""The outbox's log lines name a conversation by its pseudonym and a failed call by Rasa's status only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.handoff.outbox import MAX_ATTEMPTS_ON_ERROR, Outbox
from bot.rasa_client import RasaClient
from bot.identity import pseudonym
from bot.store import RelationshipStore
from tests.console.conftest import FakeRasa, fake_rasa  # noqa: F401 - the fixture


async def test_a_call_rasa_refuses_is_logged_by_pseudonym_and_status_only(
    fake_rasa: FakeRasa, tmp_path: Path, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    store = await RelationshipStore.open(f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}", link_code_secret="s")
    rasa = RasaClient(f"http://127.0.0.1:{fake_rasa.port}", "a-wrong-token")  # Rasa answers 401
    sender = "tg-4479-secret"
    try:
        outbox = Outbox(store.database, rasa)
        await outbox.put(sender, "events", [{"event": "bot", "text": "Hi Priya, your refund is on its way"}])
        with caplog.at_level(logging.INFO, logger="bot.handoff.outbox"):
            for _ in range(MAX_ATTEMPTS_ON_ERROR):
                await outbox.deliver(sender)
    finally:
        await rasa.close()
        await store.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.handoff.outbox"]
    assert len(lines) == 1 and pseudonym(sender) in lines[0] and "Rasa answered 401" in lines[0], lines
    assert sender not in lines[0] and "Priya" not in lines[0] and "NotAuthenticated" not in lines[0]
