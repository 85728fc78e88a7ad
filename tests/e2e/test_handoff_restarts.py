"""A restart of Rasa, of the action server or of the console in the middle of a handoff loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ALWAYS_STAFFED
from tests.console.test_handoff_e2e import _wait_for_ticket, agent_token, api, rasa_events
from tests.support.stack import Stack, start_stack


@pytest.fixture(scope="module")
def own_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own stack: killing processes must not disturb the shared one."""
    running = start_stack(tmp_path_factory.mktemp("restarts"), RAPPORT_STAFFED_HOURS=ALWAYS_STAFFED)
    yield running
    running.stop()


def _pid_on(port: int) -> int:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(out.split("pid=")[1].split(",")[0])


def _kill_and_wait(stack: Stack, port: int, health: str, timeout: float = 240) -> None:
    """Kill the process on ``port``; the launcher restarts it; wait until it answers again."""
    old = _pid_on(port)
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health, timeout=2) as response:  # noqa: S310
                if response.status < 500 and _pid_on(port) != old:
                    return
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"process on port {port} did not come back")


def test_restarting_each_process_mid_handoff_keeps_ticket_and_transcript(own_stack: Stack) -> None:
    stack = own_stack
    customer = "restart-" + uuid.uuid4().hex[:8]
    assert stack.say(customer, "i want to talk to a person")
    token = agent_token(stack, f"lea-{uuid.uuid4().hex[:6]}@example.com", "Lea Example")
    ticket = _wait_for_ticket(stack, token, customer)
    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/claim")[0] == 200
    assert stack.say(customer, "before the restarts") == []

    _kill_and_wait(stack, stack.rasa_port, f"{stack.rasa_url}/")
    assert stack.say(customer, "after rasa restarted") == []  # still held by a person
    _kill_and_wait(stack, stack.actions_port, f"http://127.0.0.1:{stack.actions_port}/health")
    _kill_and_wait(stack, stack.console_port, f"{stack.console_url}/health")

    status, queue = api(stack, token, "GET", "/api/queue")
    assert status == 200
    assert [t["status"] for t in queue["tickets"] if t["id"] == ticket["id"]] == ["claimed"]
    status, transcript = api(stack, token, "GET", f"/api/tickets/{ticket['id']}/transcript")
    texts = [m["text"] for m in transcript["messages"]]
    assert "before the restarts" in texts and "after rasa restarted" in texts
    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/reply", {"text": "Still here."})[0] == 200
    assert any(e.get("text") == "Lea: Still here." for e in rasa_events(stack, customer))
    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/close")[0] == 200
    assert stack.say(customer, "how much is delivery")
