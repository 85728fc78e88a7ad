"""The hardened socket.io channel: bad shapes and sizes refused to one client, others keep talking."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import socketio

from bot.channels.socketio import ERROR_EVENT, RateLimiter, RateLimited, parse_socket_message
from bot.channels.validation import BadRequest
from tests.support.socketio_client import ProtocolClient as Client, open_polling_session as _open_polling_session
from tests.support.stack import Stack

SESSION = "a" * 32


def test_good_message_keeps_custom_data_and_the_server_sets_the_channel() -> None:
    data = {"message": "hi", "session_id": SESSION,
            "customData": {"customer_id": "c1", "customer_signature": "ab", "rapport_channel": "rest"}}
    incoming = parse_socket_message(data, "customData", SESSION)
    assert incoming.sender_id == SESSION and incoming.text == "hi"
    assert incoming.metadata == {"customer_id": "c1", "customer_signature": "ab", "rapport_channel": "socketio"}


def test_custom_data_sent_as_a_json_string_is_accepted() -> None:
    data = {"message": "hi", "session_id": SESSION, "customData": json.dumps({"language": "en"})}
    assert parse_socket_message(data, "customData", SESSION).metadata["language"] == "en"


BAD = {
    "not an object": ("hello", 400),
    "list": (["hello"], 400),
    "missing message": ({"session_id": SESSION}, 400),
    "message not text": ({"session_id": SESSION, "message": {"a": 1}}, 400),
    "lone surrogate in the message": ({"session_id": SESSION, "message": "hi \ud800"}, 400),
    "lone surrogate in custom data": ({"message": "hi", "session_id": SESSION, "customData": {"customer_id": "\udfff"}}, 400),
    "custom data nested too deep": ({"message": "hi", "session_id": SESSION, "customData": json.loads("{\"a\":" * 30 + "1" + "}" * 30)}, 400),
    "too long": ({"session_id": SESSION, "message": "x" * 5001}, 413),
    "missing session": ({"message": "hi"}, 400),
    "bad session chars": ({"message": "hi", "session_id": "<script>alert(1)</script>"}, 400),
    "someone else's session": ({"message": "hi", "session_id": "b" * 32}, 403),
    "metadata not an object": ({"message": "hi", "session_id": SESSION, "customData": [1]}, 400),
    "metadata not json": ({"message": "hi", "session_id": SESSION, "customData": "{nope"}, 400),
    "oversized metadata": ({"message": "hi", "session_id": SESSION, "customData": {"pad": "x" * 9000}}, 413),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_shapes_are_refused_with_a_clear_status(case: str) -> None:
    data, status = BAD[case]
    with pytest.raises(BadRequest) as refused:
        parse_socket_message(data, "customData", SESSION)
    assert refused.value.status == status


def test_rate_limit_is_per_client_and_recovers() -> None:
    limiter = RateLimiter(limit=3, window=10)
    for t in range(3):
        limiter.check("a", now=t)
    with pytest.raises(RateLimited):
        limiter.check("a", now=3)
    limiter.check("b", now=3)
    limiter.check("a", now=10.5)


async def test_bad_payloads_get_an_error_event_while_another_client_keeps_talking(stack: Stack) -> None:
    good, bad = Client(), Client()
    await good.connect(stack.rasa_url)
    await bad.connect(stack.rasa_url)
    for payload in ["just text", ["a", "list"], {"message": "hi"}, {"message": "x" * 6000, "session_id": bad.session.result()},
                    {"message": "hi", "session_id": bad.session.result(), "customData": {"pad": "y" * 9000}},
                    {"message": "hi", "session_id": good.session.result()}]:
        await bad.sio.emit("user_uttered", payload)
    await bad.wait(lambda: len(bad.errors) >= 6)
    assert {e["status"] for e in bad.errors} == {400, 413, 403}
    await good.say("hello")
    await good.wait(lambda: any(m.get("text") for m in good.bot))
    assert good.errors == [] and bad.bot == []
    assert bad.sio.connected
    await bad.say("hello")  # the refused client can still talk properly
    await bad.wait(lambda: any(m.get("text") for m in bad.bot))
    await good.sio.disconnect()
    await bad.sio.disconnect()


async def test_flooding_client_is_rate_limited_and_others_are_not(stack: Stack) -> None:
    flooder, other = Client(), Client()
    session_id = await flooder.connect(stack.rasa_url)
    await other.connect(stack.rasa_url)
    for _ in range(25):  # session requests cost no Rasa turn, so only the limiter is measured
        await flooder.sio.emit("session_request", {"session_id": session_id})
        await asyncio.sleep(0.1)  # one packet per poll: engine.io drops payloads of > 16 packets itself
    await flooder.wait(lambda: any(e["status"] == 429 for e in flooder.errors))
    await other.say("hello")
    await other.wait(lambda: any(m.get("text") for m in other.bot))
    assert other.errors == []
    await flooder.sio.disconnect()
    await other.sio.disconnect()


async def test_session_is_kept_across_connections(stack: Stack) -> None:
    first = Client()
    session_id = await first.connect(stack.rasa_url, uuid.uuid4().hex)
    await first.sio.disconnect()
    again = Client()
    assert await again.connect(stack.rasa_url, session_id) == session_id
    await again.say("hello")
    await again.wait(lambda: any(m.get("text") for m in again.bot))
    await again.sio.disconnect()


async def test_a_blank_message_gets_a_polite_answer_and_no_error(stack: Stack) -> None:
    client = Client()
    await client.connect(stack.rasa_url)
    for blank in ["   ", "\u2028", "\u200b"]:
        await client.say(blank)
    await client.wait(lambda: len(client.bot) >= 3)
    assert client.errors == []
    assert all("didn't catch" in m["text"] for m in client.bot)
    await client.sio.disconnect()


def test_an_oversized_packet_is_answered_413_at_once_and_the_server_keeps_serving(stack: Stack) -> None:
    import time
    import urllib.error
    import urllib.request

    sid = _open_polling_session(stack.rasa_url)
    packet = ('42["user_uttered",{"message":"' + "x" * 70_000 + '"}]').encode()
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(  # noqa: S310
            f"{stack.rasa_url}/socket.io/?EIO=4&transport=polling&sid={sid}", data=packet, method="POST"), timeout=10)
    assert refused.value.code == 413
    assert time.monotonic() - started < 1.0
    assert stack.say("after-big-packet-" + uuid.uuid4().hex[:6], "hello")  # everyone else still served


@pytest.mark.parametrize("origin, allowed", [("http://evil.example", False), ("console", True)])
def test_only_configured_origins_may_open_a_socket_from_a_browser(stack: Stack, origin: str, allowed: bool) -> None:
    import urllib.error
    import urllib.request

    origin = stack.console_url if origin == "console" else origin
    request = urllib.request.Request(f"{stack.rasa_url}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            status, headers = answer.status, answer.headers
    except urllib.error.HTTPError as refused:
        status, headers = refused.code, refused.headers
    if allowed:
        assert status == 200
        assert headers.get_all("Access-Control-Allow-Origin") == [origin]
    else:
        assert status >= 400
        assert "evil.example" not in (headers.get("Access-Control-Allow-Origin") or "")
