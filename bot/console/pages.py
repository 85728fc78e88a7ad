"""The console's HTML pages: home, live queue, conversation view, staff admin.

Forms post back here and are answered with a redirect; the work is done by the same
:class:`bot.handoff.desk.Desk` the JSON API uses.
"""

from __future__ import annotations

from aiohttp import web

from bot.boundary import check_identifier, check_unicode
from bot.console.bodies import read_form
from bot.console.keys import DESK_KEY, STAFF_DIRECTORY_KEY
from bot.console.render import page
from bot.console.security import current_staff, roles
from bot.rasa_client import RasaUnavailable
from bot.staff import ADMIN_ROLES, DESK_ROLES, MAX_EMAIL, MAX_NAME, ROLES, check_password


def _identifier(form: dict[str, str], name: str, max_chars: int) -> str:
    """A one-line form field (email, name, role): printable, non-blank, bounded (bot.boundary)."""
    return check_identifier(form.get(name, ""), name, max_chars=max_chars)


def _back_to(ticket_id: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/desk/tickets/{ticket_id}")


@roles(*ROLES)
async def home(request: web.Request) -> web.StreamResponse:
    if current_staff(request).uses_desk:
        raise web.HTTPSeeOther("/desk")
    return page(request, "home.html")


@roles(*DESK_ROLES)
async def queue_page(request: web.Request) -> web.Response:
    return page(request, "queue.html", entries=await request.app[DESK_KEY].queue())


@roles(*DESK_ROLES)
async def ticket_page(request: web.Request) -> web.Response:
    desk = request.app[DESK_KEY]
    ticket_id = request.match_info["ticket_id"]
    ticket = await desk.ticket(ticket_id)
    try:
        transcript, transcript_error = await desk.transcript(ticket.id), ""
    except RasaUnavailable:
        transcript, transcript_error = [], "The transcript is unavailable while the assistant is not reachable."
    colleagues = [m for m in await request.app[STAFF_DIRECTORY_KEY].list() if m.enabled and m.uses_desk and m.id != current_staff(request).id]
    return page(
        request,
        "ticket.html",
        ticket=ticket,
        transcript=transcript,
        transcript_error=transcript_error,
        profile=await desk.profile(ticket.id),
        canned=desk.canned,
        colleagues=colleagues,
        holds=ticket.status == "claimed" and (ticket.assigned_staff_id == current_staff(request).id or current_staff(request).role == "admin"),
    )


@roles(*DESK_ROLES)
async def claim(request: web.Request) -> web.StreamResponse:
    await request.app[DESK_KEY].claim(request.match_info["ticket_id"], current_staff(request))
    raise _back_to(request.match_info["ticket_id"])


@roles(*DESK_ROLES)
async def reply(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await request.app[DESK_KEY].reply(request.match_info["ticket_id"], current_staff(request), form.get("text"))
    raise _back_to(request.match_info["ticket_id"])


@roles(*DESK_ROLES)
async def transfer(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await request.app[DESK_KEY].transfer(
        request.match_info["ticket_id"], current_staff(request), to_staff_id=form.get("staff_id"), team=form.get("team")
    )
    raise web.HTTPSeeOther("/desk")


@roles(*DESK_ROLES)
async def close(request: web.Request) -> web.StreamResponse:
    await request.app[DESK_KEY].close(request.match_info["ticket_id"], current_staff(request))
    raise web.HTTPSeeOther("/desk")


@roles(*DESK_ROLES)
async def add_note(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await request.app[DESK_KEY].add_note(request.match_info["ticket_id"], current_staff(request), form.get("text"))
    raise _back_to(request.match_info["ticket_id"])


@roles(*ADMIN_ROLES)
async def staff_page(request: web.Request) -> web.Response:
    return page(request, "staff.html", members=await request.app[STAFF_DIRECTORY_KEY].list(), roles=ROLES)


@roles(*ADMIN_ROLES)
async def add_staff(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await request.app[STAFF_DIRECTORY_KEY].add(
        email=_identifier(form, "email", MAX_EMAIL), name=_identifier(form, "name", MAX_NAME),
        role=_identifier(form, "role", max(map(len, ROLES))), password=check_password(check_unicode(form.get("password", ""), "password")),
    )  # fmt: skip
    raise web.HTTPSeeOther("/staff")


@roles(*ADMIN_ROLES)
async def set_enabled(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    email = _identifier(form, "email", MAX_EMAIL)
    enable = request.match_info["action"] == "enable"
    if not enable and email.strip().lower() == current_staff(request).email:
        raise web.HTTPBadRequest(text="you cannot disable your own account")
    await request.app[STAFF_DIRECTORY_KEY].set_enabled(email, enable)
    raise web.HTTPSeeOther("/staff")


def add_page_routes(app: web.Application) -> None:
    ticket = r"/desk/tickets/{ticket_id:\d+}"
    app.router.add_get("/", home)
    app.router.add_get("/desk", queue_page)
    app.router.add_get(ticket, ticket_page)
    app.router.add_post(f"{ticket}/claim", claim)
    app.router.add_post(f"{ticket}/reply", reply)
    app.router.add_post(f"{ticket}/transfer", transfer)
    app.router.add_post(f"{ticket}/close", close)
    app.router.add_post(f"{ticket}/notes", add_note)
    app.router.add_get("/staff", staff_page)
    app.router.add_post("/staff", add_staff)
    app.router.add_post("/staff/{action:enable|disable}", set_enabled)
