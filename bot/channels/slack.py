"""Slack app channel: Events API and button clicks in (signed), ``chat.postMessage`` out.

The customer is the Slack user id; replies go to that user (Slack delivers a ``chat.postMessage``
to a user id as a direct message from the app), so staff pushes need nothing but the sender id.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings as settings_module
from bot.channels.provider import (
    ChannelNotConfigured, ProviderError, ProviderOutput, bounded_body, call_api, deliver, error_response,
    field_of, form_pairs, hand_to_rasa, log_refusal, not_empty, not_taken_response,
)
from bot.channels.redelivery import DeliveryLedger
from bot.channels.rendering import buttons_from, slack_message
from bot.channels.signatures import SignatureError, verify_slack
from bot.channels.validation import BadRequest, check_sender, check_text, decode_json_object
from bot.identity import CHANNEL_KEY
from bot.settings import ChannelSettings

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
#: Sent with a refusal of a correctly signed request: Slack would only get the same answer again.
NO_RETRY = {"X-Slack-No-Retry": "1"}


class SlackOutput(ProviderOutput):
    @classmethod
    def name(cls) -> str:
        return "slack"

    def __init__(self, api_url: str, token: str) -> None:
        self._api_url = api_url
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"}

    async def _post(self, body: dict[str, Any]) -> None:
        answer = await call_api("POST", f"{self._api_url}/chat.postMessage", json_body=body, headers=self._headers)
        if answer.get("ok") is not True:
            error = answer.get("error")
            raise ProviderError(f"Slack chat.postMessage refused ({error if isinstance(error, str) else 'no error code'})")

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._post(slack_message(recipient_id, text, buttons_from(buttons)))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._post({"channel": recipient_id, "text": image,
                          "blocks": [{"type": "image", "image_url": image, "alt_text": "image"}]})


@dataclass(frozen=True)
class SlackMessage:
    """A person's direct message, mention or button click."""

    key: str
    user_id: str
    text: str


def parse_slack_request(body: bytes, content_type: str, signature: str) -> tuple[str, Any]:
    """("challenge", value) | ("message", SlackMessage) | ("ignore", reason); a malformed body is a 4xx.

    Slack redelivers an event with the same ``event_id`` (and ``X-Slack-Retry-Num``), which is the
    event's key; a button click has no id, so its key is the request's signature.
    """
    if content_type.startswith("application/x-www-form-urlencoded"):
        fields = dict(form_pairs(body))
        payload = decode_json_object(fields.get("payload", "").encode())
        return _interaction(payload, signature)
    document = decode_json_object(body)
    kind = field_of(document, "type", str, "type")
    if kind == "url_verification":
        challenge = field_of(document, "challenge", str, "challenge")
        if challenge is None:
            raise BadRequest("url_verification without a challenge")
        return "challenge", challenge
    if kind != "event_callback":
        return "ignore", f"type {kind!r}"
    event = field_of(document, "event", dict, "event")
    if event is None:
        raise BadRequest("'event' must be an object")
    event_type = field_of(event, "type", str, "event.type")
    bot_id = field_of(event, "bot_id", str, "event.bot_id")
    subtype = field_of(event, "subtype", str, "event.subtype")
    channel_type = field_of(event, "channel_type", str, "event.channel_type")
    if bot_id or subtype or event_type not in ("message", "app_mention"):
        return "ignore", "not a person's message"
    if event_type == "message" and channel_type not in (None, "im"):
        return "ignore", "channel message without a mention"
    event_id = check_sender(document.get("event_id"), "event_id")
    user = check_sender(event.get("user"), "event.user")
    text = _MENTION.sub("", check_text(event.get("text"), "event.text")).strip()
    return "message", SlackMessage(f"event:{event_id}", user, text)


def _interaction(payload: dict[str, Any], signature: str) -> tuple[str, Any]:
    if field_of(payload, "type", str, "type") != "block_actions":
        return "ignore", "not a button click"
    actions = field_of(payload, "actions", list, "actions")
    user = field_of(payload, "user", dict, "user")
    if not actions or not isinstance(actions[0], dict) or user is None:
        raise BadRequest("block_actions without actions or user")
    value = check_text(actions[0].get("value"), "actions[0].value")
    return "message", SlackMessage(f"click:{signature}", check_sender(user.get("id"), "user.id"), value)


class SlackInput(InputChannel):
    """``POST /webhooks/slack/webhook`` for Events API and interactivity requests."""

    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channels = settings_module.load_channels()
        if not channels.slack_token or not channels.slack_signing_secret:
            logger.warning("Slack channel is off: set RAPPORT_SLACK_TOKEN and RAPPORT_SLACK_SIGNING_SECRET")
        return cls(channels)

    def __init__(self, channels: ChannelSettings) -> None:
        self.channels = channels
        self.deliveries = DeliveryLedger()

    def get_output_channel(self) -> SlackOutput | None:
        if not self.channels.slack_token:
            return None
        return SlackOutput(self.channels.slack_api_url, self.channels.slack_token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("rapport_slack_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.get_output_channel() else "not configured"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            # Retries (X-Slack-Retry-Num) are checked like first deliveries: the signature first,
            # then the event id, so a retry of an event we never took is processed.
            try:
                body = self._signed_body(request)
            except BadRequest as exc:
                log_refusal(self.name(), exc)
                return error_response(exc)
            try:
                kind, value = parse_slack_request(not_empty(body), request.headers.get("Content-Type", ""),
                                                  request.headers.get("X-Slack-Signature", ""))
            except BadRequest as exc:
                log_refusal(self.name(), exc)
                return error_response(exc, NO_RETRY)
            if kind == "challenge":
                return response.json({"challenge": value})
            if kind == "ignore":
                return response.json({"status": "ignored"})
            message: SlackMessage = value
            output = self.get_output_channel()

            async def turn() -> None:
                await hand_to_rasa(request, on_new_message, UserMessage(
                    message.text, output, message.user_id, input_channel=self.name(),
                    metadata={CHANNEL_KEY: self.name()}))

            outcome = await deliver(self.deliveries, message.key, message.user_id, turn)
            if not outcome.taken:
                return not_taken_response(outcome)
            return response.json({"status": outcome.value})

        return webhook

    def _signed_body(self, request: Request) -> bytes:
        """The body, once its v0 signature and timestamp are right (retries are no exception)."""
        if not self.channels.slack_token or not self.channels.slack_signing_secret:
            raise ChannelNotConfigured("Slack", "RAPPORT_SLACK_TOKEN and RAPPORT_SLACK_SIGNING_SECRET")
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if not timestamp or not signature:
            raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
        body = request.body or b""
        verify_slack(body, timestamp, signature, self.channels.slack_signing_secret)
        return bounded_body(request)
