"""With the store or the action server down for real, the assistant still answers, unpersonalised."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.services import need, temporary_database
from tests.support.stack import Stack, start_stack
from tests.support.tcp_proxy import TcpProxy

PG_HOST, PG_PORT = "127.0.0.1", 5432

pytestmark = pytest.mark.services  # PostgreSQL (and Redis) on this machine



@pytest.fixture(scope="module")
def store_proxy() -> Iterator[TcpProxy]:
    need("PostgreSQL", PG_HOST, PG_PORT)
    proxy = TcpProxy(PG_HOST, PG_PORT).start()
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def degradable_stack(trained_model: Path, store_proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose relationship store is PostgreSQL behind a proxy we can cut."""
    with temporary_database("rapport_degrade") as schema_db:
        stack = start_stack(
            tmp_path_factory.mktemp("degrade"),
            RAPPORT_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{store_proxy.port}/{schema_db}",
        )
        try:
            yield stack
        finally:
            stack.stop()


def _texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_store_down_assistant_still_answers_unpersonalised(degradable_stack: Stack, store_proxy: TcpProxy) -> None:
    me = "degrade-" + uuid.uuid4().hex[:8]
    assert "Sam" in _texts(degradable_stack.say(me, "call me Sam"))
    store_proxy.cut()
    try:
        answer = _texts(degradable_stack.say(me, "how much is delivery?"))
        assert "£3.50" in answer, answer
        privacy = _texts(degradable_stack.say(me, "what do you know about me"))
        assert "can't reach our records" in privacy, privacy
        fresh = "degrade-new-" + uuid.uuid4().hex[:8]
        assert "Marginalia" in _texts(degradable_stack.say(fresh, "hello"))
    finally:
        store_proxy.restore()
    assert "£3.50" in _texts(degradable_stack.say(me, "delivery cost?"))


@pytest.fixture(scope="module")
def stack_without_actions(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa and the console running, the action server not there at all."""
    stack = start_stack(tmp_path_factory.mktemp("no-actions"), args=("--without", "actions"))
    yield stack
    stack.stop()


def test_action_server_down_assistant_still_answers(stack_without_actions: Stack) -> None:
    degradable_stack = stack_without_actions
    new_person = "no-actions-" + uuid.uuid4().hex[:8]
    greeting = _texts(degradable_stack.say(new_person, "hi"))
    assert "Marginalia" in greeting, greeting
    assert "£3.50" in _texts(degradable_stack.say(new_person, "how much is delivery"))
    assert "Mon" in _texts(degradable_stack.say(new_person, "when are you open"))
