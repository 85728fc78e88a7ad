"""Run fake provider APIs (aiohttp apps) on 127.0.0.1 in a background thread and record calls."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from tests.support.services import free_port


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made to a provider, as the provider received it."""

    provider: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class Mishap:
    """What a fake does to the next ``times`` calls that match: answer late, fail, or both."""

    match: Callable[[ApiCall], bool]
    times: int = 1
    delay: float = 0.0
    fail: bool = True


class Recorder:
    def __init__(self) -> None:
        self._calls: list[ApiCall] = []
        self._refused: list[ApiCall] = []
        self._mishaps: list[Mishap] = []
        self._lock = threading.Lock()

    def add(self, call: ApiCall) -> None:
        with self._lock:
            self._calls.append(call)

    def add_refused(self, call: ApiCall) -> None:
        with self._lock:
            self._refused.append(call)

    def refused(self, provider: str | None = None) -> list[ApiCall]:
        """Calls the fake answered with a 503 because a test asked it to (see :meth:`fail_next`)."""
        with self._lock:
            return [c for c in self._refused if provider is None or c.provider == provider]

    def fail_next(self, match: Callable[[ApiCall], bool], times: int = 1, delay: float = 0.0) -> None:
        """The next ``times`` matching calls get a 503 (after ``delay`` seconds), as a provider outage would."""
        with self._lock:
            self._mishaps.append(Mishap(match, times, delay, fail=True))

    def delay_next(self, match: Callable[[ApiCall], bool], delay: float, times: int = 1) -> None:
        """The next ``times`` matching calls are answered normally, but only after ``delay`` seconds."""
        with self._lock:
            self._mishaps.append(Mishap(match, times, delay, fail=False))

    def _mishap_for(self, call: ApiCall) -> Mishap | None:
        with self._lock:
            for mishap in self._mishaps:
                if mishap.times > 0 and mishap.match(call):
                    mishap.times -= 1
                    return mishap
        return None

    def calls(self, provider: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if provider is None or c.provider == provider]

    def wait_for(self, match: Callable[[ApiCall], bool], timeout: float = 30.0) -> ApiCall:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.calls():
                if match(call):
                    return call
            time.sleep(0.05)
        raise AssertionError(f"no matching provider call within {timeout} s; got {self.calls()!r}")


async def record(request: web.Request, provider: str, recorder: Recorder) -> ApiCall:
    """Record one call the bot made; a scripted mishap may delay it or answer 503 instead."""
    body = await request.read()
    parsed_json = None
    form: dict[str, str] = {}
    if request.content_type == "application/json":
        import json

        parsed_json = json.loads(body)
    elif request.content_type == "application/x-www-form-urlencoded":
        form = dict((await request.post()).items())  # type: ignore[arg-type]
    call = ApiCall(provider, request.method, request.path, dict(request.query), dict(request.headers),
                   parsed_json, form)
    mishap = recorder._mishap_for(call)
    if mishap is not None:
        await asyncio.sleep(mishap.delay)
        if mishap.fail:
            recorder.add_refused(call)
            raise web.HTTPServiceUnavailable(text="fake outage")
    recorder.add(call)
    return call


class FakeServers:
    """Several fake apps, each on its own free port, served from one thread's event loop."""

    def __init__(self, apps: dict[str, Callable[[Recorder], web.Application]]) -> None:
        self.recorder = Recorder()
        self.ports = {name: free_port() for name in apps}
        self._apps = apps
        self._loop = asyncio.new_event_loop()
        self._runners: list[web.AppRunner] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self) -> FakeServers:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        for name, factory in self._apps.items():
            runner = web.AppRunner(factory(self.recorder))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.ports[name]).start()
            self._runners.append(runner)

    def stop(self) -> None:
        async def _stop() -> None:
            for runner in self._runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
