"""Reading request bodies at the boundary: JSON objects and URL-encoded forms, strictly.

Wrong content type → 415, body over ``client_max_size`` → 413 (aiohttp), anything not UTF-8 or not
well formed → 400.  Never a 5xx for what a client sent.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

MAX_FIELDS = 50
_FORM = "application/x-www-form-urlencoded"
_FORM_KEY = "rapport.form"


class BadBody(web.HTTPBadRequest):
    """The body could not be read as what the route expects."""

    def __init__(self, message: str) -> None:
        super().__init__(text=message)


async def _utf8(request: web.Request) -> str:
    raw = await request.read()  # raises HTTPRequestEntityTooLarge past client_max_size
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody("the body is not valid UTF-8") from exc


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    text = await _utf8(request)
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadBody(f"malformed JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadBody("the body must be a JSON object")
    return value


def is_form(request: web.Request) -> bool:
    return request.content_type == _FORM


async def read_form(request: web.Request) -> dict[str, str]:
    """A URL-encoded form as one value per field (read once, then cached on the request)."""
    if _FORM_KEY in request:
        return dict(request[_FORM_KEY])
    if not is_form(request):
        raise web.HTTPUnsupportedMediaType(text="send the form as application/x-www-form-urlencoded")
    text = await _utf8(request)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadBody("malformed form data") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise BadBody(f"field {key!r} given twice")
        form[key] = value
    request[_FORM_KEY] = form
    return dict(form)
