"""The REST channel's contract and the checks every channel shares (pure functions).

The rules themselves live in :mod:`bot.boundary`, so webhooks, socket.io, the console and the CLI
refuse the same things with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.boundary import (
    MAX_ID_CHARS,
    MAX_MESSAGE_CHARS,
    BadInput,
    check_identifier,
    check_object,
    check_text,
    parse_json_object,
)

BadRequest = BadInput  # the channels' name for a refused request
MAX_SENDER_CHARS = MAX_ID_CHARS
MAX_METADATA_BYTES = 8_192

__all__ = ["BadRequest", "IncomingMessage", "MAX_MESSAGE_CHARS", "check_metadata", "check_sender",
           "check_text", "decode_json_object", "parse_rest_body"]


@dataclass(frozen=True)
class IncomingMessage:
    sender_id: str
    text: str
    metadata: dict[str, Any]


def decode_json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be a UTF-8 JSON object."""
    if not body or not body.strip():
        raise BadRequest("request body is empty; send JSON like {\"sender\": \"id\", \"message\": \"hi\"}")
    return parse_json_object(body)


def check_sender(value: Any, field: str = "sender") -> str:
    return check_identifier(value, field, max_chars=MAX_SENDER_CHARS)


def check_metadata(value: Any) -> dict[str, Any]:
    return check_object(value, "metadata", max_bytes=MAX_METADATA_BYTES)


def parse_rest_body(body: bytes) -> IncomingMessage:
    """The REST channel's contract: ``sender``, ``message``, optional ``metadata``."""
    document = decode_json_object(body)
    return IncomingMessage(
        sender_id=check_sender(document.get("sender")),
        text=check_text(document.get("message")),
        metadata=check_metadata(document.get("metadata")),
    )
