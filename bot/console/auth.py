"""Logging in and out of the console: login CSRF, throttling (bot.console.throttle), session cookies."""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.boundary import BadInput, check_identifier, check_unicode
from bot.console.bodies import read_form
from bot.console.keys import SESSIONS_KEY, SETTINGS_KEY, STAFF_DIRECTORY_KEY, THROTTLE_KEY
from bot.console.render import page
from bot.console.security import CSRF_FIELD, REQUEST_SESSION, SESSION_COOKIE, roles
from bot.console.sessions import csrf_matches
from bot.staff import MAX_EMAIL, ROLES, StaffInputError, check_email

LOGIN_CSRF_COOKIE = "rapport_login_csrf"


def _client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


def _login_page(request: web.Request, *, status: int = 200, error: str = "", email: str = "",
                headers: dict[str, str] | None = None) -> web.Response:
    # Keep an existing token: a second tab (or the browser's favicon request, redirected here)
    # must not invalidate the form already on screen.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(24)
    response = page(request, "login.html", status=status, login_csrf=token, error=error, email=email)
    response.headers.update(headers or {})
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=request.app[SETTINGS_KEY].console.cookie_secure,
        path="/login", max_age=3600,
    )  # fmt: skip
    return response


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get(CSRF_FIELD)):
        return _login_page(request, status=403, error="Your login form expired; please try again.")
    try:
        email = check_email(check_identifier(form.get("email", ""), "email", max_chars=MAX_EMAIL))
        password = check_unicode(form.get("password", ""), "password")
    except (BadInput, StaffInputError):
        # Nothing is looked up or counted for what cannot be an account's email.
        return _login_page(request, status=400, error="Enter your email address (name@example.com) and your password.")
    ip = _client_ip(request)
    throttle = request.app[THROTTLE_KEY]
    refusal = await throttle.check(email, ip)
    if refusal is not None:
        return _login_page(request, status=429, error=refusal.message, email=email,
                           headers={"Retry-After": str(int(refusal.retry_after.total_seconds()) + 1)})
    staff = await request.app[STAFF_DIRECTORY_KEY].check_login(email, password)
    if staff is None:
        await throttle.failed(email, ip)
        return _login_page(request, status=401, error="Wrong email or password, or the account is disabled.", email=email)
    await throttle.succeeded(email, ip)
    session = await request.app[SESSIONS_KEY].start(staff)
    response = web.HTTPSeeOther("/")
    settings = request.app[SETTINGS_KEY]
    response.set_cookie(
        SESSION_COOKIE, session.token, httponly=True, samesite="Lax", secure=settings.console.cookie_secure, path="/",
        max_age=settings.console.session_hours * 3600,
    )  # fmt: skip
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@roles(*ROLES)
async def logout(request: web.Request) -> web.StreamResponse:
    session = request.get(REQUEST_SESSION)
    if session is not None:
        await request.app[SESSIONS_KEY].end(session.token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def add_auth_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
