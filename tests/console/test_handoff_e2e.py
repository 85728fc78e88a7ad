"""End to end on the real assistant: a REST customer asks for a person, an agent takes over and hands back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

import aiohttp
import pytest

from tests.support.stack import ROOT, Stack

PASSWORD = "e2e password 123"


def staff_cli(stack: Stack, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "staff", *args], cwd=ROOT, env=stack.env, input=stdin,
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def agent_token(stack: Stack, email: str, name: str) -> str:
    staff_cli(stack, "add", "--email", email, "--name", name, "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    return staff_cli(stack, "token", "--email", email).splitlines()[-1]


def api(stack: Stack, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        stack.console_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def rasa_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    url = f"{stack.rasa_url}/conversations/{sender}/tracker?token={stack.token}"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read())["events"]


@pytest.fixture()
def staffed_stack(stack: Stack) -> Stack:
    """The suite's shared stack, which is staffed around the clock (tests/conftest.py)."""
    return stack


def _wait_for_ticket(stack: Stack, token: str, sender: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = api(stack, token, "GET", "/api/queue")
        assert status == 200
        for ticket in body["tickets"]:
            if ticket["sender_id"] == sender:
                return ticket
        time.sleep(0.2)
    raise AssertionError(f"no ticket for {sender} in the queue")


async def test_a_rest_customer_is_taken_over_by_an_agent_and_handed_back(staffed_stack: Stack):
    stack = staffed_stack
    token = agent_token(stack, "ann@example.com", "Ann Smith")
    sender = "e2e-" + str(int(time.time() * 1000))
    answer = stack.say(sender, "can i talk to a human please")
    assert answer, "the bot says what happens next"
    ticket = _wait_for_ticket(stack, token, sender)
    assert ticket["status"] == "waiting" and ticket["channel"] == "rest"

    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/claim")[0] == 200
    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/claim")[0] == 409
    status, body = api(stack, token, "POST", f"/api/tickets/{ticket['id']}/reply", {"text": "Hello, I can help with that."})
    assert (status, body["delivered"]) == (200, True)
    staff_lines = [e for e in rasa_events(stack, sender) if e.get("event") == "bot" and e.get("text", "").startswith("Ann")]
    assert [e["text"] for e in staff_lines] == ["Ann from our team has joined.", "Ann: Hello, I can help with that."]
    assert staff_lines[1]["data"]["custom"]["rapport_staff"]["name"] == "Ann"

    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{stack.console_url}/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
            started = time.monotonic()
            assert stack.say(sender, "my order is MB1234 <b>thanks</b>") == []  # held: the bot stays quiet
            while True:  # an earlier message of this conversation may still be on its way: skip it
                message = await ws.receive_json(timeout=5)
                if message["type"] == "message" and message["who"] == "customer" and "MB1234" in message["text"]:
                    break
            assert message["text"] == "my order is MB1234 <b>thanks</b>" and message["ticket_id"] == ticket["id"]
            assert time.monotonic() - started < 5  # includes the REST round trip through Rasa

    status, body = api(stack, token, "GET", f"/api/tickets/{ticket['id']}/transcript")
    assert status == 200
    assert [m["who"] for m in body["messages"]][:1] == ["customer"]
    assert "my order is MB1234 <b>thanks</b>" in [m["text"] for m in body["messages"]]

    status, closed = api(stack, token, "POST", f"/api/tickets/{ticket['id']}/close")
    assert (status, closed["status"]) == (200, "closed")
    events = rasa_events(stack, sender)
    assert any(e.get("event") == "resume" for e in events)
    again = " ".join(m.get("text", "") for m in stack.say(sender, "how much is delivery"))
    assert "£3.50" in again, again  # a normal answer, not "sorry, I didn't get that"
