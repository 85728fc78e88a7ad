"""Validation of what customers' clients send, shared by every channel (pure functions)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_CHARS = 5_000
MAX_SENDER_CHARS = 256
MAX_METADATA_BYTES = 8_192


class BadRequest(ValueError):
    """The request cannot be processed; ``status`` and the message go back to the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class IncomingMessage:
    sender_id: str
    text: str
    metadata: dict[str, Any]


def decode_json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be a UTF-8 JSON object."""
    if not body or not body.strip():
        raise BadRequest("request body is empty; send JSON like {\"sender\": \"id\", \"message\": \"hi\"}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object")
    return value


def check_sender(value: Any, field: str = "sender") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{field}' is required and must be a non-empty string")
    if len(value) > MAX_SENDER_CHARS:
        raise BadRequest(f"'{field}' is longer than {MAX_SENDER_CHARS} characters")
    if any(ord(ch) < 32 for ch in value):
        raise BadRequest(f"'{field}' contains control characters")
    return value


def check_text(value: Any, field: str = "message") -> str:
    if not isinstance(value, str):
        raise BadRequest(f"'{field}' is required and must be a string")
    if len(value) > MAX_MESSAGE_CHARS:
        raise BadRequest(f"'{field}' is longer than {MAX_MESSAGE_CHARS} characters", status=413)
    return value.replace("\x00", "")


def check_metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("'metadata' must be a JSON object")
    if len(json.dumps(value, default=str)) > MAX_METADATA_BYTES:
        raise BadRequest(f"'metadata' is larger than {MAX_METADATA_BYTES} bytes", status=413)
    return value


def parse_rest_body(body: bytes) -> IncomingMessage:
    """The REST channel's contract: ``sender``, ``message``, optional ``metadata``."""
    document = decode_json_object(body)
    return IncomingMessage(
        sender_id=check_sender(document.get("sender")),
        text=check_text(document.get("message")),
        metadata=check_metadata(document.get("metadata")),
    )
