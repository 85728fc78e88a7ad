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
