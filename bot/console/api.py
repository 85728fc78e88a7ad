"""The JSON API under ``/api/``: the desk operations for scripts and other tools.

Authenticated by ``Authorization: Bearer <token>`` (or the console session plus CSRF header).
Each handler reads its input, calls :class:`bot.handoff.desk.Desk` and returns JSON.
"""

from __future__ import annotations

from aiohttp import web

from bot.console import serialize
from bot.console.bodies import read_json
from bot.console.keys import DESK_KEY
from bot.console.openapi import document
from bot.console.render import json_response
from bot.console.security import current_staff, roles
from bot.staff import DESK_ROLES, ROLES


def _ticket_id(request: web.Request) -> str:
    return request.match_info["ticket_id"]


async def openapi(request: web.Request) -> web.Response:
    return json_response(document())


@roles(*ROLES)
async def me(request: web.Request) -> web.Response:
    return json_response(serialize.staff(current_staff(request)))


@roles(*DESK_ROLES)
async def queue(request: web.Request) -> web.Response:
    entries = await request.app[DESK_KEY].queue()
    return json_response({"tickets": [serialize.queue_entry(e) for e in entries]})


@roles(*DESK_ROLES)
async def get_ticket(request: web.Request) -> web.Response:
    return json_response(serialize.ticket(await request.app[DESK_KEY].ticket(_ticket_id(request))))


@roles(*DESK_ROLES)
async def claim(request: web.Request) -> web.Response:
    ticket = await request.app[DESK_KEY].claim(_ticket_id(request), current_staff(request))
    return json_response(serialize.ticket(ticket))


@roles(*DESK_ROLES)
async def reply(request: web.Request) -> web.Response:
    body = await read_json(request)
    delivered = await request.app[DESK_KEY].reply(_ticket_id(request), current_staff(request), body.get("text"))
    return json_response({"delivered": delivered, "queued": not delivered}, status=200 if delivered else 202)


@roles(*DESK_ROLES)
async def transfer(request: web.Request) -> web.Response:
    body = await read_json(request)
    ticket = await request.app[DESK_KEY].transfer(
        _ticket_id(request), current_staff(request), to_staff_id=body.get("staff_id"), team=body.get("team")
    )
    return json_response(serialize.ticket(ticket))


@roles(*DESK_ROLES)
async def close(request: web.Request) -> web.Response:
    return json_response(serialize.ticket(await request.app[DESK_KEY].close(_ticket_id(request), current_staff(request))))


@roles(*DESK_ROLES)
async def transcript(request: web.Request) -> web.Response:
    lines = await request.app[DESK_KEY].transcript(_ticket_id(request))
    return json_response({"messages": [serialize.line(item) for item in lines]})


@roles(*DESK_ROLES)
async def profile(request: web.Request) -> web.Response:
    return json_response(serialize.profile(await request.app[DESK_KEY].profile(_ticket_id(request))))


@roles(*DESK_ROLES)
async def list_notes(request: web.Request) -> web.Response:
    notes = await request.app[DESK_KEY].notes(_ticket_id(request))
    return json_response({"notes": [serialize.note(n) for n in notes]})


@roles(*DESK_ROLES)
async def add_note(request: web.Request) -> web.Response:
    body = await read_json(request)
    note = await request.app[DESK_KEY].add_note(_ticket_id(request), current_staff(request), body.get("text"))
    return json_response(serialize.note(note), status=201)


@roles(*DESK_ROLES)
async def canned_replies(request: web.Request) -> web.Response:
    return json_response({"canned_replies": [serialize.canned(c) for c in request.app[DESK_KEY].canned]})


def add_api_routes(app: web.Application) -> None:
    ticket = r"/api/tickets/{ticket_id:\d+}"
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/queue", queue)
    app.router.add_get("/api/canned-replies", canned_replies)
    app.router.add_get(ticket, get_ticket)
    app.router.add_post(f"{ticket}/claim", claim)
    app.router.add_post(f"{ticket}/reply", reply)
    app.router.add_post(f"{ticket}/transfer", transfer)
    app.router.add_post(f"{ticket}/close", close)
    app.router.add_get(f"{ticket}/transcript", transcript)
    app.router.add_get(f"{ticket}/profile", profile)
    app.router.add_get(f"{ticket}/notes", list_notes)
    app.router.add_post(f"{ticket}/notes", add_note)
