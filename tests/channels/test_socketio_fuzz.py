"""Fuzzing the socket.io channel: hostile events get a `rapport_error` (or a polite answer) for that client only,
raw engine.io posts get a 4xx at once, and the same Rasa process keeps serving everyone else."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.socketio_client import ProtocolClient as Client, open_polling_session as _open_polling_session
from tests.support.hostile import hostile_strings, hostile_values, raw_bodies
from tests.support.stack import Stack

payloads = st.one_of(
    hostile_values,
    st.fixed_dictionaries({}, optional={"message": hostile_values, "session_id": hostile_values,
                                        "customData": st.one_of(hostile_values,
                                                                st.dictionaries(hostile_strings, hostile_values, max_size=3))}),
)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(events=st.lists(st.tuples(st.sampled_from(["user_uttered", "session_request"]), payloads), min_size=1, max_size=4))
def test_hostile_events_are_answered_to_that_client_and_never_break_the_server(stack: Stack, events) -> None:
    async def run() -> None:
        client = Client()
        await client.connect(stack.rasa_url)
        for name, payload in events:
            await client.sio.emit(name, payload)
            await asyncio.sleep(0.05)  # engine.io drops polls carrying more than 16 packets
        await asyncio.sleep(0.3)
        assert all(400 <= e["status"] < 500 for e in client.errors), client.errors
        assert client.sio.connected or client.errors, "the server dropped the client without telling it why"
        await client.sio.disconnect()

    asyncio.run(run())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=raw_bodies)
def test_raw_engine_io_posts_get_an_answer_within_a_second(stack: Stack, body: bytes) -> None:
    sid = _open_polling_session(stack.rasa_url)
    request = urllib.request.Request(f"{stack.rasa_url}/socket.io/?EIO=4&transport=polling&sid={sid}", data=body,
                                     method="POST", headers={"Content-Type": "text/plain;charset=UTF-8"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as refused:
        status = refused.code
    assert status < 500
    assert time.monotonic() - started < 1.0


def test_after_the_fuzz_the_same_rasa_process_converses_on_socket_io(stack: Stack) -> None:
    before = stack.children()["rasa"]

    async def run() -> None:
        client = Client()
        await client.connect(stack.rasa_url)
        await client.say("how much is delivery?")
        await client.wait(lambda: any("delivery" in (m.get("text") or "").lower() for m in client.bot))
        await client.sio.disconnect()

    asyncio.run(run())
    assert stack.children()["rasa"] == before
