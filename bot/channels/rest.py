"""Rasa's REST channel with its input validated: same URL and JSON contract, clear 4xx errors.

Everything a client sends is checked by :mod:`bot.boundary` before Rasa sees it. A blank message
is answered politely at the door (no turn runs for it). A turn that fails inside Rasa is logged
and answered with what the bot said so far, with or without ``?stream=true``; the stream always
ends, even when the turn raised.
"""

from __future__ import annotations

import asyncio
import json
import logging
from asyncio import CancelledError, Queue
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels import rest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.boundary import BLANK_MESSAGE_REPLY, is_blank
from bot.rasa import api_guard
from bot.channels.validation import BadRequest, IncomingMessage, parse_rest_body
from bot.identity import CHANNEL_KEY, pseudonym

logger = logging.getLogger(__name__)

_DONE = object()


class RestInput(rest.RestInput):
    """`POST /webhooks/rest/webhook` with ``sender``, ``message`` and optional ``metadata``."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        # Rasa registers the channels on its app just after creating it: the moment to put the
        # same boundary check in front of Rasa's own HTTP API.
        api_guard.install()
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
            stream = bool_arg(request, "stream", default=False)
            if is_blank(incoming.text):
                reply = [{"recipient_id": incoming.sender_id, "text": BLANK_MESSAGE_REPLY}]
                if stream:
                    return response.text("".join(json.dumps(m) + "\n" for m in reply),
                                         content_type="text/event-stream")
                return response.json(reply)
            message = UserMessage(incoming.text, None, incoming.sender_id, input_channel=self.name(),
                                  metadata=self._metadata_for(incoming))
            if stream:
                return response.stream(_streamed(on_new_message, message), content_type="text/event-stream")
            collector = CollectingOutputChannel()
            message.output_channel = collector
            await _run_turn(on_new_message, message)
            return response.json(collector.messages)

        return webhook

    def _metadata_for(self, incoming: IncomingMessage) -> Dict[Text, Any]:
        metadata = dict(incoming.metadata)
        metadata[CHANNEL_KEY] = self.name()
        return metadata

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None


async def _run_turn(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> None:
    """One turn; a failure is logged (without the sender id) and never reaches the client as a 5xx."""
    try:
        await on_new_message(message)
    except CancelledError:
        logger.error("REST message in %s timed out", pseudonym(message.sender_id))
    except Exception:  # noqa: BLE001 - one bad turn must not take the channel down
        logger.exception("REST message in %s failed", pseudonym(message.sender_id))


def _streamed(on_new_message: Callable[[UserMessage], Awaitable[Any]],
              message: UserMessage) -> Callable[[Any], Awaitable[None]]:
    """Rasa's streamed answer (one JSON message a line), which also ends when the turn fails."""

    async def stream(resp: Any) -> None:
        queue: Queue = Queue()
        message.output_channel = rest.QueueOutputChannel(queue)

        async def turn() -> None:
            try:
                await _run_turn(on_new_message, message)
            finally:
                await queue.put(_DONE)

        task = asyncio.ensure_future(turn())
        try:
            while (item := await queue.get()) is not _DONE:
                await resp.write(json.dumps(item) + "\n")
        finally:
            if not task.done():
                task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return stream
