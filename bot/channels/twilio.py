"""Twilio SMS and WhatsApp channels: signed form webhooks in, the Messages REST API out.

SMS and WhatsApp cannot show buttons here, so options are numbered ("Reply 1 for Yes, 2 for No")
and a reply "1" is mapped back to the payload of the first button the sender was shown.
The customer is their phone number (``From``, without the ``whatsapp:`` prefix).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings as settings_module
from bot.channels.provider import (
    ChannelNotConfigured, ProviderOutput, bounded_body, call_api, deliver, error_response, form_pairs,
    hand_to_rasa, log_refusal, not_empty, not_taken_response, signed_form_pairs,
)
from bot.channels.redelivery import DeliveryLedger
from bot.channels.rendering import ButtonMemory, buttons_from, sms_text
from bot.channels.signatures import SignatureError, verify_twilio
from bot.channels.validation import BadRequest, check_sender, check_text
from bot.identity import CHANNEL_KEY
from bot.settings import ChannelSettings

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclass(frozen=True)
class TextMessage:
    """An SMS or WhatsApp message: its ``MessageSid``, the sender's number and the text."""

    message_sid: str
    sender_id: str
    text: str

    @property
    def key(self) -> str:
        """Twilio's retries of a webhook carry the same ``MessageSid`` (and I-Twilio-Idempotency-Token)."""
        return f"sid:{self.message_sid}"


class TwilioOutput(ProviderOutput):
    """Sends through ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with basic auth."""

    def __init__(self, channel: str, channels: ChannelSettings, from_number: str, prefix: str,
                 memory: ButtonMemory) -> None:
        self._channel = channel
        self._url = f"{channels.twilio_api_url}/2010-04-01/Accounts/{channels.twilio_account_sid}/Messages.json"
        self._auth = aiohttp.BasicAuth(channels.twilio_account_sid, channels.twilio_auth_token)
        self._from = prefix + from_number
        self._prefix = prefix
        self._memory = memory

    def name(self) -> str:  # type: ignore[override] - one class serves two channel names
        return self._channel

    async def _send(self, recipient_id: str, fields: dict[str, str]) -> None:
        form = {"From": self._from, "To": self._prefix + recipient_id, **fields}
        await call_api("POST", self._url, form=form, auth=self._auth)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        options = buttons_from(buttons)
        self._memory.remember(recipient_id, options)
        await self._send(recipient_id, {"Body": sms_text(text, options)})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, {"MediaUrl": image, "Body": ""})


class TwilioInput(InputChannel):
    """``POST /webhooks/twilio/webhook``: SMS to the Twilio number."""

    prefix = ""
    number_variable = "RAPPORT_TWILIO_NUMBER"

    @classmethod
    def name(cls) -> str:
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = cls(settings_module.load_channels())
        if not channel.configured:
            logger.warning(
                "%s channel is off: set RAPPORT_TWILIO_ACCOUNT_SID, RAPPORT_TWILIO_AUTH_TOKEN and %s",
                cls.name(), cls.number_variable,
            )
        return channel

    def __init__(self, channels: ChannelSettings) -> None:
        self.channels = channels
        self.deliveries = DeliveryLedger()
        self.memory = ButtonMemory()

    def from_number(self) -> str:
        return self.channels.twilio_number

    @property
    def configured(self) -> bool:
        return bool(self.channels.twilio_account_sid and self.channels.twilio_auth_token and self.from_number())

    def get_output_channel(self) -> TwilioOutput | None:
        if not self.configured:
            return None
        return TwilioOutput(self.name(), self.channels, self.from_number(), self.prefix, self.memory)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"rapport_{self.name()}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.configured else "not configured"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                message = self._verified(request)
            except BadRequest as exc:
                log_refusal(self.name(), exc)
                return error_response(exc)
            output = self.get_output_channel()

            async def turn() -> None:
                shown = self.memory.checkpoint(message.sender_id)
                text = self.memory.resolve(message.sender_id, message.text)
                try:
                    await hand_to_rasa(request, on_new_message, UserMessage(
                        text, output, message.sender_id, input_channel=self.name(),
                        metadata={CHANNEL_KEY: self.name()}))
                except BaseException:
                    self.memory.rollback(message.sender_id, shown)  # the redelivery picks the same option
                    raise

            outcome = await deliver(self.deliveries, message.key, message.sender_id, turn)
            if not outcome.taken:
                return not_taken_response(outcome)
            return _twiml()

        return webhook

    def _public_url(self, request: Request) -> str:
        """The URL Twilio signed: the configured public base (behind a proxy) or the request's own."""
        base = self.channels.twilio_webhook_base_url
        if not base:
            return request.url
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{base}{request.path}{query}"

    def _verified(self, request: Request) -> TextMessage:
        """The message, once the signature is right and every field is."""
        if not self.configured:
            raise ChannelNotConfigured(self.name(), f"the Twilio account, auth token and {self.number_variable}")
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        # Twilio signs the parsed parameters, so the body is bounded before it is parsed to check it.
        body = bounded_body(request)
        verify_twilio(self._public_url(request), signed_form_pairs(body), signature, self.channels.twilio_auth_token)
        fields = dict(form_pairs(not_empty(body)))
        message_sid = check_sender(fields.get("MessageSid") or fields.get("SmsSid"), "MessageSid")
        sender = fields.get("From", "")
        if self.prefix and not sender.startswith(self.prefix):
            raise BadRequest(f"'From' must start with {self.prefix!r} on {self.name()}")
        sender_id = check_sender(sender[len(self.prefix):], "From")
        return TextMessage(message_sid, sender_id, check_text(fields.get("Body", ""), "Body"))


def _twiml() -> HTTPResponse:
    """Twilio's success: 200 with TwiML; an empty <Response> sends nothing back (replies use the API)."""
    return response.text(EMPTY_TWIML, content_type="text/xml")


class TwilioWhatsAppInput(TwilioInput):
    """``POST /webhooks/whatsapp/webhook``: WhatsApp messages through Twilio."""

    prefix = "whatsapp:"
    number_variable = "RAPPORT_TWILIO_WHATSAPP_NUMBER"

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def from_number(self) -> str:
        return self.channels.twilio_whatsapp_number
