"""What every messaging channel shares: calling the provider's HTTP API and reading webhooks.

Outputs call the provider with aiohttp (async, base URL from settings so tests use loopback
fakes) and never need an event loop of their own, so staff replies pushed through Rasa's
``/conversations/{id}/tracker/events?output_channel=latest`` work on every channel.

Every webhook reads its request in the same order: the channel is configured (else 503), the
provider's signature is right (else 401/403, whatever else the request carries, retry headers
included), the body is at most :data:`MAX_WEBHOOK_BYTES` (else 413; Twilio, which signs parsed
parameters, bounds the body before parsing it for the signature), then the body is parsed and
every field checked by :mod:`bot.boundary` (else 4xx), and only then is the message handed to
Rasa through the channel's :class:`~bot.channels.redelivery.DeliveryLedger`.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Mapping, TypeVar
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.boundary import BLANK_MESSAGE_REPLY, is_blank
from bot.channels.redelivery import Delivery, DeliveryLedger
from bot.tracker_events import STAFF_KEY
from bot.channels.validation import BadRequest, decode_json_object
from bot.identity import pseudonym

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 64 * 1024
API_TIMEOUT = aiohttp.ClientTimeout(total=15)
#: Seconds a provider is asked to wait before redelivering an event we could not take yet.
RETRY_AFTER_SECONDS = 5
T = TypeVar("T")


class ProviderError(RuntimeError):
    """The provider's API refused or failed a call the bot made.

    The message names the API method and the status only: URLs can hold the bot's token
    (Telegram) and error bodies can quote the recipient's number or text.
    """


class AssistantNotReady(RuntimeError):
    """Rasa has no model loaded, so a message handed to it now would be dropped unanswered."""


def _api_method(method: str, url: str) -> str:
    parts = urlsplit(url)
    return f"{method} {parts.hostname} .../{parts.path.rsplit('/', 1)[-1]}"


def _error_code(answer: Any) -> str:
    """The provider's short error code from an error body (never its message, which can quote data)."""
    if not isinstance(answer, dict):
        return ""
    for key in ("error_code", "code", "error"):
        value = answer.get(key)
        if isinstance(value, dict):
            value = value.get("code")
        if isinstance(value, (int, str)) and not isinstance(value, bool) and len(str(value)) <= 40:
            return f" ({key} {value})"
    return ""


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
                try:
                    parsed = await answer.json(content_type=None)
                except ValueError:
                    parsed = None
                if answer.status >= 300:
                    raise ProviderError(f"{_api_method(method, url)} answered {answer.status}{_error_code(parsed)}")
                return parsed if isinstance(parsed, dict) else {}
    except aiohttp.ClientError as exc:
        raise ProviderError(f"{_api_method(method, url)} failed ({type(exc).__name__})") from exc


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


def bounded_body(request: Request) -> bytes:
    """The request body as sent (possibly empty), refused when larger than a webhook ever needs."""
    body = request.body or b""
    if len(body) > MAX_WEBHOOK_BYTES:
        raise BadRequest(f"request body is larger than {MAX_WEBHOOK_BYTES} bytes", status=413)
    return body


def not_empty(body: bytes) -> bytes:
    if not body.strip():
        raise BadRequest("request body is empty")
    return body


def raw_body(request: Request) -> bytes:
    """The request body, refused when empty or larger than a webhook ever needs."""
    return not_empty(bounded_body(request))


def json_body(request: Request) -> dict[str, Any]:
    return decode_json_object(raw_body(request))


def signed_form_pairs(body: bytes) -> list[tuple[str, str]]:
    """A form's pairs as its sender signed them, whatever they contain (for checking a signature).

    Bytes that are not UTF-8 are kept as surrogate escapes, so the signature is checked over the
    exact bytes and a badly signed body is refused as such; :func:`form_pairs` checks the values.
    """
    return parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True, errors="surrogateescape")


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """A strict ``application/x-www-form-urlencoded`` parse: UTF-8 before and after percent-decoding.

    Strict decoding also refuses lone surrogates (their CESU-8 bytes, ``%ED%A0%80``, are not UTF-8).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("a form value is not valid UTF-8 once percent-decoded") from exc
    except ValueError as exc:
        raise BadRequest("request body is not a URL-encoded form") from exc
    return pairs


_KINDS = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}


def field_of(document: Mapping[str, Any], key: str, kind: type[T], name: str) -> T | None:
    """``document[key]`` when it has type ``kind``, None when absent or null; a wrong type is a 400.

    Providers leave out what does not apply, so absence means "not this kind of event"; a
    value of the wrong type never comes from the provider and is refused.
    """
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"'{name}' must be {_KINDS.get(kind, kind.__name__)}")
    return value


def error_response(exc: BadRequest, headers: Mapping[str, str] | None = None) -> HTTPResponse:
    return response.json({"error": str(exc)}, status=exc.status, headers=dict(headers or {}))


def not_taken_response(outcome: Delivery) -> HTTPResponse:
    """503 with Retry-After: the provider keeps the event and redelivers it (its documented retry)."""
    reason = ("an earlier delivery of this event is still being processed" if outcome is Delivery.IN_PROGRESS
              else "the assistant could not take this message now")
    return response.json({"error": reason, "status": outcome.value}, status=503,
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def log_refusal(channel: str, exc: BadRequest) -> None:
    logger.info("refused %s webhook (%s): %s", channel, exc.status, exc)


async def hand_to_rasa(
    request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage
) -> None:
    """Give a verified message to Rasa; raises when Rasa did not take it (the ledger then keeps it open).

    A message with nothing visible in it (``"\\x00"``, a zero-width space, a picture without a
    caption) runs no turn, as on the REST channel: Rasa's pipeline fails on an empty text, so the
    customer is asked what they meant instead.  Rasa drops a message silently when no model is
    loaded, so that is checked before handing it over.
    """
    if is_blank(message.text):
        await message.output_channel.send_text_message(message.sender_id, BLANK_MESSAGE_REPLY)
        return
    agent = getattr(request.app.ctx, "agent", None)
    if agent is not None and not agent.is_ready():
        raise AssistantNotReady("no model is loaded")
    await on_new_message(message)


async def deliver(
    ledger: DeliveryLedger,
    key: str,
    sender_id: str,
    turn: Callable[[], Awaitable[None]],
) -> Delivery:
    """Run the turn for provider event ``key`` once (see :mod:`bot.channels.redelivery`)."""
    outcome = await ledger.run(key, turn, label=pseudonym(sender_id))
    if outcome is Delivery.DUPLICATE:
        logger.info("%s of %s was already processed; answered as delivered", key, pseudonym(sender_id))
    elif outcome is Delivery.IN_PROGRESS:
        logger.info("%s of %s is still being processed; asked the provider to retry", key, pseudonym(sender_id))
    return outcome
