"""The real stack: only its Rasa can run actions, on loopback; a poisoned stored event stops nothing."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from tests.support.stack import ROOT, Stack


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def _actions(stack: Stack, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.actions_port}{path}", data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})}, method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _what_do_you_know(sender: str) -> dict[str, Any]:
    """The call an attacker would make up: any sender id, the action that reads out their profile."""
    return {
        "next_action": "action_what_do_you_know", "sender_id": sender, "version": "3.6.21", "domain": {},
        "tracker": {"sender_id": sender, "slots": {}, "events": [], "paused": False, "active_loop": {},
                    "latest_message": {"intent": {"name": "privacy_what_do_you_know"}, "entities": [],
                                       "text": "what do you know about me",
                                       "metadata": {"rapport_channel": "rest"}},
                    "latest_input_channel": "rest", "latest_action_name": "action_listen"},
    }  # fmt: skip


def _token(stack: Stack) -> str:
    return (stack.var_dir / ".actions_token.secret").read_text(encoding="utf-8").strip()


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses listening on ``port``, from /proc/net/tcp{,6} (state 0A = LISTEN)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table, encoding="ascii").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def _non_loopback_address() -> str | None:
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    return next((a for a in found if "." in a and not a.startswith("127.")), None)


def test_a_made_up_call_without_the_token_is_refused_and_shows_no_profile(stack: Stack) -> None:
    me = "private-" + uuid.uuid4().hex[:8]
    assert "Ada" in texts(stack.say(me, "call me Ada"))  # Rasa itself runs the actions: it has the token
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": _token(stack)}):
        started = time.monotonic()
        status, body = _actions(stack, "/webhook", _what_do_you_know(me), headers)
        assert status == 401 and "error" in json.loads(body), (headers, status, body)
        assert "Ada" not in body and time.monotonic() - started < 1.0
    status, body = _actions(stack, "/webhook", _what_do_you_know(me), {"Authorization": f"Bearer {_token(stack)}"})
    assert status == 200 and "Ada" in body  # the token is what makes the difference
    assert _actions(stack, "/health")[0] == 200


def test_the_action_server_listens_on_loopback_only(stack: Stack) -> None:
    assert _listening_addresses(stack.actions_port) == {"0100007F"}  # 127.0.0.1, nothing else
    address = _non_loopback_address()
    if address is None:
        return
    with pytest.raises(OSError):
        socket.create_connection((address, stack.actions_port), timeout=3).close()


def _insert_user_event(stack: Stack, sender: str, event: dict[str, Any]) -> int:
    """A row in the stack's tracker store as Rasa's SQLTrackerStore writes it (JSON with \\u escapes)."""
    with sqlite3.connect(stack.var_dir / "tracker.db", timeout=15) as db:
        cursor = db.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (?, 'user', ?, ?, NULL, ?)",
            (sender, time.time(), event["parse_data"]["intent"]["name"], json.dumps(event)),
        )
        return int(cursor.lastrowid)


def _user_event(text: str, intent: str, **extra: Any) -> dict[str, Any]:
    return {"event": "user", "timestamp": time.time(), "text": text, "input_channel": "rest",
            "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": extra.pop("entities", []),
                           "text": text}, **extra}


def _export(stack: Stack, sender: str) -> dict[str, Any] | None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "people", "export", "--channel", "rest", "--sender",
                             sender], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60)
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_a_poisoned_stored_event_is_skipped_and_later_customers_are_still_recorded(stack: Stack) -> None:
    log = stack.var_dir / "logs" / "actions.log"
    stack.say("warm-" + uuid.uuid4().hex[:6], "hi")  # the tracker store exists and the recorder is tailing it
    size_before = log.stat().st_size
    suffix = uuid.uuid4().hex[:8]
    _insert_user_event(stack, f"surrogate-{suffix}", _user_event(
        "hi", "greet", metadata={"customer_id": "\ud800", "customer_signature": "\ud800"}))  # the original finding
    poisoned = _insert_user_event(stack, f"poisoned-{suffix}", _user_event(
        "crime novels?", "ask_recommendation", entities=[{"entity": "topic", "value": "\ud800", "start": 0, "end": 5}]))
    later = f"later-{suffix}"
    assert "£3.50" in texts(stack.say(later, "how much is delivery?"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        exported = _export(stack, later)
        if exported and exported["interactions"]:
            break
        time.sleep(0.5)
    assert exported and [i["intent"] for i in exported["interactions"]] == ["delivery"], exported
    assert _export(stack, f"surrogate-{suffix}") is not None  # recorded, as an anonymous customer

    status, body = _actions(stack, "/health/recorder")
    health = json.loads(body)
    assert status == 200 and health["skipped"] >= 1 and health["last_skipped_event_id"] == poisoned, health
    said = subprocess.run([sys.executable, "-m", "bot.cli", "status"], cwd=ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=60)
    assert said.returncode == 0 and f"the last was event {poisoned}" in said.stdout, said

    time.sleep(3)  # dozens more polls
    written = log.read_bytes()[size_before:].decode("utf-8", "replace")
    assert len(written) < 4000, written[-2000:]  # not a traceback per poll
    assert f"skipped tracker event {poisoned}" in written and suffix not in written
