"""A socket.io customer, speaking Rasa's socket.io protocol like the web chat does."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import socketio

from bot.channels.socketio import ERROR_EVENT


class SocketCustomer:
    """Connects, confirms a session, sends `user_uttered` and collects `bot_uttered`."""

    def __init__(self, url: str, session_id: str | None = None) -> None:
        self.url = url
        self.session_id = session_id or uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.errors: list[Any] = []
        self.client.on("bot_uttered", self._on_bot)
        self.client.on("session_confirm", self._on_confirm)
        self._confirmed = asyncio.Event()

    async def _on_bot(self, data: dict[str, Any]) -> None:
        await self.received.put(data)

    async def _on_confirm(self, data: Any) -> None:
        self._confirmed.set()

    async def connect(self) -> "SocketCustomer":
        await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(self._confirmed.wait(), 20)
        return self

    async def say(self, text: str, metadata: dict[str, Any] | None = None, timeout: float = 30) -> list[dict[str, Any]]:
        """Send one message and return the bot messages that arrive for it."""
        while not self.received.empty():
            self.received.get_nowait()
        payload: dict[str, Any] = {"message": text, "session_id": self.session_id}
        if metadata is not None:
            payload["customData"] = metadata
        await self.client.emit("user_uttered", payload)
        first = await asyncio.wait_for(self.received.get(), timeout)
        messages = [first]
        while True:
            try:
                messages.append(await asyncio.wait_for(self.received.get(), 1.0))
            except asyncio.TimeoutError:
                return messages

    async def close(self) -> None:
        await self.client.disconnect()


class ProtocolClient:
    """A socket.io v4 client speaking Rasa's session protocol, keeping every bot message and error event."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.bot: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.session: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.sio.on("bot_uttered", self.bot.append)
        self.sio.on(ERROR_EVENT, self.errors.append)
        self.sio.on("session_confirm", lambda sid: self.session.done() or self.session.set_result(sid))

    async def connect(self, url: str, session_id: str | None = None) -> str:
        await self.sio.connect(url, socketio_path="/socket.io", transports=["polling"])
        await self.sio.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.session, 20)

    async def say(self, text: str, **extra: Any) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session.result(), **extra})

    async def wait(self, found: Any, timeout: float = 30) -> None:
        for _ in range(int(timeout * 20)):
            if found():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out; bot={self.bot} errors={self.errors}")


def open_polling_session(base: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{base}/socket.io/?EIO=4&transport=polling", timeout=10) as answer:  # noqa: S310
        handshake = answer.read().decode()
    sid = json.loads(handshake[1:])["sid"]
    urllib.request.urlopen(urllib.request.Request(  # noqa: S310
        f"{base}/socket.io/?EIO=4&transport=polling&sid={sid}", data=b"40", method="POST"), timeout=10).read()
    return sid
