"""Deny by default: every route needs a login except the public allow-list; CSRF; roles; headers; replays."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.console.keys import STAFF_DIRECTORY_KEY, STORE_KEY
from bot.console.security import PUBLIC_PATHS, is_public
from bot.store.models import console_sessions
from bot.store.validation import utcnow
from tests.console.conftest import add_staff, count_rows, login, open_ticket
from tests.console.routes import console_routes


def _routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, a path it matches) for every route (HEAD aside: it mirrors GET)."""
    return [(route.method, route.example()) for route in console_routes(app)]


async def test_every_route_refuses_an_anonymous_request_except_the_allow_list(client):
    routes = _routes(client.app)
    assert len(routes) > 15
    checked = 0
    for method, path in routes:
        if is_public(path):
            continue
        response = await client.request(method, path, allow_redirects=False)
        assert response.status in (401, 303), (method, path, response.status)
        if response.status == 303:
            assert method in ("GET", "HEAD") and response.headers["Location"] == "/login"
        checked += 1
    assert checked >= 15


async def test_public_routes_are_only_the_allow_list(client):
    public = {path for _, path in _routes(client.app) if is_public(path)}
    assert all(path in PUBLIC_PATHS or path.startswith(("/chat/", "/static/")) for path in public), public
    assert (await client.get("/health")).status == 200
    assert (await client.get("/api/openapi.json")).status == 200
    assert (await client.get("/login")).status == 200


async def test_unknown_paths_are_refused_before_they_reveal_anything(client):
    assert (await client.get("/api/nothing-here")).status == 401
    assert (await client.get("/admin", allow_redirects=False)).status == 303


async def test_a_wrong_bearer_token_is_refused(client):
    for header in ("Bearer rpt_not-a-token", "Bearer ", "Basic abc", "rpt_x"):
        response = await client.get("/api/queue", headers={"Authorization": header})
        assert response.status == 401, header
        assert (await response.json())["error"]["status"] == 401


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_state_changing_requests_without_the_right_csrf_token_are_refused(client, fake_rasa, token):
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    ticket = await open_ticket(client)
    data = {} if token is None else {"csrf_token": token}
    response = await client.post(f"/desk/tickets/{ticket.id}/claim", data=data, allow_redirects=False)
    assert response.status == 403
    headers = {} if token is None else {"X-CSRF-Token": token}
    api = await client.post(f"/api/tickets/{ticket.id}/claim", headers=headers)
    assert api.status == 403
    assert (await client.app[STORE_KEY].get_ticket(ticket.id)).status == "waiting"
    assert fake_rasa.calls == []


async def test_cookie_api_requests_pass_with_the_csrf_header(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    csrf = await login(client, "ann@example.com")
    ticket = await open_ticket(client)
    response = await client.post(f"/api/tickets/{ticket.id}/claim", headers={"X-CSRF-Token": csrf})
    assert response.status == 200
    assert (await response.json())["status"] == "claimed"


async def test_marketers_cannot_use_the_desk_and_agents_cannot_manage_staff(client):
    await add_staff(client, "mia@example.com", role="marketer")
    await login(client, "mia@example.com")
    home = await client.get("/")
    assert home.status == 200 and ">Desk<" not in await home.text()
    assert (await client.get("/desk")).status == 403
    assert (await client.get("/api/queue")).status == 403
    assert (await client.get("/staff")).status == 403

    client.session.cookie_jar.clear()
    await add_staff(client, "ann@example.com", role="agent")
    csrf = await login(client, "ann@example.com")
    page = await (await client.get("/desk")).text()
    assert 'href="/desk"' in page and 'href="/staff"' not in page
    assert (await client.get("/staff")).status == 403
    refused = await client.post("/staff", data={"csrf_token": csrf, "email": "x@example.com", "name": "X", "role": "admin", "password": "a" * 12})
    assert refused.status == 403


async def test_admins_see_the_staff_page_and_can_add_and_disable(client):
    await add_staff(client, "ada@example.com", role="admin")
    csrf = await login(client, "ada@example.com")
    page = await client.get("/staff")
    assert page.status == 200 and 'href="/staff"' in await page.text()
    added = await client.post(
        "/staff", data={"csrf_token": csrf, "email": "bo@example.com", "name": "Bo <b>Li</b>", "role": "agent", "password": "a" * 12},
    )  # fmt: skip
    assert added.status == 400  # names with markup are refused
    added = await client.post(
        "/staff", data={"csrf_token": csrf, "email": "bo@example.com", "name": "Bo Li", "role": "agent", "password": "a" * 12},
    )  # fmt: skip
    assert added.status == 200 and "bo@example.com" in await added.text()
    disabled = await client.post("/staff/disable", data={"csrf_token": csrf, "email": "bo@example.com"})
    assert disabled.status == 200 and "disabled" in await disabled.text()


async def test_every_response_carries_a_strict_csp_and_console_pages_cannot_be_framed(client):
    for path in ("/health", "/login", "/api/openapi.json", "/static/console.js", "/nope"):
        response = await client.get(path, allow_redirects=False)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_chat_page_may_be_embedded_and_may_connect_to_rasa(client, console_settings):
    response = await client.get("/chat/embed.js", allow_redirects=False)
    csp = response.headers["Content-Security-Policy"]
    assert response.status == 200
    assert "frame-ancestors 'none'" not in csp and "X-Frame-Options" not in response.headers
    assert f"ws://127.0.0.1:{console_settings.rasa_port}" in csp and "script-src 'self'" in csp


# --- unauthenticated and replayed requests --------------------------------------------------------

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def _session_cookie(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))["rapport_session"].value


