"""Facebook Messenger channel: signed page webhooks in, the Graph Send API out.

The customer is the page-scoped id (PSID) of the sender; buttons are quick replies, whose
payload comes back in ``message.quick_reply.payload``.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings as settings_module
from bot.channels.provider import (
    ChannelNotConfigured, ProviderOutput, call_api, deliver, error_response, raw_body,
)
from bot.channels.rendering import buttons_from, messenger_message
from bot.channels.signatures import ReplayCache, SignatureError, hmac_equal, verify_hub_signature
from bot.channels.validation import BadRequest, check_sender, check_text, decode_json_object
from bot.identity import CHANNEL_KEY
from bot.settings import ChannelSettings

logger = logging.getLogger(__name__)


class MessengerOutput(ProviderOutput):
    @classmethod
    def name(cls) -> str:
        return "messenger"

    def __init__(self, api_url: str, page_token: str) -> None:
        self._url = f"{api_url}/me/messages"
        self._params = {"access_token": page_token}

    async def _send(self, body: dict[str, Any]) -> None:
        await call_api("POST", self._url, json_body=body, params=self._params)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(messenger_message(recipient_id, text, buttons_from(buttons)))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send({"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE",
                          "message": {"attachment": {"type": "image", "payload": {"url": image}}}})


def parse_messaging(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(message id, PSID, text) for each person's message or postback in a page webhook."""
    if document.get("object") != "page":
        raise BadRequest("'object' must be 'page'")
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise BadRequest("'entry' must be a list")
    found = []
    for entry in entries:
        for event in (entry.get("messaging") or []) if isinstance(entry, dict) else []:
            if not isinstance(event, dict) or not isinstance(event.get("sender"), dict):
                continue
            message, postback = event.get("message"), event.get("postback")
            if isinstance(message, dict) and not message.get("is_echo"):
                quick = message.get("quick_reply")
                text = quick.get("payload") if isinstance(quick, dict) else message.get("text")
                mid = message.get("mid")
            elif isinstance(postback, dict):
                text, mid = postback.get("payload"), postback.get("mid")
            else:
                continue
            if text is None:
                continue
            psid = check_sender(event["sender"].get("id"), "sender.id")
            key = mid if isinstance(mid, str) else f"{psid}:{event.get('timestamp')}"
            found.append((key, psid, check_text(text, "message.text")))
    return found


class MessengerInput(InputChannel):
    """``GET/POST /webhooks/messenger/webhook``: verification handshake and page events."""

    @classmethod
    def name(cls) -> str:
        return "messenger"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channels = settings_module.load_channels()
        channel = cls(channels)
        if not channel.configured:
            logger.warning(
                "Messenger channel is off: set RAPPORT_MESSENGER_PAGE_TOKEN, RAPPORT_MESSENGER_APP_SECRET "
                "and RAPPORT_MESSENGER_VERIFY_TOKEN"
            )
        return channel

    def __init__(self, channels: ChannelSettings) -> None:
        self.channels = channels
        self.replays = ReplayCache()

    @property
    def configured(self) -> bool:
        c = self.channels
        return bool(c.messenger_page_token and c.messenger_app_secret and c.messenger_verify_token)

    def get_output_channel(self) -> MessengerOutput | None:
        if not self.configured:
            return None
        return MessengerOutput(self.channels.messenger_api_url, self.channels.messenger_page_token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("rapport_messenger_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.configured else "not configured"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if (
                not self.configured
                or request.args.get("hub.mode") != "subscribe"
                or not hmac_equal(token, self.channels.messenger_verify_token)
            ):
                return response.json({"error": "verification failed"}, status=403)
            return response.text(request.args.get("hub.challenge") or "")

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                messages = self._verified(request)
            except BadRequest as exc:
                logger.info("refused Messenger webhook: %s", exc)
                return error_response(exc)
            output = self.get_output_channel()
            for _, psid, text in messages:
                await deliver(on_new_message, UserMessage(text, output, psid, input_channel=self.name(),
                                                          metadata={CHANNEL_KEY: self.name()}))
            return response.text("EVENT_RECEIVED")

        return webhook

    def _verified(self, request: Request) -> list[tuple[str, str, str]]:
        if not self.configured:
            raise ChannelNotConfigured("Messenger", "the RAPPORT_MESSENGER_* variables")
        body = raw_body(request)
        verify_hub_signature(body, request.headers.get("X-Hub-Signature-256"), self.channels.messenger_app_secret)
        messages = parse_messaging(decode_json_object(body))
        fresh = [m for m in messages if not self.replays.seen_before(f"mid:{m[0]}")]
        if messages and not fresh:
            raise SignatureError("these Messenger events were already processed", status=409)
        return fresh
