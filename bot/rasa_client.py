"""A client of Rasa's HTTP API (``--enable-api --auth-token``), for the console's desk and the action server.

Only the few calls they make: add events to a conversation (with or without side effects), run an
action in it, read its tracker.
"""

from __future__ import annotations

import re

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp

_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)
# Rasa answers a write with the tracker, by default with every event since the last restart: a
# conversation's whole history serialised, sent and parsed for a reply nobody reads.
_NO_EVENTS_BACK = {"include_events": "NONE"}


class RasaError(Exception):
    """Rasa answered, but not with success; the message carries its status and text."""


class RasaUnavailable(RasaError):
    """Rasa could not be reached (down, restarting, timing out); the call may be retried."""


class RasaClient:
    """A token-authenticated client for one Rasa server; one aiohttp session per client."""

    def __init__(self, base_url: str, token: str, session: aiohttp.ClientSession | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._session = session
        self._owns_session = session is None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _url(self, sender_id: str, tail: str) -> str:
        return f"{self._base}/conversations/{quote(sender_id, safe='')}/{tail}"

    async def _call(self, method: str, url: str, *, params: dict[str, str], body: Any = None) -> Any:
        params = {**params, "token": self._token}
        try:
            async with self._http().request(method, url, params=params, json=body) as response:
                text = await response.text()
                if response.status >= 500:
                    raise RasaUnavailable(f"Rasa answered {response.status}: {text[:200]}")
                if response.status >= 400:
                    raise RasaError(f"Rasa answered {response.status}: {text[:200]}")
                return await response.json(content_type=None) if text else None
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa is not reachable at {self._base}: {exc!r}") from exc

    async def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Add events to the conversation and run their side effects (the message reaches the customer)."""
        await self._call(
            "POST",
            self._url(sender_id, "tracker/events"),
            params={"output_channel": "latest", "execute_side_effects": "true", **_NO_EVENTS_BACK},
            body=events,
        )

    async def add_events(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Add events (e.g. slots) to the conversation without side effects: nothing is sent."""
        await self._call("POST", self._url(sender_id, "tracker/events"), params=dict(_NO_EVENTS_BACK), body=events)

    async def execute(self, sender_id: str, action: str) -> None:
        """Run one action (e.g. a response) in the conversation, answering on its latest channel."""
        await self._call(
            "POST", self._url(sender_id, "execute"), params={"output_channel": "latest", **_NO_EVENTS_BACK},
            body={"name": action},
        )  # fmt: skip

    async def tracker(self, sender_id: str) -> dict[str, Any]:
        result = await self._call("GET", self._url(sender_id, "tracker"), params={"include_events": "ALL"})
        if not isinstance(result, dict):
            raise RasaError("Rasa returned a tracker that is not an object")
        return result


def loggable(exc: RasaError) -> str:
    """What a log line may say about a failed call into Rasa: its status, never its answer.

    Rasa's error answers can quote the request (a staff reply, a customer's slot value).
    """
    return re.sub(r"^(Rasa answered \d+).*", r"\1", str(exc), flags=re.DOTALL)
