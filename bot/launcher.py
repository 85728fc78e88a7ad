"""Start the whole assistant for development: Rasa server, action server and staff console.

One command, SQLite by default.  The launcher trains first when no model matches the current
data, starts the three processes, waits until each answers, and stops all of them when one dies
or when it is interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot import settings as settings_module
from bot.nlp import pipeline
from bot.settings import Settings
from bot.training import ensure_model, rasa_command, rasa_env


class LaunchError(RuntimeError):
    """A process did not start or did not become ready."""


@dataclass
class ManagedProcess:
    name: str
    command: list[str]
    health_url: str
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    #: Variables for this process only, on top of the launcher's environment.
    env: dict[str, str] = field(default_factory=dict)

    def start(self, cwd: Path, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=cwd, env={**env, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=timeout)

    def log_tail(self, chars: int = 2500) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def endpoints_for(settings: Settings, scaling: settings_module.ScalingSettings, source: str) -> dict:
    """The repository's endpoints.yml with this run's action server URL and lock store."""
    from urllib.parse import urlsplit

    from ruamel.yaml import YAML

    document = YAML(typ="safe", pure=True).load(source) or {}
    document.setdefault("action_endpoint", {})["url"] = settings.actions_url
    if scaling.lock_store_url:
        parts = urlsplit(scaling.lock_store_url)
        document["lock_store"] = {
            "type": "redis",
            "url": parts.hostname or "127.0.0.1",
            "port": parts.port or 6379,
            "db": int((parts.path or "/0").lstrip("/") or 0),
            "password": parts.password,
            "use_ssl": parts.scheme == "rediss",
            "key_prefix": "rapport",
        }
    return document


def write_endpoints(settings: Settings) -> Path:
    """Write var/endpoints.yml for this run (the repository's file stays as Rasa users know it)."""
    from ruamel.yaml import YAML

    source = (settings.project_root / "endpoints.yml").read_text(encoding="utf-8")
    document = endpoints_for(settings, settings_module.load_scaling(), source)
    target = settings.var_dir / "endpoints.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        YAML(typ="safe", pure=True).dump(document, out)
    return target


def plan(settings: Settings, model: Path, endpoints: Path) -> list[ManagedProcess]:
    logs = settings.var_dir / "logs"
    rasa = rasa_command()
    return [
        ManagedProcess(
            "actions",
            # rasa_sdk directly: the same server as `rasa run actions`, without importing Rasa.
            [sys.executable, "-m", "rasa_sdk", "--port", str(settings.actions_port), "--actions", "actions"],
            f"http://{settings.host}:{settings.actions_port}/health",
            logs / "actions.log",
            # rasa_sdk binds every interface unless SANIC_HOST says otherwise (rasa_sdk/endpoint.py run).
            env={"SANIC_HOST": settings.host},
        ),
        ManagedProcess(
            "rasa",
            rasa + [
                "run", "--model", str(model), "--endpoints", str(endpoints),
                "--credentials", "credentials.yml", "--port", str(settings.rasa_port),
                "--interface", settings.host, "--enable-api", "--auth-token", settings.rasa_token,
                "--cors", "*",
            ],
            f"http://{settings.host}:{settings.rasa_port}/",
            logs / "rasa.log",
        ),
        ManagedProcess(
            "console",
            [sys.executable, "-m", "bot.console", "--port", str(settings.console_port),
             "--host", settings.host],
            f"http://{settings.host}:{settings.console_port}/health",
            logs / "console.log",
        ),
    ]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback
            return 200 <= response.status < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_ready(processes: list[ManagedProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(processes)
    while pending:
        for proc in list(pending):
            if not proc.alive():
                raise LaunchError(f"{proc.name} exited during start-up; log {proc.log_path}:\n{proc.log_tail()}")
            if _answers(proc.health_url):
                pending.remove(proc)
        if pending and time.monotonic() > deadline:
            names = ", ".join(p.name for p in pending)
            raise LaunchError(f"{names} not ready after {timeout:.0f} s; logs in {processes[0].log_path.parent}")
        if pending:
            time.sleep(0.25)


def _say(message: str) -> None:
    print(f"[rapport] {message}", flush=True)


MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0


def _supervise(processes: list[ManagedProcess], root: Path, env: dict[str, str],
               restarts: dict[str, list[float]]) -> ManagedProcess | None:
    """Restart a crashed process; return it when it crashes too often to keep going."""
    for proc in processes:
        if proc.alive():
            continue
        now = time.monotonic()
        recent = [t for t in restarts.setdefault(proc.name, []) if now - t < RESTART_WINDOW_S]
        if len(recent) >= MAX_RESTARTS:
            return proc
        recent.append(now)
        restarts[proc.name] = recent
        _say(f"{proc.name} stopped (exit {proc.process.returncode if proc.process else '?'}); restarting. "
             f"Log: {proc.log_path}")
        proc.start(root, env)
    return None


def up(settings: Settings | None = None, *, ready_timeout: float = 240.0,
       without: frozenset[str] = frozenset()) -> int:
    """Run everything until interrupted; returns the exit code.

    ``without`` names processes not to start here (e.g. an action server run elsewhere).
    """
    settings = settings or settings_module.load()
    for load in (settings_module.load_scaling, settings_module.load_channels, settings_module.load_console):
        load()  # a bad setting stops here (SettingsError), before anything is trained or started
    started = time.monotonic()
    root = settings.project_root
    os.chdir(root)
    env = rasa_env()
    env.setdefault("RAPPORT_PROJECT_ROOT", str(root))
    pipeline.ensure_built(settings.nlp_model_dir, settings.entity_patterns)
    _say("checking the model ...")
    model = ensure_model(settings)
    if model.trained:
        _say(f"trained {model.path.name} in {model.seconds:.0f} s")
    else:
        _say(f"model {model.path.name} is current")
    _migrate_store(settings)
    processes = [p for p in plan(settings, model.path, write_endpoints(settings)) if p.name not in without]
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for proc in processes:
            proc.start(root, env)
        wait_ready(processes, ready_timeout)
        _say(f"Rapport is ready in {time.monotonic() - started:.1f} s")
        _say(f"  REST:    curl -s {settings.rasa_url}/webhooks/rest/webhook -d '{{\"sender\": \"me\", \"message\": \"hi\"}}'")
        _say(f"  web chat: {settings.console_url}/chat")
        _say(f"  console:  {settings.console_url}/")
        _say(f"  logs:     {settings.var_dir / 'logs'}")
        restarts: dict[str, list[float]] = {}
        while not stopping:
            failed = _supervise(processes, root, env, restarts)
            if failed is not None:
                _say(f"{failed.name} keeps stopping; giving up. Log {failed.log_path}:\n{failed.log_tail()}")
                return 1
            time.sleep(0.5)
        _say("stopping ...")
        return 0
    except LaunchError as exc:
        _say(str(exc))
        return 1
    finally:
        for proc in reversed(processes):
            proc.stop()


def _migrate_store(settings: Settings) -> None:
    """Bring the relationship store's schema up to date before anything uses it."""
    from bot.store import migrate

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
