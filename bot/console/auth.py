"""Logging in and out of the console: login CSRF, rate limiting, session cookies."""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.console.bodies import read_form
from bot.console.keys import SESSIONS, SETTINGS, STAFF
from bot.console.render import page
from bot.console.security import ANY_STAFF, CSRF_FIELD, SESSION_COOKIE, SESSION_KEY, roles
from bot.console.sessions import csrf_matches

LOGIN_CSRF_COOKIE = "rapport_login_csrf"


def _client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


def _login_page(request: web.Request, *, status: int = 200, error: str = "", email: str = "") -> web.Response:
    # Keep an existing token: a second tab (or the browser's favicon request, redirected here)
    # must not invalidate the form already on screen.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(24)
    response = page(request, "login.html", status=status, login_csrf=token, error=error, email=email)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=request.app[SETTINGS].console.cookie_secure,
        path="/login", max_age=3600,
    )  # fmt: skip
    return response


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get(CSRF_FIELD)):
        return _login_page(request, status=403, error="Your login form expired; please try again.")
    email, password = form.get("email", "").strip().lower()[:254], form.get("password", "")
    ip = _client_ip(request)
    sessions = request.app[SESSIONS]
    if await sessions.locked_out(email, ip):
        return _login_page(request, status=429, error="Too many failed logins. Wait 15 minutes and try again.", email=email)
    staff = await request.app[STAFF].check_login(email, password)
    await sessions.record_attempt(email, ip, staff is not None)
    if staff is None:
        return _login_page(request, status=401, error="Wrong email or password, or the account is disabled.", email=email)
    session = await sessions.start(staff)
    response = web.HTTPSeeOther("/")
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE, session.token, httponly=True, samesite="Lax", secure=settings.console.cookie_secure, path="/",
        max_age=settings.console.session_hours * 3600,
    )  # fmt: skip
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@roles(*ANY_STAFF)
async def logout(request: web.Request) -> web.StreamResponse:
    session = request.get(SESSION_KEY)
    if session is not None:
        await request.app[SESSIONS].end(session.token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def add_auth_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
