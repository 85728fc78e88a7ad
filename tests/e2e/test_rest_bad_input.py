"""Bad input at the REST webhook gets a clear 4xx (never a 5xx) and the server keeps answering."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.stack import Stack


def _post(stack: Stack, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


BAD_BODIES = {
    "empty body": b"",
    "invalid json": b'{"sender": "x", "message": ',
    "json array": b'["hello"]',
    "message not a string": json.dumps({"sender": "bad-types", "message": {"a": 1}}).encode(),
    "sender not a string": json.dumps({"sender": ["x"], "message": "hi"}).encode(),
    "missing message": json.dumps({"sender": "no-message"}).encode(),
    "non-utf8 bytes": b'{"sender": "bytes", "message": "\xff\xfe\xfa caf\xe9"}',
    "huge message": json.dumps({"sender": "huge", "message": "delivery " * 12_000}).encode(),
    "metadata not an object": json.dumps({"sender": "meta", "message": "hi", "metadata": "x"}).encode(),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_body_is_refused_without_a_server_error(stack: Stack, case: str) -> None:
    status, body = _post(stack, BAD_BODIES[case])
    assert status < 500, f"{case}: {status} {body[:300]!r}"
    assert stack.say("after-" + case.replace(" ", "-"), "what time do you open"), "server stopped answering"


@pytest.mark.parametrize("case", ["empty body", "invalid json", "missing message", "non-utf8 bytes"])
def test_bad_body_gets_a_clear_400(stack: Stack, case: str) -> None:
    status, body = _post(stack, BAD_BODIES[case])
    assert status == 400, (status, body[:300])
    assert b"error" in body.lower() or b"message" in body.lower()


def test_html_in_a_message_is_answered_as_plain_text(stack: Stack) -> None:
    replies = stack.say("html-sender", "<script>alert('x')</script><b>delivery</b> cost?")
    assert replies, "no reply"
    assert all("<script>" not in r.get("text", "") for r in replies)


def test_missing_sender_gets_400(stack: Stack) -> None:
    status, body = _post(stack, json.dumps({"message": "hi"}).encode())
    assert status == 400, (status, body[:300])


# Findings of the hardening issue, each reproduced against the real server before the fix.

@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("body", [
    b'{"sender": "\\ud800", "message": "hi"}',                       # killed the Rasa server
    b'{"sender": "surrogate-text", "message": "hi \\udfff"}',
    b'{"sender": "surrogate-meta", "message": "hi", "metadata": {"customer_id": "\\ud800", "customer_signature": "\\ud800"}}',
    b'{"sender": "x\\u0000y", "message": "hi"}',
    b'{"sender": "x\\u2028y", "message": "hi"}',
    ('{"sender": "deep", "message": ' + "[" * 1000 + "]" * 1000 + "}").encode(),
    ('{"sender": "deep-meta", "message": "hi", "metadata": ' + '{"a":' * 1000 + "1" + "}" * 1000 + "}").encode(),
    b'{"sender": "nan", "message": NaN}',
])
def test_hostile_bodies_get_a_400_at_once_and_the_same_server_keeps_answering(stack: Stack, body: bytes,
                                                                              stream: bool) -> None:
    import time

    before = stack.children()
    url_suffix = "?stream=true" if stream else ""
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook{url_suffix}", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 400
    assert b"error" in refused.value.read()
    assert time.monotonic() - started < 1.0
    assert stack.say("after-hostile", "what time do you open")
    assert stack.children().get("rasa") == before.get("rasa"), "the Rasa process was restarted"


@pytest.mark.parametrize("blank", ["", "   ", "\u2028", "\u200b\u200b", "\t\n"])
def test_a_blank_message_gets_a_short_polite_answer_and_no_traceback(stack: Stack, blank: str) -> None:
    log = stack.var_dir / "logs" / "rasa.log"
    size = log.stat().st_size
    replies = stack.say("blank-sender", blank)
    assert len(replies) == 1 and "didn't catch" in replies[0]["text"]
    assert "Traceback" not in log.read_bytes()[size:].decode(errors="replace")


def test_a_blank_streamed_message_gets_the_same_answer(stack: Stack) -> None:
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook?stream=true",
                                     data=b'{"sender": "blank-stream", "message": " "}', method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        lines = [json.loads(line) for line in answer.read().splitlines() if line.strip()]
    assert len(lines) == 1 and "didn't catch" in lines[0]["text"]


def test_an_unreadable_stored_event_fails_that_turn_only_and_never_ends_the_server(stack: Stack) -> None:
    """Defence in depth: a ValueError inside Rasa's tracker-store session used to call sys.exit."""
    import sqlite3
    import time

    sender = "poisoned-" + str(time.time_ns())
    with sqlite3.connect(stack.var_dir / "tracker.db") as db:
        db.execute("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                   "VALUES (?, 'user', ?, NULL, NULL, ?)", (sender, time.time(), "not json {"))
    before = stack.children()
    for stream in ("", "?stream=true"):
        request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook{stream}",
                                         data=json.dumps({"sender": sender, "message": "hi"}).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  (the stream ends too)
            assert answer.status == 200
            answer.read()
    assert stack.say("after-poison", "what time do you open"), "other conversations stopped"
    assert stack.children().get("rasa") == before.get("rasa"), "the Rasa process exited and was restarted"
