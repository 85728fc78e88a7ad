"""Logging in: argon2id passwords, session cookies, login CSRF, throttling that cannot lock everyone out, disabled accounts."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta
from typing import AsyncIterator

import aiohttp
import sqlalchemy as sa

from bot.console.keys import STAFF_DIRECTORY_KEY, STORE_KEY, THROTTLE_KEY
from bot.console.throttle import PER_ACCOUNT, PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS, WINDOW
from bot.store.models import login_attempts
from bot.store.validation import utcnow
from tests.console.conftest import PASSWORD, add_staff, form_csrf, login


async def _attempt(client, email: str, password: str, via: aiohttp.ClientSession | None = None):
    """One login through the form, from the test client or from ``via`` (another client address)."""
    if via is None:
        page = await (await client.get("/login")).text()
        return await client.post(
            "/login", data={"csrf_token": form_csrf(page), "email": email, "password": password}, allow_redirects=False
        )
    page = await (await via.get(client.make_url("/login"))).text()
    return await via.post(
        client.make_url("/login"), data={"csrf_token": form_csrf(page), "email": email, "password": password},
        allow_redirects=False,
    )  # fmt: skip


@asynccontextmanager
async def from_address(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser on another machine: its connections leave from ``address`` (any 127.x.y.z is loopback)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def test_login_sets_an_httponly_lax_session_cookie_and_passwords_are_argon2id(client):
    await add_staff(client, "ann@example.com")
    response = await _attempt(client, "ann@example.com", PASSWORD)
    assert response.status == 303
    cookie = response.cookies["rapport_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    from bot.store.models import staff_accounts

    async with client.app[STORE_KEY].database.read() as session:
        stored = (await session.execute(staff_accounts.select())).one().password_hash
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


async def test_a_locked_account_does_not_lock_out_another_account_from_the_same_address(client):
    await add_staff(client, "ann@example.com")
    await add_staff(client, "bob@example.com")
    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        assert (await _attempt(client, "ann@example.com", "wrong password!")).status == 401
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 429
    assert (await _attempt(client, "bob@example.com", PASSWORD)).status == 303


async def test_an_account_locked_from_one_address_still_logs_in_from_another(client):
    await add_staff(client, "ann@example.com")
    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        await _attempt(client, "ann@example.com", "wrong password!")
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 429
    async with from_address("127.0.0.2") as elsewhere:
        assert (await _attempt(client, "ann@example.com", PASSWORD, via=elsewhere)).status == 303


async def test_twenty_failures_for_one_account_from_many_addresses_lock_that_account_everywhere(client):
    await add_staff(client, "ann@example.com")
    await add_staff(client, "bob@example.com")
    addresses = [f"127.0.0.{n}" for n in range(2, 2 + PER_ACCOUNT // (PER_ACCOUNT_AND_ADDRESS - 1))]
    for address in addresses:  # each address stays under its own limit of five
        async with from_address(address) as guesser:
            for _ in range(PER_ACCOUNT_AND_ADDRESS - 1):
                assert (await _attempt(client, "ann@example.com", "wrong password!", via=guesser)).status == 401
    async with from_address("127.0.0.99") as elsewhere:
        locked = await _attempt(client, "ann@example.com", PASSWORD, via=elsewhere)
        assert locked.status == 429 and "for this account" in await locked.text()
        assert (await _attempt(client, "bob@example.com", PASSWORD, via=elsewhere)).status == 303
    assert (await _attempt(client, "bob@example.com", PASSWORD)).status == 303


async def test_a_hundred_failures_from_one_address_refuse_that_address_but_not_others(client):
    await add_staff(client, "bob@example.com")
    throttle = client.app[THROTTLE_KEY]
    for number in range(PER_ADDRESS - 1):  # a proxy's address: many staff, each under their own limit
        await throttle.failed(f"someone{number % 40}@example.com", "127.0.0.1")
    assert (await _attempt(client, "guess@example.com", "wrong password!")).status == 401  # the hundredth
    refused = await _attempt(client, "bob@example.com", PASSWORD)
    assert refused.status == 429 and "from this address" in await refused.text()
    async with from_address("127.0.0.2") as elsewhere:
        assert (await _attempt(client, "bob@example.com", PASSWORD, via=elsewhere)).status == 303


async def test_failures_older_than_fifteen_minutes_no_longer_count(client):
    await add_staff(client, "ann@example.com")
    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        await _attempt(client, "ann@example.com", "wrong password!")
    locked = await _attempt(client, "ann@example.com", PASSWORD)
    assert locked.status == 429
    assert 0 < int(locked.headers["Retry-After"]) <= WINDOW.total_seconds() + 1
    earlier = sa.update(login_attempts).values(at=utcnow() - WINDOW - timedelta(seconds=1))
    await client.app[STORE_KEY].database.run(lambda connection: connection.execute(earlier))
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 303


async def test_a_successful_login_clears_that_accounts_failures_from_that_address(client):
    await add_staff(client, "ann@example.com")
    for _ in range(PER_ACCOUNT_AND_ADDRESS - 1):
        assert (await _attempt(client, "ann@example.com", "wrong password!")).status == 401
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 303
    client.session.cookie_jar.clear()
    for _ in range(PER_ACCOUNT_AND_ADDRESS - 1):
        assert (await _attempt(client, "ann@example.com", "wrong password!")).status == 401
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 303


async def test_what_cannot_be_an_email_is_refused_without_counting(client):
    await add_staff(client, "ann@example.com")
    for email in ("ann\x00@example.com", "\u200bann@example.com", "not-an-email", "", "a" * 300 + "@example.com"):
        response = await _attempt(client, email, "wrong password!")
        assert response.status == 400 and "name@example.com" in await response.text(), email
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 303


async def test_disabled_staff_cannot_log_in_and_lose_their_sessions_and_tokens(client):
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    token = await client.app[STAFF_DIRECTORY_KEY].create_token("ann@example.com")
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status == 200
    await client.app[STAFF_DIRECTORY_KEY].set_enabled("ann@example.com", False)
    assert (await client.get("/desk", allow_redirects=False)).status == 303
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status == 401
    client.session.cookie_jar.clear()
    assert (await _attempt(client, "ann@example.com", PASSWORD)).status == 401
    await client.app[STAFF_DIRECTORY_KEY].set_enabled("ann@example.com", True)
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
