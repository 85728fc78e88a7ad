"""Telegram bot channel: verified webhook in, Bot API calls out, safe for staff pushes.

Rasa 3.6's own Telegram output calls ``asyncio.run(set_webhook)`` whenever an output channel is
made, which crashes inside the running server (staff replies pushed with
``output_channel=latest``).  This output only calls the Bot API from the current loop; the
webhook is registered once by the operator (see docs/channels.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings as settings_module
from bot.channels.provider import (
    ChannelNotConfigured, ProviderError, ProviderOutput, call_api, deliver, error_response, field_of,
    hand_to_rasa, json_body, log_refusal, not_taken_response,
)
from bot.channels.redelivery import DeliveryLedger
from bot.channels.rendering import buttons_from, telegram_message
from bot.channels.signatures import verify_telegram_secret
from bot.channels.validation import BadRequest, check_sender, check_text
from bot.identity import CHANNEL_KEY, pseudonym
from bot.settings import ChannelSettings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
START_COMMAND = "/start"


class TelegramOutput(ProviderOutput):
    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self, api_url: str, token: str) -> None:
        self._base = f"{api_url}/bot{token}"

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        return await call_api("POST", f"{self._base}/{method}", json_body=body)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._call("sendMessage", telegram_message(str(recipient_id), text, buttons_from(buttons)))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._call("sendPhoto", {"chat_id": str(recipient_id), "photo": image})

    async def answer_callback(self, callback_id: str) -> None:
        await self._call("answerCallbackQuery", {"callback_query_id": callback_id})


@dataclass(frozen=True)
class TelegramUpdate:
    """A person's message or button tap in a private chat."""

    update_id: int
    sender_id: str
    text: str
    callback_id: str | None
    username: str | None

    @property
    def key(self) -> str:
        """Telegram redelivers an update, with the same ``update_id``, until it gets a 2xx."""
        return f"update:{self.update_id}"


def parse_update(update: dict[str, Any]) -> TelegramUpdate | None:
    """The private-chat message or button tap in an update, or None for any other update.

    The sender is the Telegram user's stable ``from.id``; group chats and non-text updates are
    not conversations with the assistant and give None.  A field of the wrong type is a 400.
    """
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise BadRequest("'update_id' is required and must be a non-negative integer")
    callback = field_of(update, "callback_query", dict, "callback_query")
    callback_id: str | None = None
    if callback is not None:
        message = field_of(callback, "message", dict, "callback_query.message") or {}
        text = field_of(callback, "data", str, "callback_query.data")
        sender = field_of(callback, "from", dict, "callback_query.from")
        raw_id = field_of(callback, "id", str, "callback_query.id")
        callback_id = check_sender(raw_id, "callback_query.id") if raw_id is not None else None
    else:
        found = field_of(update, "message", dict, "message") or field_of(update, "edited_message", dict,
                                                                          "edited_message")
        if found is None:
            return None
        message = found
        text = field_of(message, "text", str, "message.text")
        sender = field_of(message, "from", dict, "message.from")
    chat = field_of(message, "chat", dict, "message.chat")
    chat_type = field_of(chat, "type", str, "message.chat.type") if chat is not None else None
    if sender is None or text is None or chat_type not in (None, "private"):
        return None
    sender_id = check_sender(sender.get("id"), "from.id")
    text = check_text(text, "text")
    if text.strip() == START_COMMAND:
        text = "/greet"
    username = field_of(sender, "username", str, "from.username")
    if username is not None:
        username = check_sender(username, "from.username")
    return TelegramUpdate(update_id, sender_id, text, callback_id, username)


class TelegramInput(InputChannel):
    """``POST /webhooks/telegram/webhook``, checked against the webhook's secret token."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channels = settings_module.load_channels()
        if not channels.telegram_token or not channels.telegram_secret_token:
            logger.warning(
                "Telegram channel is off: set RAPPORT_TELEGRAM_TOKEN and RAPPORT_TELEGRAM_SECRET_TOKEN"
            )
        return cls(channels)

    def __init__(self, channels: ChannelSettings) -> None:
        self.channels = channels
        self.deliveries = DeliveryLedger()

    def get_output_channel(self) -> TelegramOutput | None:
        if not self.channels.telegram_token:
            return None
        return TelegramOutput(self.channels.telegram_api_url, self.channels.telegram_token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("rapport_telegram_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.get_output_channel() else "not configured"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                parsed = self._verified_update(request)
            except BadRequest as exc:
                log_refusal(self.name(), exc)
                return error_response(exc)
            if parsed is None:
                return response.json({"status": "ignored"})
            output = self.get_output_channel()
            assert output is not None  # _verified_update checked the token

            async def turn() -> None:
                if parsed.callback_id:
                    await self._answer_callback(output, parsed)
                metadata = {CHANNEL_KEY: self.name()}
                if parsed.username:
                    metadata["telegram_username"] = parsed.username
                await hand_to_rasa(request, on_new_message, UserMessage(
                    parsed.text, output, parsed.sender_id, input_channel=self.name(), metadata=metadata))

            outcome = await deliver(self.deliveries, parsed.key, parsed.sender_id, turn)
            if not outcome.taken:
                return not_taken_response(outcome)
            return response.json({"status": outcome.value})

        return webhook

    @staticmethod
    async def _answer_callback(output: TelegramOutput, update: TelegramUpdate) -> None:
        assert update.callback_id is not None
        try:
            await output.answer_callback(update.callback_id)
        except ProviderError as exc:  # the spinner is cosmetic; the message still counts
            logger.warning("answerCallbackQuery for %s failed: %s", pseudonym(update.sender_id), exc)

    def _verified_update(self, request: Request) -> TelegramUpdate | None:
        if not self.channels.telegram_token or not self.channels.telegram_secret_token:
            raise ChannelNotConfigured("Telegram", "RAPPORT_TELEGRAM_TOKEN and RAPPORT_TELEGRAM_SECRET_TOKEN")
        verify_telegram_secret(request.headers.get(SECRET_HEADER), self.channels.telegram_secret_token)
        return parse_update(json_body(request))
