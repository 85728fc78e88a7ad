"""Rasa's REST channel with its input validated: same URL and JSON contract, clear 4xx errors."""

from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels import rest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.validation import BadRequest, IncomingMessage, parse_rest_body
from bot.identity import CHANNEL_KEY

logger = logging.getLogger(__name__)



class RestInput(rest.RestInput):
    """`POST /webhooks/rest/webhook` with ``sender``, ``message`` and optional ``metadata``."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"rapport_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            try:
                incoming = parse_rest_body(request.body)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=exc.status)
            metadata = self._metadata_for(incoming)
            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, incoming.text, incoming.sender_id,
                                         self.name(), metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(incoming.text, collector, incoming.sender_id,
                                input_channel=self.name(), metadata=metadata)
                )
            except CancelledError:
                logger.error("REST message from %s timed out", incoming.sender_id)
            except Exception:  # one bad turn must not take the channel down
                logger.exception("REST message from %s failed", incoming.sender_id)
            return response.json(collector.messages)

        return webhook

    def _metadata_for(self, incoming: IncomingMessage) -> Dict[Text, Any]:
        metadata = dict(incoming.metadata)
        metadata[CHANNEL_KEY] = self.name()
        return metadata

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None
