"""Facebook Messenger channel: signed page webhooks in, the Graph Send API out.

The customer is the page-scoped id (PSID) of the sender; buttons are quick replies, whose
payload comes back in ``message.quick_reply.payload``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings as settings_module
from bot.channels.provider import (
    ChannelNotConfigured, ProviderOutput, bounded_body, call_api, deliver, error_response, field_of,
    hand_to_rasa, log_refusal, not_empty, not_taken_response,
)
from bot.channels.redelivery import DeliveryLedger
from bot.channels.rendering import buttons_from, messenger_message
from bot.channels.signatures import hmac_equal, verify_hub_signature
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


@dataclass(frozen=True)
class PageMessage:
    """A person's message, quick-reply tap or postback in a page webhook."""

    key: str
    psid: str
    text: str


def parse_messaging(document: dict[str, Any]) -> list[PageMessage]:
    """Each person's message or postback in a page webhook, in order; a wrong field is a 400.

    Meta redelivers a whole batch until it gets a 200; each message is keyed by its ``mid``
    (unique per message), so the messages a failed batch already delivered are not run again.
    """
    if document.get("object") != "page":
        raise BadRequest("'object' must be 'page'")
    entries = field_of(document, "entry", list, "entry")
    if entries is None:
        raise BadRequest("'entry' must be a list")
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadRequest("each 'entry' must be an object")
        entry_id = field_of(entry, "id", str, "entry.id") or ""
        for event in field_of(entry, "messaging", list, "entry.messaging") or []:
            message = _page_message(event, entry_id)
            if message is not None:
                found.append(message)
    return found


def _page_message(event: Any, entry_id: str) -> PageMessage | None:
    if not isinstance(event, dict):
        raise BadRequest("each 'messaging' event must be an object")
    sender = field_of(event, "sender", dict, "sender")
    message = field_of(event, "message", dict, "message")
    postback = field_of(event, "postback", dict, "postback")
    if message is not None and not field_of(message, "is_echo", bool, "message.is_echo"):
        quick = field_of(message, "quick_reply", dict, "message.quick_reply")
        text = (field_of(quick, "payload", str, "message.quick_reply.payload") if quick is not None
                else field_of(message, "text", str, "message.text"))
        mid = field_of(message, "mid", str, "message.mid")
    elif postback is not None:
        text = field_of(postback, "payload", str, "postback.payload")
        mid = field_of(postback, "mid", str, "postback.mid")
    else:
        return None  # deliveries, reads, echoes: nothing a person said
    if text is None:
        return None  # an attachment without text
    if sender is None:
        raise BadRequest("'sender' must be an object")
    psid = check_sender(sender.get("id"), "sender.id")
    text = check_text(text, "message.text")
    if mid is not None:
        key = f"mid:{check_sender(mid, 'message.mid')}"
    else:
        timestamp = field_of(event, "timestamp", int, "timestamp")
        if timestamp is None:
            raise BadRequest("a message needs a 'mid' or a 'timestamp'")
        # Logged with the outcome, so the PSID is hashed, not spelled out.
        digest = hashlib.sha256(f"{entry_id}:{psid}:{timestamp}".encode()).hexdigest()[:20]
        key = f"event:{digest}"
    return PageMessage(key, psid, text)


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
        self.deliveries = DeliveryLedger()

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
                log_refusal(self.name(), exc)
                return error_response(exc)
            output = self.get_output_channel()
            for message in messages:  # in order; a failure stops the batch, which Meta redelivers
                outcome = await deliver(self.deliveries, message.key, message.psid,
                                        self._turn(request, on_new_message, output, message))
                if not outcome.taken:
                    return not_taken_response(outcome)
            return response.text("EVENT_RECEIVED")

        return webhook

    def _turn(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]],
              output: MessengerOutput | None, message: PageMessage) -> Callable[[], Awaitable[None]]:
        async def turn() -> None:
            await hand_to_rasa(request, on_new_message, UserMessage(
                message.text, output, message.psid, input_channel=self.name(),
                metadata={CHANNEL_KEY: self.name()}))
        return turn

    def _verified(self, request: Request) -> list[PageMessage]:
        if not self.configured:
            raise ChannelNotConfigured("Messenger", "the RAPPORT_MESSENGER_* variables")
        verify_hub_signature(request.body or b"", request.headers.get("X-Hub-Signature-256"),
                             self.channels.messenger_app_secret)
        return parse_messaging(decode_json_object(not_empty(bounded_body(request))))
