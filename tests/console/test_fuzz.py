"""Hypothesis fuzzing of every console route: hostile paths, queries, bodies and content types.

The routes are read from the app's router (a new route is fuzzed too).  Each request is sent as a
logged-in admin (admins may use every desk and staff route) with a valid API token, or a session
cookie with a valid CSRF token (header or form field), or a session cookie with a missing or wrong
one.  Every example gets a fresh ticket claimed by the fuzzer, so the desk's checks are reached.

For every request: no 5xx and an answer within a second; when it was refused (4xx), nothing was
stored (no note, no outbox call, no call to Rasa, no staff account, session or ticket changed); and
afterwards the console still answers /health and the queue.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from yarl import URL

from bot import settings as settings_module
from bot.console.app import create_app
from bot.console.keys import STAFF_DIRECTORY_KEY, STORE_KEY
from bot.console.security import is_public
from tests.console.conftest import add_staff, form_csrf, login, open_ticket
from tests.console.routes import Route, console_routes
from tests.support.hostile import (
    http_content_types,
    form_bytes,
    hostile_path_segments,
    hostile_query_strings,
    hostile_strings,
    hostile_values,
    json_bytes,
    json_field_bytes,
    raw_bodies,
    raw_json_values,
    short_hostile_strings,
)

ROUTES = console_routes(create_app(settings_module.load()))
WITH_INPUT = [r for r in ROUTES if r.takes_body or r.variables]
QUERY_ONLY = [r for r in ROUTES if r not in WITH_INPUT]
FIELDS = ("text", "staff_id", "team", "email", "name", "role", "password", "csrf_token")
ANSWER_WITHIN_S = 1.0
TICKET = "{ticket}"  # replaced by the example's fresh ticket id
FUZZ = settings(
    max_examples=25,
    deadline=10_000,  # per example (several requests, a fresh ticket); each request is held to 1 s below
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Hostile:
    """One request to fuzz a route with; ``auth`` is "token", "cookie" (CSRF token in the form when the body
    is a form, else in the header), "cookie+header" (always in the header) or "cookie-without-csrf".

    ``body_kind`` "fields" means a form or JSON object (by content type) built from ``fields``; "raw" sends
    ``raw`` as it is; "raw field" sends ``{"<field>": <raw_value>}`` (deep nesting, NaN, ...).
    """

    auth: str
    path_values: dict[str, str]
    query: str
    content_type: str | None
    body_kind: str
    fields: dict[str, Any]
    raw: bytes
    field: str
    raw_value: str


def _mostly(usual: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` three times in four: a hostile field is only reached past a valid path, login and type."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda keep: usual if keep else hostile)


def _path_value(regex: str, known: str | None) -> st.SearchStrategy[str]:
    good = [TICKET] if regex == r"\d+" else regex.split("|") if "|" in regex else [known] if known else []
    return _mostly(st.sampled_from(good), hostile_path_segments) if good else hostile_path_segments


def _expected_type(route: Route) -> str:
    return "application/json" if route.template.startswith("/api/") else "application/x-www-form-urlencoded"


def hostile_requests(route: Route) -> st.SearchStrategy[Hostile]:
    known = dict(route.known)
    paths = st.fixed_dictionaries({name: _path_value(regex, known.get(name)) for name, regex in route.variables})
    valid = {"text": "hello", "team": "orders", "staff_id": 2, "email": "bob@example.com", "name": "Eve Li", "role": "agent"}
    fields = st.one_of(
        st.dictionaries(st.sampled_from(FIELDS), hostile_values, max_size=4),  # wrong types, invalid text
        st.builds(lambda k, v: {**valid, k: v}, st.sampled_from(FIELDS), hostile_values),  # one bad field
        st.dictionaries(short_hostile_strings, hostile_strings, max_size=3),  # odd keys
    )
    return st.builds(
        Hostile,
        auth=_mostly(st.sampled_from(["token", "cookie", "cookie+header"]), st.just("cookie-without-csrf")),
        path_values=paths,
        query=st.one_of(st.just(""), hostile_query_strings),
        content_type=_mostly(st.just(_expected_type(route)), http_content_types) if route.takes_body else st.none(),
        body_kind=st.sampled_from(["fields", "fields", "raw", "raw field"]) if route.takes_body else st.just("none"),
        fields=fields,
        raw=raw_bodies,
        field=st.sampled_from(FIELDS),
        raw_value=raw_json_values,
    )


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").startswith("application/json")


def _body(hostile: Hostile, csrf: str | None) -> bytes | None:
    if hostile.body_kind == "none":
        return None
    if hostile.body_kind == "raw":
        return (f"csrf_token={csrf}&".encode() if csrf else b"") + hostile.raw
    if hostile.body_kind == "raw field":
        if not _is_json(hostile.content_type):  # the form twin: the raw value as a field's text
            return form_bytes({**({"csrf_token": csrf} if csrf else {}), hostile.field: hostile.raw_value})
        return json_field_bytes(hostile.field, hostile.raw_value)
    if _is_json(hostile.content_type):
        return json_bytes(hostile.fields)
    as_text = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in hostile.fields.items()}
    return form_bytes({**({"csrf_token": csrf} if csrf else {}), **as_text})


class Fuzzer:
    """The console under fuzzing: an admin's token and session, and what was stored before each request."""

    def __init__(self, client: TestClient, fake_rasa: Any, token: str, csrf: str) -> None:
        self.client, self.fake_rasa, self.token, self.csrf = client, fake_rasa, token, csrf
        self._senders = itertools.count()

    async def fresh_ticket(self) -> int:
        ticket = await open_ticket(self.client, sender_id=f"fuzz-{next(self._senders)}")
        admin = await self.client.app[STAFF_DIRECTORY_KEY].by_email("ada@example.com")
        return (await self.client.app[STORE_KEY].claim_ticket(ticket.id, admin.id)).id

    async def stored(self, ticket_id: int) -> tuple[Any, ...]:
        """What a refused request must leave as it was."""

        def read(connection: sa.engine.Connection) -> tuple[Any, ...]:
            one = lambda sql, **p: tuple(connection.execute(sa.text(sql), p).one())  # noqa: E731
            return (one("SELECT count(*) FROM staff_notes"), one("SELECT count(*) FROM handoff_outbox"),
                    one("SELECT count(*), sum(enabled), group_concat(email) FROM staff"),
                    one("SELECT count(*) FROM console_sessions"),
                    one("SELECT status, team, assigned_staff_id, summary FROM tickets WHERE id = :id", id=ticket_id))  # fmt: skip

        rows = await self.client.app[STORE_KEY].database.run(read, write=False)
        return (*rows, len(self.fake_rasa.calls))

    async def send(self, route: Route, hostile: Hostile, ticket_id: int) -> int:
        values = {name: value.replace(TICKET, str(ticket_id)) for name, value in hostile.path_values.items()}
        url = route.url(**values) + (f"?{hostile.query}" if hostile.query else "")
        # The server may answer a hostile body (413, say) before reading it and then close the
        # connection; like any client, the next request must not reuse that connection.
        headers: dict[str, str] = {"Connection": "close"}
        if hostile.content_type is not None:
            headers["Content-Type"] = hostile.content_type
        cookies = None
        if hostile.auth == "token":
            headers["Authorization"] = f"Bearer {self.token}"
            cookies = {"rapport_session": ""}  # hides the fuzzer's session cookie
        csrf = await self.public_form_csrf(route) if route.takes_body and is_public(route.template) else self.csrf
        in_form = hostile.auth == "cookie" and hostile.body_kind != "none" and not _is_json(hostile.content_type)
        if hostile.auth == "cookie+header" or (hostile.auth == "cookie" and not in_form):
            headers["X-CSRF-Token"] = csrf
        csrf_field = csrf if in_form else None
        started = time.perf_counter()
        response = await self.client.request(
            route.method, URL(url, encoded=True), data=_body(hostile, csrf_field), headers=headers, cookies=cookies,
            allow_redirects=False, skip_auto_headers=["Content-Type"],
        )  # fmt: skip
        await response.read()
        elapsed = time.perf_counter() - started
        assert response.status < 500, (route.id, hostile, response.status, await response.text())
        assert elapsed < ANSWER_WITHIN_S, (route.id, hostile, f"{elapsed:.2f} s")
        if route.handler == "logout" and hostile.auth != "token" and response.status == 303:
            self.csrf = await login(self.client, "ada@example.com")  # the fuzzer logged itself out
        return response.status

    async def public_form_csrf(self, route: Route) -> str:
        """A public form (the login) carries the token of its own page, not the session's."""
        page = await self.client.get(route.url())
        return form_csrf(await page.text())

    async def still_answers(self) -> None:
        assert (await self.client.get("/health")).status == 200
        queue = await self.client.get("/api/queue", headers={"Authorization": f"Bearer {self.token}"})
        assert queue.status == 200 and "tickets" in await queue.json()


