"""Who may reach what: deny-by-default login, roles per route, CSRF, and security headers.

Every route needs a logged-in staff member unless its path is on :data:`PUBLIC_PATHS` /
:data:`PUBLIC_PREFIXES`; a route without declared roles is for admins only.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web

from bot.console.bodies import is_form, read_form
from bot.console.keys import SESSIONS_KEY, STAFF_DIRECTORY_KEY
from bot.console.sessions import csrf_matches
from bot.staff import ADMIN_ROLES, ROLES, StaffMember
from bot.webchat import PREFIX as CHAT_PREFIX
from bot.webchat import is_chat_path

PUBLIC_PATHS = frozenset({"/health", "/login", "/api/openapi.json", CHAT_PREFIX})
PUBLIC_PREFIXES = (f"{CHAT_PREFIX}/", "/static/")
SESSION_COOKIE = "rapport_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ROLES_ATTR = "rapport_roles"
REQUEST_STAFF = "rapport.staff"
REQUEST_SESSION = "rapport.session"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def roles(*allowed: str) -> Callable[[H], H]:
    """Declare which staff roles may use a route (checked by :func:`auth_middleware`)."""
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(handler: H) -> H:
        setattr(handler, _ROLES_ATTR, frozenset(allowed))
        return handler

    return mark


def current_staff(request: web.Request) -> StaffMember:
    """The staff member a request was let in for (set by :func:`auth_middleware`)."""
    return request[REQUEST_STAFF]


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/ws"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: a strict CSP on every response (a handler's own CSP is kept).

    The web chat's answers are left to its own hook (:func:`bot.webchat.routes.chat_headers`): they
    must stay embeddable in other sites' pages."""
    if is_chat_path(request.path):
        return
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", CONSOLE_CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    if not is_public(request.path):
        headers.setdefault("Cache-Control", "no-store")


async def _authenticate(request: web.Request) -> tuple[Any, Any]:
    """(staff, session): by ``Authorization: Bearer`` token, else by the session cookie."""
    authorization = request.headers.get("Authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, None
        return await request.app[STAFF_DIRECTORY_KEY].by_token(token.strip()), None
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie:
        return None, None
    session = await request.app[SESSIONS_KEY].find(cookie)
    return (session.staff, session) if session is not None else (None, None)


async def _check_csrf(request: web.Request, expected: str) -> None:
    given: object = request.headers.get(CSRF_HEADER)
    if given is None and is_form(request):
        given = (await read_form(request)).get(CSRF_FIELD)
    if not csrf_matches(expected, given):
        raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page and try again")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Deny by default: log in, pass CSRF on state-changing cookie requests, have the route's role."""
    if is_public(request.path):
        return await handler(request)
    staff, session = await _authenticate(request)
    if staff is None:
        # A script (a JSON route, a form post, or anything sending a token) gets 401; a browser the login page.
        if wants_json(request) or request.method not in SAFE_METHODS or "Authorization" in request.headers:
            raise web.HTTPUnauthorized(text="log in or send Authorization: Bearer <token>")
        raise web.HTTPSeeOther("/login")
    request[REQUEST_STAFF], request[REQUEST_SESSION] = staff, session
    if session is not None and request.method not in SAFE_METHODS:
        await _check_csrf(request, session.csrf_token)
    if request.match_info.http_exception is None:
        allowed = getattr(request.match_info.handler, _ROLES_ATTR, ADMIN_ROLES)
        if staff.role not in allowed:
            raise web.HTTPForbidden(text=f"the {staff.role} role cannot use this")
    return await handler(request)
