"""Fuzzing the REST webhook: whatever a stranger sends, a 4xx within a second or a real answer; never a 5xx,
never a restart, and nothing stored from a refused request."""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
import urllib.error
import urllib.request

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hostile import hostile_strings, hostile_values, json_bytes, raw_bodies
from tests.support.stack import Stack

_counter = itertools.count()

CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin-1"]


def _post(stack: Stack, body: bytes, content_type: str, stream: bool) -> tuple[int, float]:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook" + ("?stream=true" if stream else ""),
                                     data=body, headers=headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            answer.read()
            return answer.status, time.monotonic() - started
    except urllib.error.HTTPError as refused:
        refused.read()
        return refused.code, time.monotonic() - started


def _stored_events(stack: Stack, sender: str) -> int:
    with sqlite3.connect(stack.var_dir / "tracker.db") as db:
        return db.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]


fields = st.fixed_dictionaries({}, optional={
    "sender": hostile_values, "message": hostile_values,
    "metadata": st.one_of(hostile_values, st.dictionaries(hostile_strings, hostile_values, max_size=3)),
})


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=fields, content_type=st.sampled_from(CONTENT_TYPES), stream=st.booleans())
def test_hostile_fields_never_get_a_5xx_and_refusals_store_nothing(stack: Stack, body: dict, content_type: str,
                                                                   stream: bool) -> None:
    marker = f"fuzz-rest-{next(_counter)}"
    if "sender" not in body or not isinstance(body["sender"], str) or len(body["sender"]) < 3:
        body = {**body, "sender": marker}
    status, took = _post(stack, json_bytes(body), content_type, stream)
    assert status < 500, (status, body)
    if status >= 400:
        assert took < 1.0, f"refusal took {took:.2f} s"
        if body["sender"] == marker:
            assert _stored_events(stack, marker) == 0, "a refused request reached the tracker store"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=raw_bodies, stream=st.booleans())
def test_raw_bodies_never_get_a_5xx(stack: Stack, body: bytes, stream: bool) -> None:
    status, took = _post(stack, body, "application/json", stream)
    assert status < 500
    if status >= 400:
        assert took < 1.0


def test_after_the_fuzz_the_same_rasa_process_still_converses(stack: Stack) -> None:
    before = stack.children()["rasa"]
    for body in [b'{"sender": "\\ud800", "message": "hi"}', ("[" * 5000).encode(), b"\xff" * 100]:
        _post(stack, body, "application/json", False)
    replies = stack.say("after-fuzz", "how much is delivery?")
    assert any("delivery" in r.get("text", "").lower() for r in replies)
    assert stack.children()["rasa"] == before
    log = (stack.var_dir / "logs" / "rasa.log").read_text(errors="replace")
    assert "Exiting application" not in log and "print_error_and_exit" not in log
    json.dumps(replies)
