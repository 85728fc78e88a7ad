"""Start the whole assistant for development: Rasa server, action server and staff console.

One command, SQLite by default.  The launcher trains first when no model matches the current
data, starts the three processes, waits until each answers, restarts one that dies, and stops all
of them when it is interrupted or terminated:

- SIGINT or SIGTERM stops the stack within :data:`STOP_BUDGET_S` seconds, in the order that lets
  work in flight finish: the console first (its outbox deliveries need Rasa), then Rasa (its turns
  need the action server), then the action server; what is still running then is killed.
- The children die with the launcher even when it is killed outright (``PR_SET_PDEATHSIG``), so
  nothing is left holding a port or a secret.
- No secret is on a command line, and everything written to ``var/`` is the owner's alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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
from bot.training import ensure_model, rasa_env


class LaunchError(RuntimeError):
    """A process did not start or did not become ready."""


#: Seconds from SIGTERM until every process of the stack has stopped (orchestrators allow 10).
STOP_BUDGET_S = 9.0
#: How long each process may take to finish its work in flight, in stopping order.
STOP_GRACE_S = {"console": 3.0, "rasa": 4.0, "actions": 2.0}
#: Sanic's wait for open requests on shutdown (its default, 15 s, is longer than the whole budget).
SANIC_GRACE_S = "2"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: be sent SIGTERM when the launcher dies, however it dies."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ManagedProcess:
    name: str
    command: list[str]
    health_url: str
    log_path: Path
    #: Variables for this process only, on top of the launcher's environment.
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, cwd: Path, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=cwd, env={**env, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            assert self.process is not None
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        """True when the process has exited within ``timeout`` seconds."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=max(timeout, 0.0))
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout: float = 5.0) -> None:
        self.signal(signal.SIGTERM)
        if not self.wait(timeout):
            self.signal(signal.SIGKILL)
            self.wait(5.0)


def stop_all(processes: list[ManagedProcess], budget: float = STOP_BUDGET_S) -> None:
    """Stop the stack in order (console, Rasa, actions), each given its grace, all within ``budget``."""
    started = time.monotonic()
    deadline = started + budget
    order = sorted(processes, key=lambda p: list(STOP_GRACE_S).index(p.name) if p.name in STOP_GRACE_S else 99)
    took: list[str] = []
    for proc in order:
        if not proc.alive():
            continue
        began = time.monotonic()
        proc.signal(signal.SIGTERM)
        grace = STOP_GRACE_S.get(proc.name, 2.0)
        if proc.wait(min(grace, deadline - time.monotonic())):
            took.append(f"{proc.name} {time.monotonic() - began:.1f} s")
    for proc in order:
        if proc.alive():
            proc.wait(deadline - time.monotonic())
    for proc in order:
        if proc.alive():
            _say(f"{proc.name} did not stop in time; killed")
            proc.signal(signal.SIGKILL)
            proc.wait(2.0)
    if took:
        _say(f"stopped in {time.monotonic() - started:.1f} s ({', '.join(took)})")

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
            # Rasa's `rasa run`, given its API token inside the process (bot/rasa/serve.py), never in argv.
            [sys.executable, "-m", "bot.rasa.serve",
                "run", "--model", str(model), "--endpoints", str(endpoints),
                "--credentials", "credentials.yml", "--port", str(settings.rasa_port),
                "--interface", settings.host, "--enable-api",
                "--cors", *settings_module.rasa_cors_origins(),
            ],
            f"http://{settings.host}:{settings.rasa_port}/",
            logs / "rasa.log",
            # sanic-cors writes "Access-Control-Max-Age: None" unless given a value.
            env={"SANIC_CORS_MAX_AGE": "600"},
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
    settings_module.make_private(settings.var_dir)
    env = rasa_env()
    env.setdefault("RAPPORT_PROJECT_ROOT", str(root))
    env.setdefault("RAPPORT_VAR_DIR", str(settings.var_dir))
    env["SANIC_GRACEFUL_SHUTDOWN_TIMEOUT"] = SANIC_GRACE_S
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
        stop_all(processes)


def _migrate_store(settings: Settings) -> None:
    """Bring the relationship store's schema up to date before anything uses it."""
    from bot.store import migrate

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
