"""Slack end to end: signed Events API and button clicks in → chat.postMessage with blocks out."""

from __future__ import annotations

import itertools
import json
import time
from urllib.parse import urlencode

import pytest

from tests.channels import webhooks
from tests.fakes.base import ApiCall, Recorder
from tests.support.stack import Stack

_events = itertools.count(1)


def event(user: str, text: str) -> bytes:
    return json.dumps({
        "type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": f"Ev{next(_events):06d}",
        "event_time": int(time.time()),
        "event": {"type": "message", "channel_type": "im", "channel": "D1", "user": user, "text": text,
                  "ts": "1700000000.000100"},
    }).encode()


def click(user: str, value: str) -> bytes:
    payload = {"type": "block_actions", "user": {"id": user, "username": "ada"}, "trigger_id": "1.2.3",
               "actions": [{"type": "button", "action_id": "rapport_button_1", "value": value,
                            "action_ts": str(time.time())}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def to_user(user: str, contains: str = "") -> "callable[[ApiCall], bool]":
    return lambda c: c.provider == "slack" and c.json.get("channel") == user and contains in c.json.get("text", "")


def test_direct_message_gets_a_reply_posted_to_the_user(stack: Stack, api: Recorder) -> None:
    body = event("U0001", "hello")
    status, _ = webhooks.slack(stack, body, webhooks.slack_headers(body))
    assert status == 200
    call = api.wait_for(to_user("U0001"))
    assert call.headers["Authorization"] == "Bearer xoxb-test-slack-token"
    assert call.json["text"].strip()


def test_buttons_are_blocks_and_a_click_answers(stack: Stack, api: Recorder) -> None:
    body = event("U0002", "/privacy_forget_me")
    webhooks.slack(stack, body, webhooks.slack_headers(body))
    prompt = api.wait_for(to_user("U0002", "erase everything"))
    buttons = prompt.json["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Yes, erase it", "No, keep it"]
    pressed = click("U0002", buttons[1]["value"])
    status, _ = webhooks.slack(stack, pressed, webhooks.slack_headers(
        pressed, content_type="application/x-www-form-urlencoded"))
    assert status == 200
    api.wait_for(to_user("U0002", "haven't erased"))


def test_url_verification_challenge_is_echoed(stack: Stack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"}).encode()
    status, answer = webhooks.slack(stack, body, webhooks.slack_headers(body))
    assert status == 200 and json.loads(answer) == {"challenge": "abc123"}


def test_staff_reply_pushed_by_rasa_reaches_slack(stack: Stack, api: Recorder) -> None:
    body = event("U0003", "hello")
    webhooks.slack(stack, body, webhooks.slack_headers(body))
    api.wait_for(to_user("U0003"))
    assert webhooks.push_staff_reply(stack, "U0003", "Sam: found it")[0] == 200
    api.wait_for(to_user("U0003", "Sam: found it"))


def _not_processed(api: Recorder, user: str) -> None:
    with pytest.raises(AssertionError):
        api.wait_for(to_user(user), timeout=2)


@pytest.mark.parametrize("case", ["missing", "wrong secret", "expired", "tampered"])
def test_bad_signatures_are_refused_and_not_processed(stack: Stack, api: Recorder, case: str) -> None:
    user = f"U01{case[:3].upper()}"
    body = event(user, "hello")
    headers = {
        "missing": {"Content-Type": "application/json"},
        "wrong secret": webhooks.slack_headers(body, secret="not-the-secret"),
        "expired": webhooks.slack_headers(body, timestamp=int(time.time()) - 600),
        "tampered": webhooks.slack_headers(event(user, "something else")),
    }[case]
    status, _ = webhooks.slack(stack, body, headers)
    assert status in (401, 403)
    _not_processed(api, user)


def test_replayed_request_is_refused(stack: Stack, api: Recorder) -> None:
    body = event("U0004", "hello")
    headers = webhooks.slack_headers(body)
    assert webhooks.slack(stack, body, headers)[0] == 200
    api.wait_for(to_user("U0004"))
    count = len([c for c in api.calls() if to_user("U0004")(c)])
    assert webhooks.slack(stack, body, headers)[0] == 409
    resigned = webhooks.slack_headers(body, timestamp=int(time.time()) + 1)  # same event id, new signature
    assert webhooks.slack(stack, body, resigned)[0] == 409
    assert len([c for c in api.calls() if to_user("U0004")(c)]) == count


BAD_BODIES = {
    "empty": b" ",
    "malformed json": b'{"type": "event_callback", ',
    "non-utf8": b'{"type": "event_callback", "x": "\xff"}',
    "html": b"<html>hello</html>",
    "huge": json.dumps({"type": "event_callback", "pad": "a" * 100_000}).encode(),
    "event not an object": json.dumps({"type": "event_callback", "event": "hi"}).encode(),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_slack_body_with_a_valid_signature_gets_a_4xx(stack: Stack, case: str) -> None:
    body = BAD_BODIES[case]
    status, _ = webhooks.slack(stack, body, webhooks.slack_headers(body))
    assert 400 <= status < 500, case
