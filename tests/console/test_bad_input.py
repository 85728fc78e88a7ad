"""Bad input at every form and API route: 4xx with a clear message, never a 5xx."""

from __future__ import annotations

import time

import pytest
from yarl import URL

from bot.console.keys import STAFF_DIRECTORY_KEY, STORE_KEY
from tests.console.conftest import add_staff, count_rows, login, open_ticket

API_BODY_ROUTES = ["reply", "notes", "transfer"]
FORM_ROUTES = ["reply", "notes", "transfer", "claim", "close"]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def claimed(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    headers = {"Authorization": f"Bearer {await client.app[STAFF_DIRECTORY_KEY].create_token('ann@example.com')}"}
    ticket = await open_ticket(client)
    assert (await client.post(f"/api/tickets/{ticket.id}/claim", headers=headers)).status == 200
    return ticket, headers


BAD_BODIES = [
    (b"", JSON, 400),
    (b"{not json", JSON, 400),
    (b"\xff\xfe\x00", JSON, 400),
    (b"[1, 2]", JSON, 400),
    (b'"text"', JSON, 400),
    (b'{"text": 12}', JSON, 400),
    (b'{"text": ["a"]}', JSON, 400),
    (b'{"text": null}', JSON, 400),
    (b'{"text": "   "}', JSON, 400),
    (b'{"text": "\\u0007"}', JSON, 400),
    (b'{"text": "x"}', {"Content-Type": "text/plain"}, 415),
    (b'{"text": "x"}', {}, 415),
    (b'{"text": "' + b"x" * 70_000 + b'"}', JSON, 413),
]


@pytest.mark.parametrize("route", API_BODY_ROUTES)
@pytest.mark.parametrize(("body", "headers", "status"), BAD_BODIES)
async def test_api_routes_answer_bad_bodies_with_clear_4xx(client, claimed, route, body, headers, status):
    ticket, auth = claimed
    if route == "transfer" and body in (b'{"text": 12}', b'{"text": ["a"]}', b'{"text": null}', b'{"text": "   "}', b'{"text": "\\u0007"}'):
        body = body.replace(b'"text"', b'"team"')
    response = await client.post(f"/api/tickets/{ticket.id}/{route}", data=body, headers={**auth, **headers})
    assert response.status == status, await response.text()
    assert (await response.json())["error"]["status"] == status


@pytest.mark.parametrize(("route", "limit"), [("reply", 4000), ("notes", 8000)])
async def test_text_length_limits(client, claimed, route, limit):
    ticket, auth = claimed
    ok = await client.post(f"/api/tickets/{ticket.id}/{route}", json={"text": "x" * limit}, headers=auth)
    assert ok.status in (200, 201)
    too_long = await client.post(f"/api/tickets/{ticket.id}/{route}", json={"text": "x" * (limit + 1)}, headers=auth)
    assert too_long.status == 413 and str(limit) in (await too_long.json())["error"]["message"]


async def test_transfer_needs_a_valid_target(client, claimed):
    ticket, auth = claimed
    for body in ({}, {"staff_id": "abc"}, {"staff_id": True}, {"staff_id": 10**12}, {"staff_id": 999}, {"team": "t" * 65}):
        response = await client.post(f"/api/tickets/{ticket.id}/transfer", json=body, headers=auth)
        assert response.status == 400, body


async def test_html_in_a_reply_is_sent_as_plain_text(client, claimed, fake_rasa):
    ticket, auth = claimed
    response = await client.post(f"/api/tickets/{ticket.id}/reply", json={"text": "<b>bold</b> & co"}, headers=auth)
    assert response.status == 200
    assert fake_rasa.posted("/tracker/events")[-1]["body"][0]["text"] == "Ann: <b>bold</b> & co"


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("route", FORM_ROUTES)
async def test_forms_refuse_bad_bodies(client, fake_rasa, route):
    await add_staff(client, "ann@example.com")
    csrf = await login(client, "ann@example.com")
    ticket = await open_ticket(client)
    base = f"/desk/tickets/{ticket.id}/{route}"
    token = f"csrf_token={csrf}".encode()
    cases = [
        (token + b"&text=%ff%fe", FORM, 400),
        (b"\xff" + token, FORM, {400, 403}),
        (token + b"&text=a&text=b", FORM, 400),
        (token + b"&x=" + b"y" * 70_000, FORM, 413),
        (b'{"csrf_token": "x"}', JSON, 403),  # cookie requests must carry the CSRF token
    ]
    if route in ("reply", "notes"):
        cases += [(token + b"&text=", FORM, {400, 409}), (token, FORM, {400, 409})]
    for body, headers, expected in cases:
        response = await client.post(base, data=body, headers=headers, allow_redirects=False)
        allowed = expected if isinstance(expected, set) else {expected}
        assert response.status in allowed, (body[:40], response.status)
        assert response.headers["Content-Type"].startswith("text/html")


async def test_staff_form_validates_every_field(client):
    await add_staff(client, "ada@example.com", role="admin")
    csrf = await login(client, "ada@example.com")
    good = {"csrf_token": csrf, "email": "bo@example.com", "name": "Bo Li", "role": "agent", "password": "a" * 12}
    for field, value in (("email", "not-an-email"), ("name", ""), ("role", "root"), ("password", "short"), ("name", "x" * 81)):
        response = await client.post("/staff", data={**good, field: value})
        assert response.status == 400, field
    assert (await client.post("/staff", data=good)).status == 200
    assert (await client.post("/staff", data=good)).status == 409
    assert (await client.post("/staff/disable", data={"csrf_token": csrf, "email": "ada@example.com"})).status == 400
    assert (await client.post("/staff/disable", data={"csrf_token": csrf, "email": "nobody@example.com"})).status == 404


# --- what the boundary refuses: invalid Unicode, deep nesting, wrong types, blank text ---------

LONE_SURROGATE = b'"\\ud800"'  # a lone UTF-16 surrogate as a JSON escape, as a client sends it
DEEP = b"[" * 1000 + b"1" + b"]" * 1000


def _ids(values):
    return [f"case{i}" for i, _ in enumerate(values)]


REFUSED_JSON = [
    ("reply", b'{"text": ' + LONE_SURROGATE + b"}"),
    ("reply", b'{"text": "ok \\udfff then"}'),
    ("reply", b'{"text": "fine", "\\ud800": 1}'),  # a key is text too
    ("reply", b'{"text": ' + DEEP + b"}"),
    ("reply", DEEP),
    ("reply", b'{"a":' * 1000 + b"1" + b"}" * 1000),
    ("reply", b'{"text": NaN}'),
    ("reply", b'{"text": "\\u200b\\u00a0\\u3000"}'),  # nothing visible
    ("reply", b'{"text": "\\u0000\\u0007"}'),  # only control characters
    ("notes", b'{"text": ' + LONE_SURROGATE + b"}"),
    ("notes", b'{"text": ' + DEEP + b"}"),
    ("notes", b'{"text": {"nested": "object"}}'),
    ("notes", b'{"text": true}'),
    ("transfer", b'{"team": ' + LONE_SURROGATE + b"}"),
    ("transfer", b'{"team": ' + DEEP + b"}"),
    ("transfer", b'{"staff_id": [2]}'),
    ("transfer", b'{"staff_id": {"id": 2}}'),
    ("transfer", b'{"staff_id": 2.5}'),
    ("transfer", b'{"team": 5}'),
    ("transfer", b'{"team": ["orders"]}'),
    ("transfer", b'{"team": "or\\u0000ders"}'),
    ("transfer", b'{"team": "\\u200b"}'),
]


@pytest.mark.parametrize(("route", "body"), REFUSED_JSON, ids=_ids(REFUSED_JSON))
async def test_api_refuses_invalid_unicode_deep_nesting_and_wrong_types_with_a_json_4xx(
    client, claimed, fake_rasa, route, body
):
    ticket, auth = claimed
    calls, notes, outbox = len(fake_rasa.calls), await count_rows(client, "staff_notes"), await count_rows(client, "handoff_outbox")
    started = time.perf_counter()
    response = await client.post(f"/api/tickets/{ticket.id}/{route}", data=body, headers={**auth, **JSON})
    assert time.perf_counter() - started < 1.0
    assert 400 <= response.status < 500, await response.text()
    error = (await response.json())["error"]
    assert error["status"] == response.status and error["message"]
    assert len(fake_rasa.calls) == calls
    assert await count_rows(client, "staff_notes") == notes
    assert await count_rows(client, "handoff_outbox") == outbox
    assert (await client.app[STORE_KEY].get_ticket(ticket.id)).team == ticket.team


@pytest.mark.parametrize("route", ["reply", "notes"])
async def test_a_refused_lone_surrogate_leaves_the_ticket_page_working(client, claimed, route):
    ticket, auth = claimed
    refused = await client.post(f"/api/tickets/{ticket.id}/{route}", data=b'{"text": "\\ud800"}', headers={**auth, **JSON})
    assert refused.status == 400
    assert "Unicode" in (await refused.json())["error"]["message"]
    page = await client.get(f"/desk/tickets/{ticket.id}", headers=auth)
    assert page.status == 200
    for path in ("", "/transcript", "/notes", "/profile"):
        assert (await client.get(f"/api/tickets/{ticket.id}{path}", headers=auth)).status == 200, path


async def test_control_characters_are_removed_from_a_staff_reply_before_it_reaches_the_customer(client, claimed, fake_rasa):
    ticket, auth = claimed
    response = await client.post(f"/api/tickets/{ticket.id}/reply", json={"text": "bell\u0007 and \x1b[31mred"}, headers=auth)
    assert response.status == 200
    assert fake_rasa.posted("/tracker/events")[-1]["body"][0]["text"] == "Ann: bell and [31mred"


@pytest.fixture
async def agent_form(client, fake_rasa):
    """A logged-in agent holding a ticket through the pages: (ticket, csrf token)."""
    await add_staff(client, "ann@example.com")
    csrf = await login(client, "ann@example.com")
    ticket = await open_ticket(client)
    assert (await client.post(f"/desk/tickets/{ticket.id}/claim", data={"csrf_token": csrf}, allow_redirects=False)).status == 303
    return ticket, csrf


REFUSED_FORMS = [
    ("reply", "text=%ED%A0%80"),  # a surrogate encoded as UTF-8 bytes: not UTF-8
    ("reply", "text=%00%07"),
    ("reply", "text=%E2%80%8B"),  # a zero-width space alone
    ("notes", "text=%ED%A0%80"),
    ("notes", "text=%20%20"),
    ("transfer", "team=or%00ders"),
    ("transfer", "staff_id=abc"),
    ("transfer", "staff_id=-1"),
    ("transfer", "staff_id=99999999999999999999999"),
    ("transfer", "team=" + "t" * 65),
]


@pytest.mark.parametrize(("route", "fields"), REFUSED_FORMS, ids=_ids(REFUSED_FORMS))
async def test_forms_refuse_bad_fields_with_a_4xx_page_and_store_nothing(client, agent_form, fake_rasa, route, fields):
    ticket, csrf = agent_form
    calls, notes = len(fake_rasa.calls), await count_rows(client, "staff_notes")
    response = await client.post(
        f"/desk/tickets/{ticket.id}/{route}", data=f"csrf_token={csrf}&{fields}".encode(), headers=FORM, allow_redirects=False
    )
    assert 400 <= response.status < 500 and response.headers["Content-Type"].startswith("text/html")
    assert "role=\"alert\"" in await response.text()
    assert len(fake_rasa.calls) == calls and await count_rows(client, "staff_notes") == notes


async def test_staff_form_refuses_control_characters_in_names_and_emails(client):
    await add_staff(client, "ada@example.com", role="admin")
    csrf = await login(client, "ada@example.com")
    good = {"csrf_token": csrf, "email": "bo@example.com", "name": "Bo Li", "role": "agent", "password": "a" * 12}
    for field, value in (("name", "Bo\x00Li"), ("name", "\u200b"), ("email", "bo\x00@example.com"), ("role", "agent\x00")):
        response = await client.post("/staff", data={**good, field: value})
        assert response.status == 400, (field, value)
    assert await count_rows(client, "staff") == 1
    refused = await client.post("/staff/disable", data={"csrf_token": csrf, "email": "ada\x00@example.com"})
    assert refused.status == 400


BAD_TICKET_IDS = ["%ED%A0%80", "99999999999999999999999", "-1", "0", "%D9%A1", "1.5", "%00", "1%0A", "abc", "%ff"]


@pytest.mark.parametrize("ticket_id", BAD_TICKET_IDS)
async def test_bad_ticket_ids_in_the_path_answer_400_or_404(client, claimed, ticket_id):
    _ticket, auth = claimed
    for method, path in (("GET", ""), ("GET", "/transcript"), ("GET", "/profile"), ("GET", "/notes"), ("POST", "/claim"),
                         ("POST", "/reply"), ("POST", "/notes"), ("POST", "/close"), ("POST", "/transfer")):  # fmt: skip
        api = await client.request(
            method, URL(f"/api/tickets/{ticket_id}{path}", encoded=True), data=b'{"text": "hi", "team": "orders"}',
            headers={**auth, **JSON},
        )  # fmt: skip
        assert api.status in (400, 404), (method, path, api.status)
        assert (await api.json())["error"]["status"] == api.status
        page = await client.request(method, URL(f"/desk/tickets/{ticket_id}{path}", encoded=True), data=b"text=hi", headers={**auth, **FORM})
        assert page.status in (400, 404, 405), (method, path, page.status)


async def test_hostile_query_strings_are_ignored_by_routes_that_take_none(client, claimed):
    ticket, auth = claimed
    query = "?x=%ff&y=%ED%A0%80&z=%00&" + "k=" + "v" * 2000 + "&a[]=1&a[]=2&%zz"
    for path in ("/api/queue", f"/api/tickets/{ticket.id}", f"/desk/tickets/{ticket.id}", "/desk", "/api/me"):
        response = await client.get(URL(path + query, encoded=True), headers=auth)
        assert response.status == 200, path


@pytest.mark.parametrize("path", ["/static/" + "a" * 300 + ".css", "/chat/static/" + "b" * 300, "/api/tickets/" + "9" * 400])
async def test_an_over_long_path_segment_is_404_not_500(client, path: str) -> None:
    answer = await client.get(path)
    assert answer.status == 404
