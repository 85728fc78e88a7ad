"""Rasa's socket.io channel with its input checked: same path, events and session protocol.

A message of the wrong shape or size, or one over a client's rate limit, is answered with a
``rapport_error`` event to that client only; other clients and the server carry on.  A blank
message gets a polite ``bot_uttered`` and runs no turn.  The ``customData`` metadata (a signed
customer id from the web chat) is passed through and ``rapport_channel`` is always set by the
server.

A long-polling POST larger than :data:`MAX_PACKET_BYTES` is answered 413 at once and that client's
session closed.  python-engineio answered it by closing the session and *waiting* for the client's
next poll to drain the queue, so the POST hung for as long as the client kept the request open.
Only the configured origins (the console's and ``RAPPORT_WEBCHAT_ALLOWED_ORIGINS``) may connect
from a browser; clients that send no ``Origin`` (apps, scripts) are not affected.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections import deque
from typing import Any, Awaitable, Callable

import engineio
from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot import settings as settings_module
from bot.boundary import BLANK_MESSAGE_REPLY, is_blank, parse_json_object
from bot.channels.validation import BadRequest, IncomingMessage, check_metadata, check_text
from bot.identity import CHANNEL_KEY, pseudonym

logger = logging.getLogger(__name__)

ERROR_EVENT = "rapport_error"
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
MAX_PACKET_BYTES = 64 * 1024
RATE_MESSAGES = 20
RATE_WINDOW_SECONDS = 10.0
TRANSPORTS = ["polling"]


class RateLimited(BadRequest):
    def __init__(self) -> None:
        super().__init__(f"more than {RATE_MESSAGES} messages in {RATE_WINDOW_SECONDS:.0f} s; slow down", 429)


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per client (sliding window)."""

    def __init__(self, limit: int = RATE_MESSAGES, window: float = RATE_WINDOW_SECONDS) -> None:
        self._limit = limit
        self._window = window
        self._events: dict[str, deque[float]] = {}

    def check(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        events = self._events.setdefault(client, deque())
        while events and now - events[0] > self._window:
            events.popleft()
        if len(events) >= self._limit:
            raise RateLimited()
        events.append(now)

    def forget(self, client: str) -> None:
        self._events.pop(client, None)


def check_session_id(value: Any) -> str:
    if not isinstance(value, str) or not SESSION_ID.match(value):
        raise BadRequest("'session_id' must be 8-128 letters, digits or _.:- (send session_request first)")
    return value


def parse_socket_message(data: Any, metadata_key: str, confirmed_session: str | None) -> IncomingMessage:
    """A ``user_uttered`` payload checked; the session must be the one this client confirmed."""
    if not isinstance(data, dict):
        raise BadRequest("user_uttered data must be an object like {\"message\": \"hi\", \"session_id\": \"...\"}")
    session_id = check_session_id(data.get("session_id"))
    if confirmed_session is None or session_id != confirmed_session:
        raise BadRequest("'session_id' is not this connection's session; send session_request first", 403)
    raw_metadata = data.get(metadata_key)
    if isinstance(raw_metadata, str):
        if len(raw_metadata) > 8192:
            raise BadRequest(f"'{metadata_key}' is too large", 413)
        raw_metadata = parse_json_object(raw_metadata, what=f"'{metadata_key}'")
    metadata = dict(check_metadata(raw_metadata))
    metadata[CHANNEL_KEY] = "socketio"
    text = check_text(data.get("message"))
    return IncomingMessage(session_id, text, metadata)


class _EngineIOServer(engineio.AsyncServer):
    """python-engineio's server, answering oversized posts at once and never waiting to disconnect."""

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request = args[0] if args else None
        length = _content_length(request)
        if request is not None and request.method == "POST" and length is not None \
                and length > self.max_http_buffer_size:
            sid = request.args.get("sid")
            if sid:
                await self.disconnect(sid)
            return response.json({"error": f"packet larger than {self.max_http_buffer_size} bytes"}, status=413)
        return await super().handle_request(*args, **kwargs)

    def _cors_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        # Rasa's CORS layer (`rasa run --cors`, the same origins) writes these; two copies break browsers.
        return []

    async def disconnect(self, sid: str | None = None) -> None:
        if sid is None:
            return await super().disconnect()
        socket = self.sockets.pop(sid, None)
        if socket is not None:
            await socket.close(wait=False)


def _content_length(request: Any) -> int | None:
    raw = getattr(request, "headers", {}).get("content-length") if request is not None else None
    if raw is None:
        body = getattr(request, "body", None)
        return len(body) if body is not None else None
    try:
        return int(raw)
    except ValueError:
        return None


class _SocketServer(AsyncServer):
    def _engineio_server_class(self) -> type:
        return _EngineIOServer


class SocketIOOutput(rasa_socketio.SocketIOOutput):
    """Rasa's output, except custom json is sent as the event's data (Rasa 3.6 passes it as kwargs)."""

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, dict(json_message))


class SocketIOInput(rasa_socketio.SocketIOInput):
    """The socket.io channel at ``/socket.io`` (name "socketio"), hardened."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> SocketIOOutput | None:
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        origins = list(settings_module.rasa_cors_origins())
        # Long-polling only: on Python 3.11 with Sanic 21 the websocket upgrade fails ("Invalid
        # frame header" in Chromium) and leaves clients spinning; not offering it keeps them on
        # polling from the start, unmodified clients (rasa-webchat) included.
        sio = _SocketServer(async_mode="sanic", cors_allowed_origins=origins, max_http_buffer_size=MAX_PACKET_BYTES,
                            transports=TRANSPORTS)
        blueprint = rasa_socketio.SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        sessions: dict[str, str] = {}
        limiter = RateLimiter()
        namespace = self.namespace

        async def refuse(sid: str, exc: BadRequest) -> None:
            logger.info("socket.io client refused: %s", exc)
            await sio.emit(ERROR_EVENT, {"status": exc.status, "error": str(exc)}, room=sid, namespace=namespace)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not token:
                    return False
                return bool(rasa_socketio.rasa.core.channels.channel.decode_bearer_token(
                    token, self.jwt_key, self.jwt_algorithm))
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            sessions.pop(sid, None)
            limiter.forget(sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            try:
                limiter.check(sid)
                requested = data.get("session_id") if isinstance(data, dict) else None
                session_id = check_session_id(requested) if requested is not None else uuid.uuid4().hex
            except BadRequest as exc:
                await refuse(sid, exc)
                return
            previous = sessions.get(sid)
            if previous and previous != session_id and self.session_persistence:
                sio.leave_room(sid, previous, namespace=namespace)
            sessions[sid] = session_id
            if self.session_persistence:
                sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            try:
                limiter.check(sid)
                incoming = parse_socket_message(data, self.metadata_key or "metadata", sessions.get(sid))
            except BadRequest as exc:
                await refuse(sid, exc)
                return
            sender = incoming.sender_id if self.session_persistence else sid
            output = SocketIOOutput(sio, self.bot_message_evt)
            if is_blank(incoming.text):
                await output.send_text_message(sid, BLANK_MESSAGE_REPLY)
                return
            try:
                await on_new_message(UserMessage(incoming.text, output, sender, input_channel=self.name(),
                                                 metadata=incoming.metadata))
            except Exception:  # noqa: BLE001 - one bad turn must not take the channel down
                logger.exception("socket.io message in %s failed", pseudonym(sender))
                await refuse(sid, BadRequest("the assistant could not answer that message", 500))

        return blueprint
