"""The live feed: customer messages of held conversations reach staff browsers within a second."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot.console.keys import STAFF_DIRECTORY_KEY
from bot.handoff import live
from tests.console.conftest import add_staff, add_tracker_event, login, open_ticket


async def _next(ws, kind: str, timeout: float = 2.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive_json(timeout=max(0.01, deadline - time.monotonic()))
        if message["type"] == kind:
            return message


async def test_customer_messages_of_held_conversations_arrive_within_a_second(client, console_settings):
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    ticket = await open_ticket(client, "cust-live")
    tracker = console_settings.var_dir / "tracker.db"
    async with client.ws_connect("/ws") as ws:
        await asyncio.sleep(0.4)  # the tail has read where the table ends
        add_tracker_event(tracker, "someone-else", "user", "not held, never shown")
        started = time.monotonic()
        add_tracker_event(tracker, "cust-live", "user", "<script>alert(1)</script> hello?")
        message = await _next(ws, "message")
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert message == {
        "type": "message", "ticket_id": ticket.id, "who": "customer", "text": "<script>alert(1)</script> hello?",
        "staff_name": None, "at": message["at"],
    }  # fmt: skip


async def test_queue_changes_are_pushed(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    headers = {"Authorization": f"Bearer {await client.app[STAFF_DIRECTORY_KEY].create_token('ann@example.com')}"}
    async with client.ws_connect("/ws") as ws:
        await asyncio.sleep(0.3)
        ticket = await open_ticket(client, "cust-new")  # created by the action server, seen by polling
        await _next(ws, "queue")
        await client.post(f"/api/tickets/{ticket.id}/claim", headers=headers)
        await _next(ws, "queue")


async def test_the_websocket_needs_a_login_and_the_same_origin(client):
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await client.ws_connect("/ws")
    assert anonymous.value.status == 401
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert foreign.value.status == 403
    await add_staff(client, "mia@example.com", role="marketer")
    client.session.cookie_jar.clear()
    await login(client, "mia@example.com")
    with pytest.raises(aiohttp.WSServerHandshakeError) as marketer:
        await client.ws_connect("/ws")
    assert marketer.value.status == 403


async def test_a_delivered_staff_reply_is_read_at_once_not_at_the_next_poll(client, console_settings, monkeypatch):
    monkeypatch.setattr(live, "POLL_SECONDS", 5.0)
    await add_staff(client, "ann@example.com", name="Ann Smith")
    headers = {"Authorization": f"Bearer {await client.app[STAFF_DIRECTORY_KEY].create_token('ann@example.com')}"}
    ticket = await open_ticket(client, "cust-wake")
    tracker = console_settings.var_dir / "tracker.db"
    async with client.ws_connect("/ws", headers=headers) as ws:
        assert (await client.post(f"/api/tickets/{ticket.id}/claim", headers=headers)).status == 200
        await _next(ws, "queue")
        await asyncio.sleep(0.3)  # the tail has read the table and now sleeps a (long) poll
        # Rasa stores the reply as it delivers it; the fake Rasa does not, so the test writes it.
        add_tracker_event(tracker, "cust-wake", "bot", "Ann: on it", data={"custom": {"rapport_staff": {"name": "Ann"}}})
        started = time.monotonic()
        reply = await client.post(f"/api/tickets/{ticket.id}/reply", json={"text": "on it"}, headers=headers)
        assert reply.status == 200
        message = await _next(ws, "message", timeout=2.0)
    assert time.monotonic() - started < 1.0
    assert (message["ticket_id"], message["who"], message["text"], message["staff_name"]) == (ticket.id, "staff", "Ann: on it", "Ann")


async def test_a_lone_surrogate_in_the_tracker_reaches_staff_as_a_replacement_character(client, console_settings):
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    await open_ticket(client, "cust-live")
    tracker = console_settings.var_dir / "tracker.db"
    async with client.ws_connect("/ws") as ws:
        await asyncio.sleep(0.4)
        add_tracker_event(tracker, "cust-live", "user", "hi \ud800 there")  # stored by Rasa as a \ud800 escape
        first = await _next(ws, "message")
        add_tracker_event(tracker, "cust-live", "user", "still listening?")
        second = await _next(ws, "message")
    assert first["text"] == "hi \ufffd there" and second["text"] == "still listening?"
