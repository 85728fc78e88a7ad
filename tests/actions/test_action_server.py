"""The real action server app (rasa_sdk's Sanic app with our package): only our Rasa runs actions."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any, AsyncIterator

import aiohttp
import pytest
from sanic import Sanic

import actions
from actions import auth
from bot.store import Source
from tests.support.services import free_port

TOKEN = "test-actions-token"


def _non_loopback_address() -> str | None:
    """An address of this machine other than loopback (``hostname -I``), if it has one."""
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return next((a for a in found if "." in a and not a.startswith("127.")), None)


class ActionServer:
    def __init__(self, app: Sanic, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


async def _serve(host: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ActionServer]:
    from rasa_sdk.endpoint import create_app

    monkeypatch.setenv("RAPPORT_ACTIONS_TOKEN", TOKEN)
    monkeypatch.setattr(Sanic, "test_mode", True)  # Sanic may start an app more than once per process
    Sanic._app_registry.pop("rasa_sdk", None)
    app = create_app("actions")
    actions.extend(app)  # what importing the package inside `python -m rasa_sdk` does
    port = free_port()
    server = await app.create_server(host=host, port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.after_start()  # starts the turn recorder
    try:
        yield ActionServer(app, host, port)
    finally:
        await asyncio.wait_for(server.before_stop(), 20)  # stops the recorder and closes the store
        server.close()
        await asyncio.wait_for(server.wait_closed(), 20)
        Sanic._app_registry.pop("rasa_sdk", None)


@pytest.fixture()
async def action_server(store_env: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ActionServer]:
    async for running in _serve("127.0.0.1", monkeypatch):
        yield running


def _call(action: str, sender: str) -> dict[str, Any]:
    """A hand-made tracker asking for ``action``, as an attacker on the network would send it."""
    return {
        "next_action": action, "sender_id": sender, "version": "3.6.21",
        "tracker": {"sender_id": sender, "slots": {}, "latest_message": {"intent": {"name": "privacy_what_do_you_know"},
                    "entities": [], "text": "what do you know about me", "metadata": {"rapport_channel": "rest"}},
                    "events": [], "paused": False, "latest_input_channel": "rest", "active_loop": {},
                    "latest_action_name": "action_listen"},
        "domain": {},
    }  # fmt: skip


async def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body, headers=headers or {}) as response:
            return response.status, await response.text(), time.monotonic() - started


async def _known_person(store: Any, sender: str) -> None:
    person = await store.resolve_person("rest", sender)
    await store.update_preferences(person.id, source=Source(channel="rest"), name="Ada Lovelace")


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer "}, {"X-Token": TOKEN},
], ids=["missing", "wrong", "no-scheme", "basic", "longer", "empty", "other-header"])
async def test_a_call_without_the_token_is_refused_and_reads_no_profile(action_server, store_env, headers) -> None:
    await _known_person(store_env, "ada-1")
    status, body, seconds = await _post(action_server.url("/webhook"), _call("action_what_do_you_know", "ada-1"),
                                        headers)
    assert status == 401 and "error" in json.loads(body)
    assert "Ada" not in body and seconds < 0.5


async def test_a_call_with_the_token_runs_the_action(action_server, store_env) -> None:
    await _known_person(store_env, "ada-2")
    status, body, _ = await _post(action_server.url("/webhook"), _call("action_what_do_you_know", "ada-2"),
                                  {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    assert "Ada Lovelace" in body


async def test_forget_me_without_the_token_erases_nobody(action_server, store_env) -> None:
    await _known_person(store_env, "ada-3")
    status, _, _ = await _post(action_server.url("/webhook"), _call("action_forget_me", "ada-3"))
    assert status == 401
    assert (await store_env.find_person("rest", "ada-3")).name == "Ada Lovelace"


async def test_the_list_of_actions_is_refused_too_and_the_health_checks_stay_open(action_server) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(action_server.url("/actions")) as response:
            assert response.status == 401
        async with session.get(action_server.url("/health")) as response:
            assert response.status == 200 and (await response.json())["status"] == "ok"
        async with session.get(action_server.url("/health/recorder")) as response:
            status = await response.json()
            assert response.status == 200, status
            assert status["skipped"] == 0 and status["recording"] is True
            assert {"cursor", "lag_events", "lag_seconds", "last_skipped_event_id"} <= status.keys()
        async with session.post(action_server.url("/health/recorder")) as response:
            assert response.status == 401  # only GET is open


async def test_the_recorder_status_is_served_to_this_machine_only(store_env, monkeypatch) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    async for server in _serve("0.0.0.0", monkeypatch):  # noqa: S104 - an operator who set RAPPORT_HOST so
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url("/health/recorder", host=address)) as response:
                assert response.status == 403 and "error" in await response.json()
            async with session.get(server.url("/health/recorder")) as response:
                assert response.status == 200


def test_the_token_check_is_exact() -> None:
    assert auth.authorized(f"Bearer {TOKEN}", TOKEN) and auth.authorized(f"bearer  {TOKEN} ", TOKEN)
    for header in (None, "", "Bearer", f"Bearer {TOKEN[:-1]}", f"Token {TOKEN}", f"Bearer {TOKEN}\u00e9",
                   "Bearer \udcff"):
        assert not auth.authorized(header, TOKEN), header
    with pytest.raises(ValueError):
        auth.attach(object(), "", ())
