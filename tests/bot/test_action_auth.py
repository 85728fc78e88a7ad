"""Rasa sends the action server's token on action calls only, and is left alone when it is not the Rasa we know."""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator

import pytest
import rasa
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa import patching, speed
from bot.rasa import action_auth

TOKEN = "test-actions-token"
ANSWER = {"events": [{"event": "slot", "name": "tone", "value": "brief"}], "responses": []}


@pytest.fixture()
def rasa_as_shipped() -> Any:
    """Rasa without this patch for the test; whatever the process had is put back afterwards."""
    was_installed, token = action_auth.installed(), action_auth._token
    action_auth.uninstall()
    yield RemoteAction.__init__
    action_auth.uninstall()
    if was_installed:
        action_auth.install(token)


@pytest.fixture()
async def action_server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in action server that records what each call carried."""
    calls: list[dict[str, Any]] = []

    async def webhook(request: web.Request) -> web.Response:
        calls.append({"path": request.path, "query": dict(request.query), "json": await request.json(),
                      "authorization": request.headers.get("Authorization"),
                      "content_type": request.headers.get("Content-Type"), "x_test": request.headers.get("X-Test"),
                      "peer": request.transport.get_extra_info("peername")})
        return web.json_response(ANSWER)

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    app.router.add_post("/nlg", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", calls
    finally:
        await speed.close_shared_sessions()
        await runner.cleanup()


async def _run_action(endpoint: EndpointConfig) -> list[Any]:
    tracker = DialogueStateTracker.from_events("conv-1", [])
    return await RemoteAction("action_greet", endpoint).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, Domain.empty())


def _without_header(call: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in call.items() if k not in ("authorization", "peer")}


async def test_rasa_sends_the_token_with_each_action_call_and_nothing_else_changes(
        rasa_as_shipped, action_server) -> None:
    base, calls = action_server
    endpoint = EndpointConfig(f"{base}/webhook", params={"p": "1"}, headers={"X-Test": "kept"})
    before = await _run_action(endpoint)
    assert action_auth.install(TOKEN) is True
    after = await _run_action(endpoint)
    assert before == after == [SlotSet("tone", "brief")]
    plain, authorized = calls
    assert plain["authorization"] is None and authorized["authorization"] == f"Bearer {TOKEN}"
    assert _without_header(plain) == _without_header(authorized)  # same body, query and headers otherwise
    assert endpoint.headers == {"X-Test": "kept"}  # Rasa's own endpoint object is left as it was


async def test_the_token_also_goes_through_the_keep_alive_sessions(rasa_as_shipped, action_server) -> None:
    base, calls = action_server
    speed_installed = patching.apply('speed', speed.patches())
    action_auth.install(TOKEN)
    endpoint = EndpointConfig(f"{base}/webhook")
    for _ in range(3):
        assert await _run_action(endpoint) == [SlotSet("tone", "brief")]
    assert [c["authorization"] for c in calls] == [f"Bearer {TOKEN}"] * 3
    assert len({c["peer"] for c in calls}) == 1  # one kept-alive connection


async def test_other_endpoints_never_see_the_token(rasa_as_shipped, action_server) -> None:
    base, calls = action_server
    action_auth.install(TOKEN)
    nlg = EndpointConfig(f"{base}/nlg")  # e.g. an NLG or model server
    await nlg.request(method="post", json={"template": "utter_greet"})
    await _run_action(EndpointConfig(f"{base}/webhook"))
    assert [(c["path"], c["authorization"]) for c in calls] == [("/nlg", None), ("/webhook", f"Bearer {TOKEN}")]


async def test_an_unknown_rasa_version_is_not_patched_and_rasa_behaves_as_its_own(
        rasa_as_shipped, action_server, monkeypatch, caplog) -> None:
    base, calls = action_server
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with caplog.at_level(logging.WARNING, logger="bot.rasa.action_auth"):
        assert action_auth.install(TOKEN) is False
    assert RemoteAction.__init__ is rasa_as_shipped and not action_auth.installed()
    assert [r.getMessage() for r in caplog.records if r.name == "bot.rasa.action_auth"] == [
        "not sending the action server's token, so it will refuse every action: "
        "Rasa 3.7.0 is not a version Rapport knows (3.6.21)"]
    assert await _run_action(EndpointConfig(f"{base}/webhook")) == [SlotSet("tone", "brief")]
    assert calls[0]["authorization"] is None


def test_a_changed_signature_is_not_patched(rasa_as_shipped, monkeypatch) -> None:
    def changed(self: Any, name: str, action_endpoint: Any, retries: int = 0) -> None:
        rasa_as_shipped(self, name, action_endpoint)

    monkeypatch.setattr(RemoteAction, "__init__", changed)
    assert action_auth.install(TOKEN) is False
    assert RemoteAction.__init__ is changed


def test_install_wraps_once_keeps_wrapped_and_uninstall_gives_rasa_its_own_back(rasa_as_shipped) -> None:
    assert action_auth.install(TOKEN) and action_auth.install("newer-token")
    patched = RemoteAction.__init__
    assert patched.__wrapped__ is rasa_as_shipped  # type: ignore[attr-defined]
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))
    assert action.action_endpoint.headers == {"Authorization": "Bearer newer-token"}
    assert RemoteAction("action_x", None).action_endpoint is None
    action_auth.uninstall()
    assert RemoteAction.__init__ is rasa_as_shipped
    assert RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook")).action_endpoint.headers == {}


def test_every_process_of_a_checkout_reads_the_same_token_unless_the_environment_sets_one(
        tmp_path, monkeypatch) -> None:
    """Plain `rasa run` and `rasa run actions` on a fresh checkout (started together): one secret in var/."""
    import subprocess
    import sys

    monkeypatch.delenv("RAPPORT_ACTIONS_TOKEN", raising=False)
    monkeypatch.setenv("RAPPORT_VAR_DIR", str(tmp_path / "var"))
    read = "from bot import settings; print(settings.load().actions_token)"
    starting = [subprocess.Popen([sys.executable, "-c", read], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    tokens = {process.communicate(timeout=60)[0].strip() for process in starting}
    assert len(tokens) == 1 and len(tokens.pop()) >= 40
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == [
        ".actions_token.secret", ".identity.secret", ".link_code.secret", ".rasa_token.secret", ".session.secret"]
    monkeypatch.setenv("RAPPORT_ACTIONS_TOKEN", "from-the-environment")
    from bot import settings

    assert settings.load().actions_token == "from-the-environment"
