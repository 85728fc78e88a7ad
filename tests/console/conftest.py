"""Console fixtures: the real app on a temporary SQLite store, a fake Rasa HTTP API recording calls."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import settings as settings_module
from bot.console.app import create_app
from bot.console.keys import STAFF_DIRECTORY_KEY, STORE_KEY
from bot.settings import Settings
from bot.staff import StaffMember
from bot.store import Ticket

PASSWORD = "correct horse battery"
RASA_TOKEN = "fake-rasa-token"


@dataclass
class FakeRasa:
    """Rasa's HTTP API as far as the desk uses it; records every call, can pretend to be down."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    down: bool = False
    server: TestServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None and self.server.port is not None
        return self.server.port

    def posted(self, path_end: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == "POST" and c["path"].endswith(path_end)]

    async def _handle(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"status": "failure"}, status=503)
        if request.query.get("token") != RASA_TOKEN:
            return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        body = await request.json() if request.can_read_body else None
        sender = request.match_info["sender"]
        self.calls.append({"method": request.method, "path": request.path, "query": dict(request.query), "body": body, "sender": sender})
        events = self.trackers.setdefault(sender, [])
        if request.path.endswith("/tracker/events"):
            for event in body:
                events.append({**event, "timestamp": time.time()})
        elif request.path.endswith("/execute"):
            events.append({"event": "bot", "text": f"[{body['name']}]", "timestamp": time.time()})
        return web.json_response({"sender_id": sender, "events": events})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/conversations/{sender}/{tail:.*}", self._handle)
        return app


@pytest.fixture
async def fake_rasa() -> FakeRasa:
    fake = FakeRasa()
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


def make_tracker_db(path: Path) -> None:
    """Rasa's SQLTrackerStore `events` table, as Rasa 3.6 creates it."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,"
            " type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255),"
            " data TEXT)"
        )


def add_tracker_event(path: Path, sender_id: str, type_name: str, text: str, **extra: Any) -> None:
    data = {"event": type_name, "text": text, "timestamp": time.time(), **extra}
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, ?)",
            (sender_id, type_name, data["timestamp"], json.dumps(data)),
        )


@pytest.fixture
def console_settings(tmp_path: Path, fake_rasa: FakeRasa) -> Settings:
    make_tracker_db(tmp_path / "tracker.db")
    return dataclasses.replace(
        settings_module.load(),
        var_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}",
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        rasa_port=fake_rasa.port,
        host="127.0.0.1",
        rasa_token=RASA_TOKEN,
        link_code_secret="test-link-secret",
    )


Factory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def console_app(console_settings: Settings) -> web.Application:
    return create_app(console_settings)


@pytest.fixture
async def client(aiohttp_client: Any, console_app: web.Application) -> TestClient:
    return await aiohttp_client(console_app)


async def add_staff(client: TestClient, email: str, role: str = "agent", name: str | None = None) -> StaffMember:
    return await client.app[STAFF_DIRECTORY_KEY].add(email=email, name=name or email.split("@")[0].title() + " Smith", role=role, password=PASSWORD)


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = await (await client.get("/login")).text()
    response = await client.post(
        "/login", data={"csrf_token": form_csrf(page), "email": email, "password": password}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    home = await client.get("/", allow_redirects=True)
    return form_csrf(await home.text())


async def open_ticket(client: TestClient, sender_id: str = "cust-1", summary: str = "wants a person") -> Ticket:
    store = client.app[STORE_KEY]
    person = await store.resolve_person("rest", sender_id)
    return await store.create_ticket(person_id=person.id, channel="rest", sender_id=sender_id, team="support", summary=summary)


async def count_rows(client: TestClient, table: str) -> int:
    """Rows in one of the store's tables (what a refused request must not have added to)."""
    statement = sa.text(f"SELECT count(*) FROM {table}")  # table names come from the tests only
    return int(await client.app[STORE_KEY].database.run(lambda c: c.execute(statement).scalar_one(), write=False))
