"""A socket.io customer, speaking Rasa's socket.io protocol like the web chat does."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import socketio


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
