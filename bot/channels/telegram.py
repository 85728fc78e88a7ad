"""Telegram bot channel: verified webhook in, Bot API calls out, safe for staff pushes.

Rasa 3.6's own Telegram output calls ``asyncio.run(set_webhook)`` whenever an output channel is
made, which crashes inside the running server (staff replies pushed with
``output_channel=latest``).  This output only calls the Bot API from the current loop; the
webhook is registered once by the operator (see docs/channels.md).
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
    ChannelNotConfigured, ProviderOutput, call_api, deliver, error_response, json_body,
)
from bot.channels.rendering import buttons_from, telegram_message
from bot.channels.signatures import ReplayCache, SignatureError, verify_telegram_secret
from bot.channels.validation import BadRequest, check_sender, check_text
from bot.identity import CHANNEL_KEY
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


def parse_update(update: dict[str, Any]) -> tuple[int, str, str, str | None, dict[str, Any]] | None:
    """(update_id, sender, text, callback id, extra metadata) of a private-chat update, or None.

    The sender is the Telegram user's stable ``from.id``; group chats and non-text updates are
    not conversations with the assistant and give None.
    """
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise BadRequest("'update_id' is required and must be an integer")
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        message, text, callback_id = callback.get("message") or {}, callback.get("data"), callback.get("id")
        sender = callback.get("from")
    else:
        message = update.get("message") or update.get("edited_message")
        if not isinstance(message, dict):
            return None
        text, callback_id, sender = message.get("text"), None, message.get("from")
    if not isinstance(sender, dict) or text is None:
        return None
    chat = message.get("chat") if isinstance(message, dict) else None
    if isinstance(chat, dict) and chat.get("type") not in (None, "private"):
        return None
    sender_id = check_sender(sender.get("id"), "from.id")
    text = check_text(text, "text")
    if text.strip() == START_COMMAND:
        text = "/greet"
    extra = {"telegram_username": sender.get("username")} if isinstance(sender.get("username"), str) else {}
    return update_id, sender_id, text, callback_id if isinstance(callback_id, str) else None, extra


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
        self.replays = ReplayCache()

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
                logger.info("refused Telegram webhook: %s", exc)
                return error_response(exc)
            if parsed is None:
                return response.json({"status": "ignored"})
            _, sender_id, text, callback_id, extra = parsed
            output = self.get_output_channel()
            assert output is not None  # _verified_update checked the token
            if callback_id:
                try:
                    await output.answer_callback(callback_id)
                except Exception:  # noqa: BLE001 - the spinner is cosmetic; the message still counts
                    logger.warning("answerCallbackQuery failed", exc_info=True)
            metadata = {**extra, CHANNEL_KEY: self.name()}
            await deliver(on_new_message, UserMessage(text, output, sender_id, input_channel=self.name(),
                                                      metadata=metadata))
            return response.json({"status": "ok"})

        return webhook

    def _verified_update(self, request: Request) -> tuple[int, str, str, str | None, dict[str, Any]] | None:
        if not self.channels.telegram_token or not self.channels.telegram_secret_token:
            raise ChannelNotConfigured("Telegram", "RAPPORT_TELEGRAM_TOKEN and RAPPORT_TELEGRAM_SECRET_TOKEN")
        verify_telegram_secret(request.headers.get(SECRET_HEADER), self.channels.telegram_secret_token)
        update = json_body(request)
        parsed = parse_update(update)
        update_id = update["update_id"]
        if self.replays.seen_before(f"update:{update_id}"):
            raise SignatureError(f"update {update_id} was already processed", status=409)
        return parsed
