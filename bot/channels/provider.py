"""What every messaging channel shares: calling the provider's HTTP API and reading webhooks.

Outputs call the provider with aiohttp (async, base URL from settings so tests use loopback
fakes) and never need an event loop of their own, so staff replies pushed through Rasa's
``/conversations/{id}/tracker/events?output_channel=latest`` work on every channel.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.validation import BadRequest, decode_json_object

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024
API_TIMEOUT = aiohttp.ClientTimeout(total=15)
STAFF_KEY = "rapport_staff"


class ProviderError(RuntimeError):
    """The provider's API refused or failed a call the bot made."""


class ChannelNotConfigured(BadRequest):
    def __init__(self, channel: str, missing: str) -> None:
        super().__init__(f"the {channel} channel is not configured (set {missing})", status=503)


async def call_api(
    method: str,
    url: str,
    *,
    json_body: Mapping[str, Any] | None = None,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: aiohttp.BasicAuth | None = None,
    params: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One provider API call; raises ProviderError on a non-2xx answer or a network failure."""
    try:
        async with aiohttp.ClientSession(timeout=API_TIMEOUT) as session:
            async with session.request(
                method, url, json=json_body, data=form, headers=headers, auth=auth, params=params
            ) as answer:
                text = await answer.text()
                if answer.status >= 300:
                    raise ProviderError(f"{method} {url.split('?')[0]} answered {answer.status}: {text[:300]}")
                try:
                    parsed = await answer.json(content_type=None)
                except ValueError:
                    return {}
                return parsed if isinstance(parsed, dict) else {}
    except aiohttp.ClientError as exc:
        raise ProviderError(f"{method} {url.split('?')[0]} failed: {exc}") from exc


class ProviderOutput(OutputChannel):
    """Base output: subclasses implement text (with optional buttons) and images."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, [], **_without_buttons(kwargs))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **_without_buttons(kwargs))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        # The staff name travels in the text ("Sam: ...") on messaging channels; the marker is
        # only for the web chat, which shows the person's picture.
        if set(json_message) <= {STAFF_KEY}:
            return
        logger.info("%s cannot show custom json; skipped keys %s", self.name(), sorted(json_message))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        url = _attachment_url(attachment)
        if url:
            await self.send_image_url(recipient_id, url)


def _without_buttons(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Rasa passes the rest of the message (``buttons: None`` among it) as keyword arguments."""
    return {k: v for k, v in kwargs.items() if k not in ("buttons", "quick_replies")}


def _attachment_url(attachment: Any) -> str | None:
    if isinstance(attachment, str) and attachment.startswith(("https://", "http://")):
        return attachment
    if isinstance(attachment, dict):
        payload = attachment.get("payload") or {}
        src = payload.get("src") or payload.get("url") if isinstance(payload, dict) else None
        if isinstance(src, str) and src.startswith(("https://", "http://")):
            return src
    return None


def raw_body(request: Request) -> bytes:
    """The request body, refused when empty or larger than a webhook ever needs."""
    body = request.body or b""
    if len(body) > MAX_WEBHOOK_BYTES:
        raise BadRequest(f"request body is larger than {MAX_WEBHOOK_BYTES} bytes", status=413)
    if not body.strip():
        raise BadRequest("request body is empty")
    return body


def json_body(request: Request) -> dict[str, Any]:
    return decode_json_object(raw_body(request))


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """A strict ``application/x-www-form-urlencoded`` parse (UTF-8, well formed)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("request body is not a URL-encoded form") from exc


def error_response(exc: BadRequest) -> HTTPResponse:
    return response.json({"error": str(exc)}, status=exc.status)


async def deliver(
    on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage
) -> None:
    """Hand a verified message to Rasa; a failing turn is logged, never turned into a 5xx."""
    try:
        await on_new_message(message)
    except Exception:  # noqa: BLE001 - one bad turn must not take the channel down
        logger.exception("%s message from %s failed", message.input_channel, message.sender_id)
