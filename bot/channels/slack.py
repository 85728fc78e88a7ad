"""Slack app channel: Events API and button clicks in (signed), ``chat.postMessage`` out.

The customer is the Slack user id; replies go to that user (Slack delivers a ``chat.postMessage``
to a user id as a direct message from the app), so staff pushes need nothing but the sender id.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings as settings_module
from bot.channels.provider import (
    ChannelNotConfigured, ProviderError, ProviderOutput, call_api, deliver, error_response, form_pairs, raw_body,
)
from bot.channels.rendering import buttons_from, slack_message
from bot.channels.signatures import ReplayCache, SignatureError, verify_slack
from bot.channels.validation import BadRequest, check_sender, check_text, decode_json_object
from bot.identity import CHANNEL_KEY
from bot.settings import ChannelSettings

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")


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
            raise ProviderError(f"Slack chat.postMessage refused: {answer.get('error', answer)}")

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._post(slack_message(recipient_id, text, buttons_from(buttons)))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._post({"channel": recipient_id, "text": image,
                          "blocks": [{"type": "image", "image_url": image, "alt_text": "image"}]})


def parse_slack_request(body: bytes, content_type: str) -> tuple[str, Any]:
    """("challenge", value) | ("message", (event key, user, text)) | ("ignore", reason)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        fields = dict(form_pairs(body))
        payload = decode_json_object(fields.get("payload", "").encode())
        return _interaction(payload)
    document = decode_json_object(body)
    if document.get("type") == "url_verification":
        challenge = document.get("challenge")
        if not isinstance(challenge, str):
            raise BadRequest("url_verification without a challenge")
        return "challenge", challenge
    if document.get("type") != "event_callback":
        return "ignore", f"type {document.get('type')!r}"
    event = document.get("event")
    if not isinstance(event, dict):
        raise BadRequest("'event' must be an object")
    if event.get("bot_id") or event.get("subtype") or event.get("type") not in ("message", "app_mention"):
        return "ignore", "not a person's message"
    if event.get("type") == "message" and event.get("channel_type") not in (None, "im"):
        return "ignore", "channel message without a mention"
    text = _MENTION.sub("", check_text(event.get("text"), "event.text")).strip()
    event_id = document.get("event_id")
    key = f"event:{event_id}" if isinstance(event_id, str) else None
    return "message", (key, check_sender(event.get("user"), "event.user"), text)


def _interaction(payload: dict[str, Any]) -> tuple[str, Any]:
    if payload.get("type") != "block_actions":
        return "ignore", f"interaction {payload.get('type')!r}"
    actions = payload.get("actions")
    user = payload.get("user")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict) or not isinstance(user, dict):
        raise BadRequest("block_actions without actions or user")
    return "message", (None, check_sender(user.get("id"), "user.id"), check_text(actions[0].get("value"), "value"))


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
        self.signatures = ReplayCache(max_age_seconds=10 * 60)
        self.events = ReplayCache()

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
            if request.headers.get("X-Slack-Retry-Num"):
                # Slack retries when we were slow; the first delivery is being (or was) handled.
                return response.json({"status": "retry ignored"})
            try:
                kind, value = self._verified(request)
            except BadRequest as exc:
                logger.info("refused Slack webhook: %s", exc)
                return error_response(exc)
            if kind == "challenge":
                return response.json({"challenge": value})
            if kind == "ignore":
                return response.json({"status": "ignored"})
            _, user_id, text = value
            output = self.get_output_channel()
            metadata = {CHANNEL_KEY: self.name()}
            await deliver(on_new_message, UserMessage(text, output, user_id, input_channel=self.name(),
                                                      metadata=metadata))
            return response.json({"status": "ok"})

        return webhook

    def _verified(self, request: Request) -> tuple[str, Any]:
        if not self.channels.slack_token or not self.channels.slack_signing_secret:
            raise ChannelNotConfigured("Slack", "RAPPORT_SLACK_TOKEN and RAPPORT_SLACK_SIGNING_SECRET")
        body = raw_body(request)
        signature = request.headers.get("X-Slack-Signature")
        verify_slack(body, request.headers.get("X-Slack-Request-Timestamp"), signature,
                     self.channels.slack_signing_secret)
        if self.signatures.seen_before(f"sig:{signature}"):
            raise SignatureError("this Slack request was already received (replay)", status=409)
        kind, value = parse_slack_request(body, request.headers.get("Content-Type", ""))
        if kind == "message" and value[0] and self.events.seen_before(value[0]):
            raise SignatureError(f"Slack {value[0]} was already processed", status=409)
        return kind, value
