"""Bad input at every form and API route: 4xx with a clear message, never a 5xx."""

from __future__ import annotations

import pytest

from bot.console.keys import STAFF
from tests.console.conftest import add_staff, login, open_ticket

API_BODY_ROUTES = ["reply", "notes", "transfer"]
FORM_ROUTES = ["reply", "notes", "transfer", "claim", "close"]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def claimed(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    headers = {"Authorization": f"Bearer {await client.app[STAFF].create_token('ann@example.com')}"}
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
    (b'{"text": "bell\\u0007"}', JSON, 400),
    (b'{"text": "x"}', {"Content-Type": "text/plain"}, 415),
    (b'{"text": "x"}', {}, 415),
    (b'{"text": "' + b"x" * 70_000 + b'"}', JSON, 413),
]


@pytest.mark.parametrize("route", API_BODY_ROUTES)
@pytest.mark.parametrize(("body", "headers", "status"), BAD_BODIES)
async def test_api_routes_answer_bad_bodies_with_clear_4xx(client, claimed, route, body, headers, status):
    ticket, auth = claimed
    if route == "transfer" and body in (b'{"text": 12}', b'{"text": ["a"]}', b'{"text": null}', b'{"text": "   "}', b'{"text": "bell\\u0007"}'):
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
    assert too_long.status == 400 and str(limit) in (await too_long.json())["error"]["message"]


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