@pytest.fixture
async def fuzzer(client, fake_rasa) -> Fuzzer:
    await add_staff(client, "ada@example.com", role="admin")
    await add_staff(client, "bob@example.com", role="agent")
    token = await client.app[STAFF_DIRECTORY_KEY].create_token("ada@example.com")
    return Fuzzer(client, fake_rasa, token, await login(client, "ada@example.com"))


def test_the_fuzzed_routes_are_every_route_of_the_app(console_app):
    live = {route.id for route in console_routes(console_app)}
    assert live == {route.id for route in ROUTES}
    assert len(WITH_INPUT) >= 20 and {"POST /api/tickets/{ticket_id}/reply", "POST /login"} <= {r.id for r in WITH_INPUT}


async def _fuzz_one(fuzzer: Fuzzer, route: Route, hostile: Hostile) -> None:
    ticket_id = await fuzzer.fresh_ticket()
    before = await fuzzer.stored(ticket_id)
    status = await fuzzer.send(route, hostile, ticket_id)
    event(f"answered {status}")  # --hypothesis-show-statistics: what the examples reached
    if status >= 400:
        assert await fuzzer.stored(ticket_id) == before, (route.id, hostile, status)
    await fuzzer.still_answers()


@pytest.mark.parametrize("route", WITH_INPUT, ids=[r.id for r in WITH_INPUT])
@FUZZ
@given(data=st.data())
async def test_routes_that_take_input_survive_hostile_requests_and_store_nothing_they_refuse(fuzzer, route, data):
    await _fuzz_one(fuzzer, route, data.draw(hostile_requests(route), label="request"))


@pytest.mark.parametrize("route", QUERY_ONLY, ids=[r.id for r in QUERY_ONLY])
@settings(FUZZ, max_examples=8)
@given(data=st.data())
async def test_routes_without_input_survive_hostile_query_strings(fuzzer, route, data):
    await _fuzz_one(fuzzer, route, data.draw(hostile_requests(route), label="request"))
