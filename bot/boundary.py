"""The one check of what strangers send, used by every entry point (pure functions).

Webhooks, socket.io, the console's forms and JSON API and the CLI all read text, identifiers and
JSON through these functions, so one rule holds everywhere:

- text must be real Unicode: a lone UTF-16 surrogate (``"\\ud800"`` in JSON) cannot be stored,
  encoded or logged, and once stored it broke every later read, so it is refused at the door;
- identifiers (sender ids, session ids, team names) are also free of control and format characters;
- JSON is refused past :data:`MAX_JSON_DEPTH` levels of nesting, with ``NaN``/``Infinity``, or with
  invalid Unicode in any key or string;
- sizes are bounded, and a refusal is a :class:`BadInput` carrying a 4xx status and a message a
  client developer can act on.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

MAX_JSON_DEPTH = 20
MAX_MESSAGE_CHARS = 5_000
MAX_ID_CHARS = 256

#: What a customer sees when they send an empty or blank message (no turn is run for it).
BLANK_MESSAGE_REPLY = "I didn't catch a message there. What can I help you with?"

# Characters that are not text a person typed: C0/C1 controls, format characters (zero-width
# space, BOM, direction marks), line/paragraph separators, surrogates, private use, unassigned.
_NOT_IN_IDS = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_KEEP_IN_TEXT = {"\n", "\t"}


class BadInput(ValueError):
    """What a client sent cannot be used; ``status`` (4xx) and the message go back to it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _valid_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_unicode(value: str, field: str) -> str:
    """``value`` unchanged when it can be encoded as UTF-8 (no lone surrogates)."""
    if not _valid_unicode(value):
        raise BadInput(f"'{field}' is not valid Unicode (it contains a lone surrogate)")
    return value


def decode_utf8(body: bytes, what: str = "request body") -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} is not valid UTF-8 (byte {exc.start})") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_json_value(value: Any, *, max_depth: int = MAX_JSON_DEPTH, what: str = "request body") -> Any:
    """``value`` unchanged when it nests at most ``max_depth`` levels and all its text is valid Unicode."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            if not _valid_unicode(item):
                where = f" at {path}" if path else ""
                raise BadInput(f"{what} has text that is not valid Unicode (a lone surrogate){where}")
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                raise BadInput(f"{what} is nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    name = _printable(key)
                    stack.append((key, depth, f"{path}.{name}" if path else name))
                    stack.append((child, depth + 1, f"{path}.{name}" if path else name))
            else:
                stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, float) and item != item:  # NaN from a non-JSON source
            raise BadInput(f"{what} contains NaN, which is not JSON")
    return value


def _printable(key: Any) -> str:
    """A key as it can be shown in an error message (invalid Unicode escaped, long keys cut)."""
    text = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
    return f"'{text[:40]}'"


def parse_json(body: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, what: str = "request body") -> Any:
    """A strict JSON document: UTF-8, not empty, bounded nesting, valid Unicode, no NaN/Infinity."""
    text = decode_utf8(body, what) if isinstance(body, (bytes, bytearray)) else body
    if not text.strip():
        raise BadInput(f"{what} is empty")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise BadInput(f"{what} is nested deeper than {max_depth} levels") from exc
    except ValueError as exc:
        raise BadInput(f"{what} is not valid JSON: {exc}") from exc
    return check_json_value(value, max_depth=max_depth, what=what)


def parse_json_object(body: bytes | str, *, max_depth: int = MAX_JSON_DEPTH,
                      what: str = "request body") -> dict[str, Any]:
    value = parse_json(body, max_depth=max_depth, what=what)
    if not isinstance(value, dict):
        raise BadInput(f"{what} must be a JSON object")
    return value


def check_text(value: Any, field: str = "message", *, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """Text a person wrote: a string of valid Unicode, at most ``max_chars``, control characters removed.

    Newlines and tabs are kept; other C0/C1 control characters (NUL among them) are dropped.
    """
    if not isinstance(value, str):
        raise BadInput(f"'{field}' is required and must be a string")
    if len(value) > max_chars:
        raise BadInput(f"'{field}' is longer than {max_chars} characters", status=413)
    check_unicode(value, field)
    if any(_is_control(ch) for ch in value):
        value = "".join(ch for ch in value if not _is_control(ch))
    return value


def _is_control(ch: str) -> bool:
    return ch not in _KEEP_IN_TEXT and unicodedata.category(ch) == "Cc"


def is_blank(text: str) -> bool:
    """True when nothing in ``text`` is visible: empty, spaces, separators, zero-width or control characters."""
    return all(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp"} for ch in text)


def check_identifier(value: Any, field: str, *, max_chars: int = MAX_ID_CHARS) -> str:
    """An identifier (sender id, session id, name of a team): printable, non-blank, bounded.

    Whole numbers are accepted and turned into text (messaging platforms send numeric ids).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"'{field}' is required and must be a non-empty string")
    if len(value) > max_chars:
        raise BadInput(f"'{field}' is longer than {max_chars} characters")
    check_unicode(value, field)
    if any(unicodedata.category(ch) in _NOT_IN_IDS for ch in value):
        raise BadInput(f"'{field}' contains control or invisible characters")
    return value


def check_object(value: Any, field: str, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """An optional JSON object (metadata): ``{}`` when absent, refused when too large or too deep."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"'{field}' must be a JSON object")
    check_json_value(value, max_depth=max_depth, what=f"'{field}'")
    if len(json.dumps(value, default=str)) > max_bytes:
        raise BadInput(f"'{field}' is larger than {max_bytes} bytes", status=413)
    return value
