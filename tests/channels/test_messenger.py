"""Messenger end to end: signed page webhook in → Graph Send API (me/messages) out."""

from __future__ import annotations

import itertools
import json
import urllib.request

import pytest

from tests.channels import webhooks
from tests.fakes.base import ApiCall, Recorder
from tests.fakes.providers import MESSENGER_VERIFY_TOKEN
from tests.support.stack import Stack

_mids = itertools.count(1)


def page_event(psid: str, text: str | None = None, quick_reply: str | None = None) -> dict:
    message: dict = {"mid": f"m_{next(_mids)}", "text": text or quick_reply}
    if quick_reply:
        message["quick_reply"] = {"payload": quick_reply}
    return {"object": "page", "entry": [{"id": "PAGE1", "time": 1700000000000, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": "PAGE1"}, "timestamp": 1700000000000, "message": message}]}]}


def to_psid(psid: str, contains: str = "") -> "callable[[ApiCall], bool]":
    return lambda c: (c.provider == "messenger" and c.json["recipient"]["id"] == psid
                      and contains in c.json["message"].get("text", ""))


def test_webhook_verification_handshake(stack: Stack) -> None:
    url = (f"{stack.rasa_url}/webhooks/messenger/webhook?hub.mode=subscribe"
           f"&hub.verify_token={MESSENGER_VERIFY_TOKEN}&hub.challenge=1158201444")
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310
        assert answer.read() == b"1158201444"
    wrong = url.replace(MESSENGER_VERIFY_TOKEN, "nope")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=30)  # noqa: S310
    assert refused.value.code == 403


def test_message_gets_a_reply_through_the_send_api(stack: Stack, api: Recorder) -> None:
    assert webhooks.messenger(stack, page_event("PSID0001", "hello"))[0] == 200
    call = api.wait_for(to_psid("PSID0001"))
    assert call.query["access_token"] == "test-page-access-token"
    assert call.json["messaging_type"] == "RESPONSE"


def test_buttons_are_quick_replies_and_a_tap_answers(stack: Stack, api: Recorder) -> None:
    webhooks.messenger(stack, page_event("PSID0002", "/privacy_forget_me"))
    prompt = api.wait_for(to_psid("PSID0002", "erase everything"))
    replies = prompt.json["message"]["quick_replies"]
    assert [r["title"] for r in replies] == ["Yes, erase it", "No, keep it"]
    webhooks.messenger(stack, page_event("PSID0002", quick_reply=replies[1]["payload"]))
    api.wait_for(to_psid("PSID0002", "haven't erased"))


def test_staff_reply_pushed_by_rasa_reaches_messenger(stack: Stack, api: Recorder) -> None:
    webhooks.messenger(stack, page_event("PSID0003", "hello"))
    api.wait_for(to_psid("PSID0003"))
    assert webhooks.push_staff_reply(stack, "PSID0003", "Sam: all sorted")[0] == 200
    api.wait_for(to_psid("PSID0003", "Sam: all sorted"))


@pytest.mark.parametrize("secret, expected", [(None, 401), ("wrong-app-secret", 403)])
def test_missing_or_wrong_signature_is_refused(stack: Stack, api: Recorder, secret: str | None, expected: int) -> None:
    assert webhooks.messenger(stack, page_event("PSID0004", "hello"), secret=secret)[0] == expected
    with pytest.raises(AssertionError):
        api.wait_for(to_psid("PSID0004"), timeout=2)


def test_replayed_event_is_refused(stack: Stack, api: Recorder) -> None:
    body = json.dumps(page_event("PSID0005", "hello")).encode()
    assert webhooks.messenger(stack, body)[0] == 200
    api.wait_for(to_psid("PSID0005"))
    assert webhooks.messenger(stack, body)[0] == 409


BAD_BODIES = {
    "empty": b"",
    "malformed": b'{"object": "page", "entry": [',
    "non-utf8": b'{"object": "page", "x": "\xfe"}',
    "html": b"<!doctype html><p>hi",
    "not a page": json.dumps({"object": "user", "entry": []}).encode(),
    "huge": json.dumps({"object": "page", "entry": [], "pad": "a" * 100_000}).encode(),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_messenger_body_with_a_valid_signature_gets_a_4xx(stack: Stack, case: str) -> None:
    assert 400 <= webhooks.messenger(stack, BAD_BODIES[case])[0] < 500, case
