"""What an operator relies on: no secret in `ps`, a private var/, browsers only from known origins, and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.stack import Stack, start_stack


def _cmdline(pid: int) -> str:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def test_no_secret_is_on_any_command_line(stack: Stack) -> None:
    children = stack.children()
    assert set(children) == {"rasa", "actions", "console"}
    for pid in [stack.process.pid, *children.values()]:
        line = _cmdline(pid)
        assert stack.token not in line, f"the Rasa API token is visible in ps: {line[:200]}"
        assert "--auth-token" not in line
        assert stack.env["RAPPORT_IDENTITY_SECRET"] not in line


def test_the_api_still_takes_the_token_that_is_not_on_the_command_line(stack: Stack) -> None:
    url = f"{stack.rasa_url}/conversations/lifecycle-check/tracker?token={stack.token}"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stack.rasa_url}/conversations/lifecycle-check/tracker?token=wrong", timeout=10)  # noqa: S310
    assert refused.value.code == 401


def test_var_and_everything_in_it_is_readable_by_its_owner_only(stack: Stack) -> None:
    stack.say("perm-check", "you can call me Priya")
    assert stat.S_IMODE(stack.var_dir.stat().st_mode) == 0o700
    loose = []
    for path in stack.var_dir.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(stack.var_dir)} {oct(mode)}")
    assert not loose, f"files others can read: {loose}"
    names = {p.name for p in stack.var_dir.iterdir()}
    assert {"tracker.db", "rapport.db"} <= names  # the databases were checked, not an empty folder


def _preflight(stack: Stack, origin: str) -> tuple[int, dict[str, list[str]]]:
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook", method="OPTIONS",
                                     headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, {k.lower(): answer.headers.get_all(k) for k in answer.headers.keys()}
    except urllib.error.HTTPError as refused:
        return refused.code, {k.lower(): refused.headers.get_all(k) for k in refused.headers.keys()}


def test_rasa_allows_browsers_only_from_the_configured_origins(stack: Stack) -> None:
    _status, evil = _preflight(stack, "http://evil.example")
    assert "access-control-allow-origin" not in evil
    _status, console = _preflight(stack, stack.console_url)
    assert console["access-control-allow-origin"] == [stack.console_url]
    assert console["access-control-max-age"][0].isdigit()
    shop = stack.env["RAPPORT_WEBCHAT_ALLOWED_ORIGINS"]
    _status, allowed = _preflight(stack, shop)
    assert allowed["access-control-allow-origin"] == [shop]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def _state(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"



def test_sigterm_stops_the_whole_stack_within_ten_seconds_and_frees_its_ports(trained_model, tmp_path: Path) -> None:
    own = start_stack(tmp_path / "var")
    children = list(own.children().values())
    assert len(children) == 3
    own.say("stopping-check", "hello")
    started = time.monotonic()
    own.process.send_signal(signal.SIGTERM)
    own.process.wait(timeout=30)
    took = time.monotonic() - started
    assert took < 10.0, f"stopping took {took:.1f} s:\n" + "\n".join(own.output[-10:])
    assert _gone(children, within=1.0), "a child outlived the launcher"
    assert all(_port_free(p) for p in (own.rasa_port, own.actions_port, own.console_port))
    assert not any("killed" in line for line in own.output), "a process had to be killed:\n" + "\n".join(own.output[-10:])



def test_children_die_with_the_launcher_even_when_it_is_killed(trained_model, tmp_path: Path) -> None:
    own = start_stack(tmp_path / "var")
    children = list(own.children().values())
    assert len(children) == 3
    os.kill(own.process.pid, signal.SIGKILL)
    own.process.wait(timeout=10)
    assert _gone(children, within=10.0), "children kept running after the launcher was killed"
    assert all(_port_free(p) for p in (own.rasa_port, own.actions_port, own.console_port))