async def _nothing_happened(client, fake_rasa, ticket) -> None:
    assert fake_rasa.calls == []
    assert await count_rows(client, "staff_notes") == 0 and await count_rows(client, "handoff_outbox") == 0
    assert (await client.app[STORE_KEY].get_ticket(ticket.id)).status == "waiting"


async def test_an_expired_session_cookie_is_refused_everywhere(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    csrf = await login(client, "ann@example.com")
    ticket = await open_ticket(client)
    expire = sa.update(console_sessions).values(expires_at=utcnow() - timedelta(seconds=1))
    await client.app[STORE_KEY].database.run(lambda connection: connection.execute(expire))
    assert (await client.get("/api/me")).status == 401
    assert (await client.get("/desk", allow_redirects=False)).headers["Location"] == "/login"
    claim = await client.post(f"/desk/tickets/{ticket.id}/claim", data={"csrf_token": csrf}, allow_redirects=False)
    assert claim.status == 401
    await _nothing_happened(client, fake_rasa, ticket)


@pytest.mark.parametrize("cookie", ["forged-token", "x" * 201, "", "rpt_" + "a" * 43, "%ED%A0%80", "a;b", "\u00e9t\u00e9"])
async def test_a_forged_session_cookie_is_refused(client, fake_rasa, cookie):
    await add_staff(client, "ann@example.com")
    ticket = await open_ticket(client)
    jar = {"rapport_session": cookie}
    assert (await client.get("/api/me", cookies=jar)).status == 401
    post = await client.post(f"/api/tickets/{ticket.id}/claim", cookies=jar, headers={"X-CSRF-Token": "forged"})
    assert post.status == 401 and (await post.json())["error"]["status"] == 401
    await _nothing_happened(client, fake_rasa, ticket)


def _state_changing_routes(app: web.Application) -> list[tuple[str, str]]:
    return [(method, path) for method, path in _routes(app) if method in STATE_CHANGING and not is_public(path)]


async def test_every_state_changing_route_refuses_a_missing_forged_or_foreign_csrf_token(client, fake_rasa):
    await add_staff(client, "ada@example.com", role="admin")
    await add_staff(client, "bob@example.com", role="admin")
    foreign = await login(client, "bob@example.com")  # a real token, of another session
    client.session.cookie_jar.clear()
    await login(client, "ada@example.com")
    ticket = await open_ticket(client)
    routes = [(m, p.replace("/tickets/1/", f"/tickets/{ticket.id}/")) for m, p in _state_changing_routes(client.app)]
    assert len(routes) >= 10
    for method, path in routes:
        for token in (None, "", "forged", foreign):
            fields = {"text": "hello", "team": "orders", "email": "bob@example.com", "name": "Eve Li", "role": "admin",
                      "password": "a" * 12}  # fmt: skip
            form = fields if token is None else {**fields, "csrf_token": token}
            response = await client.request(method, path, data=form, allow_redirects=False)
            assert response.status == 403, (method, path, token, response.status)
            headers = {} if token is None else {"X-CSRF-Token": token}
            as_json = await client.request(method, path, json=fields, headers=headers, allow_redirects=False)
            assert as_json.status == 403, (method, path, token, as_json.status)
    await _nothing_happened(client, fake_rasa, ticket)
    assert [m.email for m in await client.app[STAFF_DIRECTORY_KEY].list() if m.enabled] == ["ada@example.com", "bob@example.com"]
    assert (await client.get("/api/me")).status == 200  # logout refused too: the session is still alive


async def test_a_disabled_accounts_bearer_token_is_refused_on_every_route_and_stays_revoked(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    token = await client.app[STAFF_DIRECTORY_KEY].create_token("ann@example.com")
    ticket = await open_ticket(client)
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/me", headers=auth)).status == 200
    await client.app[STAFF_DIRECTORY_KEY].set_enabled("ann@example.com", False)
    checked = 0
    for method, path in _routes(client.app):
        if is_public(path):
            continue
        response = await client.request(method, path.replace("/tickets/1", f"/tickets/{ticket.id}"), headers=auth,
                                        json={"text": "hello"}, allow_redirects=False)  # fmt: skip
        assert response.status == 401, (method, path, response.status)
        checked += 1
    assert checked >= 15
    await client.app[STAFF_DIRECTORY_KEY].set_enabled("ann@example.com", True)
    assert (await client.get("/api/me", headers=auth)).status == 401  # re-enabling does not revive old tokens
    await _nothing_happened(client, fake_rasa, ticket)


async def test_a_form_replayed_after_logout_is_refused(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    csrf = await login(client, "ann@example.com")
    ticket = await open_ticket(client)
    cookie = _session_cookie(client)
    assert (await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)).status == 303
    jar = {"rapport_session": cookie}
    for path in (f"/desk/tickets/{ticket.id}/claim", f"/desk/tickets/{ticket.id}/notes", "/logout"):
        replay = await client.post(path, data={"csrf_token": csrf, "text": "replayed"}, cookies=jar, allow_redirects=False)
        assert replay.status == 401, path
    api = await client.post(f"/api/tickets/{ticket.id}/claim", cookies=jar, headers={"X-CSRF-Token": csrf})
    assert api.status == 401
    await _nothing_happened(client, fake_rasa, ticket)
