"""Logging in: argon2id passwords, session cookies, login CSRF, rate limiting, disabled accounts."""

from __future__ import annotations

from bot.console.keys import STAFF, STORE
from tests.console.conftest import PASSWORD, add_staff, form_csrf, login


async def _attempt(client, email: str, password: str):
    page = await (await client.get("/login")).text()
    return await client.post(
        "/login", data={"csrf_token": form_csrf(page), "email": email, "password": password}, allow_redirects=False
    )


async def test_login_sets_an_httponly_lax_session_cookie_and_passwords_are_argon2id(client):
    await add_staff(client, "ann@example.com")
    response = await _attempt(client, "ann@example.com", PASSWORD)
    assert response.status == 303
    cookie = response.cookies["rapport_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    from bot.staff import staff_table

    async with client.app[STORE].database.read() as session:
        stored = (await session.execute(staff_table.select())).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_wrong_password_and_unknown_account_get_the_same_answer(client):
    await add_staff(client, "ann@example.com")
    wrong = await _attempt(client, "ann@example.com", "not the password")
    unknown = await _attempt(client, "nobody@example.com", PASSWORD)
    assert wrong.status == unknown.status == 401
    assert "rapport_session" not in wrong.cookies


async def test_login_without_its_csrf_token_is_refused(client):
    await add_staff(client, "ann@example.com")
    response = await client.post("/login", data={"email": "ann@example.com", "password": PASSWORD}, allow_redirects=False)
    assert response.status == 403
    forged = await client.post("/login", data={"csrf_token": "x", "email": "ann@example.com", "password": PASSWORD})
    assert forged.status == 403


async def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_right_password(client):
    await add_staff(client, "ann@example.com")
    for _ in range(5):
        assert (await _attempt(client, "ann@example.com", "wrong password!")).status == 401
    locked = await _attempt(client, "ann@example.com", PASSWORD)
    assert locked.status == 429
    assert "Too many failed logins" in await locked.text()


async def test_failures_from_one_address_against_many_accounts_are_limited_too(client):
    await add_staff(client, "ann@example.com")
    for number in range(5):
        await _attempt(client, f"guess{number}@example.com", "whatever password")
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 429


async def test_disabled_staff_cannot_log_in_and_lose_their_sessions_and_tokens(client):
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    token = await client.app[STAFF].create_token("ann@example.com")
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status == 200
    await client.app[STAFF].set_enabled("ann@example.com", False)
    assert (await client.get("/desk", allow_redirects=False)).status == 303
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status == 401
    client.session.cookie_jar.clear()
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 401
    await client.app[STAFF].set_enabled("ann@example.com", True)
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 303


async def test_logout_ends_the_session_on_the_server(client):
    await add_staff(client, "ann@example.com")
    csrf = await login(client, "ann@example.com")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["rapport_session"].value
    response = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    replay = await client.get("/api/me", cookies={"rapport_session": cookie})
    assert replay.status == 401


async def test_bad_login_bodies_are_answered_with_4xx(client):
    assert (await client.post("/login", data=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"})).status == 400
    assert (await client.post("/login", json={"email": "a"})).status == 415
    assert (await client.post("/login", data=b"a=" + b"x" * 70000, headers={"Content-Type": "application/x-www-form-urlencoded"})).status == 413
    assert (await client.post("/login", data=b"email=%ff", headers={"Content-Type": "application/x-www-form-urlencoded"})).status == 400
