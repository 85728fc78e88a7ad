"""Start the real assistant (`rapport up`) for end-to-end tests, on free ports and SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Rapport is ready"
#: The port of a test page standing for a shop's own site, the one web chat origin the shared stack allows.
SHOP_SITE_PORT = free_port()


@dataclass
class Stack:
    process: subprocess.Popen
    var_dir: Path
    rasa_port: int
    actions_port: int
    console_port: int
    env: dict[str, str]
    output: list[str] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def token(self) -> str:
        return self.env["RAPPORT_RASA_TOKEN"]

    def say(self, sender: str, message: str, metadata: dict | None = None, timeout: float = 30) -> list[dict]:
        """One REST turn; returns Rasa's list of bot messages."""
        body = {"sender": sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def alive(self) -> bool:
        return self.process.poll() is None

    def export(self, channel: str, sender: str) -> dict:
        """What `rapport people export` prints for a person of this stack, as a user would run it."""
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "people", "export", "--channel", channel, "--sender", sender],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def children(self) -> dict[str, int]:
        """The launcher's running processes by name ("rasa", "actions", "console") and pid.

        Fuzz tests compare these before and after: a restarted process has a new pid.
        """
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != self.process.pid:
                continue
            name = "actions" if "rasa_sdk" in cmdline else "console" if "bot.console" in cmdline else "rasa"
            found[name] = int(entry.name)
        return found

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def stack_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "RAPPORT_VAR_DIR": str(var_dir),
            "RAPPORT_RASA_PORT": str(free_port()),
            "RAPPORT_ACTIONS_PORT": str(free_port()),
            "RAPPORT_CONSOLE_PORT": str(free_port()),
            "RAPPORT_RASA_TOKEN": "test-token-" + os.urandom(6).hex(),
            "RAPPORT_IDENTITY_SECRET": "test-identity-secret",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_stack(var_dir: Path, timeout: float = 300, args: tuple[str, ...] = (), **extra: str) -> Stack:
    """Run `rapport up` as a user would and wait for its ready line."""
    env = stack_env(var_dir, **extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "up", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    stack = Stack(
        process, var_dir, int(env["RAPPORT_RASA_PORT"]), int(env["RAPPORT_ACTIONS_PORT"]),
        int(env["RAPPORT_CONSOLE_PORT"]), env,
    )
    ready = threading.Event()

    def _read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line.rstrip())
            if READY_LINE in line:
                ready.set()

    threading.Thread(target=_read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.5):
        if not stack.alive() or time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError("rapport up did not become ready:\n" + "\n".join(stack.output[-60:]))
    return stack
