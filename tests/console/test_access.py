"""Deny by default: every route needs a login except the public allow-list; CSRF; roles; headers."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from bot.console.keys import STORE
from bot.console.security import PUBLIC_PATHS, is_public
from tests.console.conftest import add_staff, login, open_ticket


def _concrete(path: str) -> str:
    """A real URL for a route pattern: numeric ids, the first alternative of a choice."""
    path = re.sub(r"\{[^}:]+:\\d\+\}", "1", path)
    path = re.sub(r"\{[^}:]+:([^|}]+)[^}]*\}", r"\1", path)
    return re.sub(r"\{[^}]+\}", "x", path)


def _routes(app: web.Application) -> list[tuple[str, str]]:
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or (info.get("prefix", "") + "/console.css")
        found.append((route.method, _concrete(path)))
    return sorted(set(found))


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
    assert (await client.app[STORE].get_ticket(ticket.id)).status == "waiting"
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
