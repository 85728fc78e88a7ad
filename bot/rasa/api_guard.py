"""Rasa's own HTTP API answers bad input with a 400, not a 500 (runs in the Rasa server).

Rasa 3.6 checks the token of its HTTP API but not what the caller sends: a lone surrogate, JSON
nested 1000 levels deep, ``NaN``, or a number where text belongs made ``/model/parse``,
``/conversations/{id}/messages``, ``…/execute``, ``…/trigger_intent`` and ``…/tracker/events``
answer 500. The console is the usual caller and is careful, but the API is an entry point like
any other, so a request middleware checks every body and conversation id with
:mod:`bot.boundary` before Rasa's handler runs. The channels' webhooks (``/webhooks/…``,
``/socket.io``) check their own input and are passed through.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable
from urllib.parse import unquote_to_bytes

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.boundary import BadInput, check_identifier, check_text, decode_utf8, parse_json

logger = logging.getLogger(__name__)

_PASSED = ("/webhooks/", "/socket.io")
_CONVERSATION = re.compile(r"^/conversations/(?P<id>.+?)/(?P<what>tracker/events|tracker|story|execute|trigger_intent|predict|messages)$")
_JSON_BODIES = ("/model/parse", "/model/predict", "/conversations/", "/model")
_INSTALLED = "rapport_api_guard"


def _object(document: Any, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise BadInput(f"{what} must be a JSON object")
    return document


def _text_field(document: dict[str, Any], field: str) -> None:
    check_text(document.get(field), field)


def _name_field(document: dict[str, Any], field: str) -> None:
    check_identifier(document.get(field), field)


def _events(document: Any, what: str) -> None:
    items = document if isinstance(document, list) else [document]
    if not all(isinstance(item, dict) for item in items):
        raise BadInput(f"{what} must be an event object or a list of event objects")


#: The shape each JSON route needs beyond valid JSON; Rasa validates the rest itself.
_SHAPES: dict[str, Callable[[Any], None]] = {
    "/model/parse": lambda d: _text_field(_object(d, "the body"), "text"),
    "messages": lambda d: (_text_field(_object(d, "the body"), "text"), _name_field(d, "sender")),
    "execute": lambda d: _name_field(_object(d, "the body"), "name"),
    "trigger_intent": lambda d: _name_field(_object(d, "the body"), "name"),
    "tracker/events": lambda d: _events(d, "the body"),
    "/model": lambda d: _object(d, "the body"),
}


def check_request(method: str, raw_path: bytes, body: bytes | None) -> None:
    """Raise BadInput for a request Rasa's API would answer with a 5xx."""
    path = decode_utf8(unquote_to_bytes(raw_path), "the URL path")
    shape_key = path
    conversation = _CONVERSATION.match(path)
    if conversation:
        check_identifier(conversation["id"], "conversation id")
        shape_key = conversation["what"]
    if method not in ("POST", "PUT") or not body or not path.startswith(_JSON_BODIES):
        return
    if path.startswith("/model/") and path not in ("/model/parse", "/model/predict"):
        decode_utf8(body)  # training data and test stories are YAML or Markdown; Rasa parses those
        return
    document = parse_json(body)
    shape = _SHAPES.get(shape_key)
    if shape is not None:
        shape(document)


async def _guard(request: Request) -> HTTPResponse | None:
    if request.path.startswith(_PASSED):
        return None
    try:
        check_request(request.method, request.raw_url.split(b"?", 1)[0], request.body)
    except BadInput as exc:
        return response.json({"version": None, "status": "failure", "reason": "BadRequest",
                              "message": str(exc), "code": exc.status}, status=exc.status)
    return None


def install(app: Sanic | None = None) -> bool:
    """Put the check in front of Rasa's HTTP API; called once when the channels are registered."""
    if app is None:
        try:
            app = Sanic.get_app()
        except Exception:  # noqa: BLE001 - no single Rasa app (e.g. imported by a tool): nothing to guard
            return False
    if getattr(app.ctx, _INSTALLED, False):
        return True
    app.register_middleware(_guard, "request")
    setattr(app.ctx, _INSTALLED, True)
    logger.debug("Rasa HTTP API input checks installed")
    return True
