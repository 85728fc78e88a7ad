"""Reading request bodies at the boundary: JSON objects and URL-encoded forms, strictly.

Wrong content type → 415, body over ``client_max_size`` → 413 (aiohttp); the rest is
:mod:`bot.boundary`'s rule: not UTF-8, not well formed, nested too deep, NaN or a lone surrogate →
:class:`~bot.boundary.BadInput` (400), which the error middleware answers.  Never a 5xx for what a
client sent.  The fields themselves are checked by the handlers (``check_text``, ``check_identifier``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.boundary import BadInput, decode_utf8, parse_json_object

MAX_FIELDS = 50
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_FORM_KEY = "rapport.form"


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (:func:`bot.boundary.parse_json_object`)."""
    if request.content_type != _JSON:
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    raw = await request.read()  # raises HTTPRequestEntityTooLarge past client_max_size
    return parse_json_object(raw)


def is_form(request: web.Request) -> bool:
    return request.content_type == _FORM


async def read_form(request: web.Request) -> dict[str, str]:
    """A URL-encoded form as one value per field (read once, then cached on the request)."""
    if _FORM_KEY in request:
        return dict(request[_FORM_KEY])
    if not is_form(request):
        raise web.HTTPUnsupportedMediaType(text="send the form as application/x-www-form-urlencoded")
    text = decode_utf8(await request.read(), "form")
    try:
        # errors="strict": a percent-escape that is not UTF-8 (a lone surrogate among them) is refused.
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput("malformed form data (not UTF-8, or too many fields)") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise BadInput(f"field {key!r} given twice")
        form[key] = value
    request[_FORM_KEY] = form
    return dict(form)
