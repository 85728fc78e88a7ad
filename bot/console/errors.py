"""One error middleware: specific exceptions → clear HTTP answers (JSON for the API, HTML for pages)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.boundary import BadInput
from bot.console.render import json_response, page
from bot.console.security import Handler, wants_json
from bot.handoff.canned import CannedRepliesError
from bot.handoff.desk import NotTicketHolder
from bot.rasa_client import RasaError, RasaUnavailable
from bot.staff import StaffExists, StaffInputError, StaffNotFound
from bot.store import InvalidInput, PersonNotFound, TicketConflict, TicketNotFound

logger = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (StaffInputError, 400),
    (InvalidInput, 400),
    (NotTicketHolder, 403),
    (TicketNotFound, 404),
    (PersonNotFound, 404),
    (StaffNotFound, 404),
    (TicketConflict, 409),
    (StaffExists, 409),
    (RasaUnavailable, 503),
    (RasaError, 502),
    (CannedRepliesError, 500),
)


def error_response(request: web.Request, status: int, message: str) -> web.Response:
    if wants_json(request):
        return json_response({"error": {"status": status, "message": message}}, status=status)
    return page(request, "error.html", status=status, code=status, message=message)


#: The longest path segment a file system accepts; aiohttp's static handler raised on longer ones (a 500).
MAX_PATH_SEGMENT_BYTES = 255


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_PATH_SEGMENT_BYTES for part in request.path.split("/")):
        return error_response(request, 404, "Not Found")
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        response = error_response(request, exc.status, message or exc.reason)
        for name in ("Allow", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except BadInput as exc:  # the boundary's refusals (bodies, fields, desk input) carry their 4xx
        return error_response(request, exc.status, str(exc))
    except Exception as exc:
        for kind, status in _STATUS:
            if isinstance(exc, kind):
                if status >= 500:
                    logger.warning("%s %s: %s", request.method, request.path, exc)
                return error_response(request, status, str(exc))
        raise
