"""Messenger end to end: signed page webhook in → Graph Send API (me/messages) out."""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from typing import Any

import pytest

from tests.channels import webhooks
from tests.fakes.base import ApiCall, Recorder
from tests.fakes.providers import MESSENGER_VERIFY_TOKEN
from tests.support.hostile import deep_json, deep_object, json_bytes
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


def sent(api: Recorder, psid: str) -> list[str]:
    return [c.json["message"].get("text", "") for c in api.calls("messenger") if to_psid(psid)(c)]


def test_redelivered_event_is_answered_200_and_processed_once(stack: Stack, api: Recorder) -> None:
    body = json.dumps(page_event("PSID0005", "hello")).encode()
    assert webhooks.messenger(stack, body)[0] == 200
    api.wait_for(to_psid("PSID0005"))
    before = sent(api, "PSID0005")
    status, answer = webhooks.messenger(stack, body)
    assert status == 200 and answer == b"EVENT_RECEIVED"
    assert sent(api, "PSID0005") == before
    assert webhooks.transcript(stack, "PSID0005") == ["hello"]


def test_redelivered_batch_runs_only_its_new_events(stack: Stack, api: Recorder) -> None:
    first = page_event("PSID0006", "hello")
    assert webhooks.messenger(stack, first)[0] == 200
    api.wait_for(to_psid("PSID0006"))
    second = page_event("PSID0006", "thanks")
    batch = {"object": "page", "entry": first["entry"] + second["entry"]}
    assert webhooks.messenger(stack, batch)[0] == 200
    assert webhooks.transcript(stack, "PSID0006") == ["hello", "thanks"]


def test_event_whose_first_delivery_failed_is_processed_when_redelivered(stack: Stack, api: Recorder) -> None:
    body = json.dumps(page_event("PSID0007", "hello")).encode()
    api.fail_next(to_psid("PSID0007"))
    assert webhooks.messenger(stack, body)[0] == 503
    assert webhooks.messenger(stack, body)[0] == 200
    api.wait_for(to_psid("PSID0007"))
    assert webhooks.transcript(stack, "PSID0007") == ["hello"]


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


def _event_with(**message_fields: Any) -> bytes:
    body = page_event("PSID0090", "hello")
    body["entry"][0]["messaging"][0]["message"].update(message_fields)
    return json_bytes(body)


def _messaging_with(**fields: Any) -> bytes:
    body = page_event("PSID0090", "hello")
    body["entry"][0]["messaging"][0].update(fields)
    return json_bytes(body)


HOSTILE_SIGNED = {
    "lone surrogate in text": _event_with(text="\udfffhi"),
    "lone surrogate in mid": _event_with(mid="m_\ud800"),
    "control character in mid": _event_with(mid="m_\x00"),
    "control character in sender.id": _messaging_with(sender={"id": "PSID\u202e0090"}),
    "sender.id an object": _messaging_with(sender={"id": {"id": "PSID0090"}}),
    "sender a string": _messaging_with(sender="PSID0090"),
    "text a number": _event_with(text=12),
    "text a list": _event_with(text=["hello"]),
    "mid a number": _event_with(mid=12),
    "quick reply payload an object": _event_with(quick_reply={"payload": {"a": 1}}),
    "message a list": _messaging_with(message=["hello"]),
    "messaging not a list": json_bytes({"object": "page", "entry": [{"id": "PAGE1", "messaging": {"a": 1}}]}),
    "entry item a number": json_bytes({"object": "page", "entry": [5]}),
    "huge text": _event_with(text="a" * 6_000),
    "nested 1000 deep (arrays)": b'{"object": "page", "entry": ' + deep_json(1000).encode() + b"}",
    "nested 1000 deep (objects)": b'{"object": "page", "entry": [' + deep_object(1000).encode() + b"]}",
    "no mid and no timestamp": json_bytes({"object": "page", "entry": [{"id": "PAGE1", "messaging": [
        {"sender": {"id": "PSID0090"}, "message": {"text": "hello"}}]}]}),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SIGNED))
def test_hostile_body_with_a_valid_signature_gets_a_4xx_within_a_second(stack: Stack, api: Recorder, case: str) -> None:
    sent_before = len(api.calls("messenger"))
    started = time.monotonic()
    status, answer = webhooks.messenger(stack, HOSTILE_SIGNED[case])
    assert 400 <= status < 500, (case, answer)
    assert time.monotonic() - started < 1
    assert len(api.calls("messenger")) == sent_before
