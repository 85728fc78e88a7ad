"""Telegram end to end: update in (secret token checked) → Rasa → sendMessage at the fake Bot API."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.channels import webhooks
from tests.fakes.base import ApiCall, Recorder
from tests.support.stack import Stack

_update_ids = itertools.count(1000)
FORGET_PROMPT = "I can erase everything"


def update(user_id: int, text: str) -> dict:
    return {
        "update_id": next(_update_ids),
        "message": {"message_id": 1, "date": 1700000000, "text": text,
                    "from": {"id": user_id, "is_bot": False, "first_name": "Ada", "username": "ada"},
                    "chat": {"id": user_id, "type": "private", "first_name": "Ada"}},
    }


def callback(user_id: int, data: str) -> dict:
    return {
        "update_id": next(_update_ids),
        "callback_query": {"id": f"cb-{user_id}", "data": data, "chat_instance": "1",
                           "from": {"id": user_id, "is_bot": False, "first_name": "Ada"},
                           "message": {"message_id": 2, "date": 1700000000, "text": "buttons",
                                       "chat": {"id": user_id, "type": "private"}}},
    }


def sent_to(chat_id: int, contains: str = "") -> "callable[[ApiCall], bool]":
    def match(call: ApiCall) -> bool:
        return (call.provider == "telegram" and call.path.endswith("/sendMessage")
                and call.json.get("chat_id") == str(chat_id) and contains in call.json.get("text", ""))
    return match


def test_greeting_on_telegram_gets_a_reply_at_the_bot_api(stack: Stack, api: Recorder) -> None:
    status, _ = webhooks.telegram(stack, update(7001, "hello"))
    assert status == 200
    call = api.wait_for(sent_to(7001))
    assert call.json["text"].strip()
    assert "reply_markup" not in call.json


def test_buttons_become_an_inline_keyboard_and_a_tap_answers(stack: Stack, api: Recorder) -> None:
    webhooks.telegram(stack, update(7002, "/privacy_forget_me"))
    prompt = api.wait_for(sent_to(7002, FORGET_PROMPT))
    keyboard = prompt.json["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["Yes, erase it", "No, keep it"]
    assert keyboard[1][0]["callback_data"] == "/deny"
    status, _ = webhooks.telegram(stack, callback(7002, keyboard[1][0]["callback_data"]))
    assert status == 200
    api.wait_for(sent_to(7002, "haven't erased"))
    api.wait_for(lambda c: c.path.endswith("/answerCallbackQuery") and c.json["callback_query_id"] == "cb-7002")


def test_staff_reply_pushed_by_rasa_reaches_telegram(stack: Stack, api: Recorder) -> None:
    webhooks.telegram(stack, update(7003, "hello"))
    api.wait_for(sent_to(7003))
    status, body = webhooks.push_staff_reply(stack, "7003", "Sam: your book is on its way",
                                             {"name": "Sam", "avatar": None})
    assert status == 200, body
    api.wait_for(sent_to(7003, "Sam: your book is on its way"))


@pytest.mark.parametrize("secret, expected", [(None, 401), ("wrong-secret", 403)])
def test_missing_or_wrong_secret_token_is_refused_and_not_processed(
    stack: Stack, api: Recorder, secret: str | None, expected: int
) -> None:
    status, _ = webhooks.telegram(stack, update(7004, "hello"), secret=secret)
    assert status == expected
    with pytest.raises(AssertionError):
        api.wait_for(sent_to(7004), timeout=2)


def test_replayed_update_is_refused(stack: Stack, api: Recorder) -> None:
    first = update(7005, "hello")
    assert webhooks.telegram(stack, first)[0] == 200
    api.wait_for(sent_to(7005))
    before = len([c for c in api.calls("telegram") if sent_to(7005)(c)])
    assert webhooks.telegram(stack, first)[0] == 409
    assert len([c for c in api.calls("telegram") if sent_to(7005)(c)]) == before


BAD_BODIES = {
    "empty": b"",
    "malformed json": b'{"update_id": 1, "message": ',
    "non-utf8": b'{"update_id": 5, "message": {"text": "caf\xe9"}}',
    "html": b"<html><body>hi</body></html>",
    "array": b"[1, 2]",
    "update_id not a number": json.dumps({"update_id": "x"}).encode(),
    "huge": json.dumps({"update_id": 9, "message": {"text": "a" * 100_000}}).encode(),
    "text too long": json.dumps(update(7006, "b" * 6000)).encode(),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_telegram_body_gets_a_4xx(stack: Stack, case: str) -> None:
    status, _ = webhooks.telegram(stack, BAD_BODIES[case])
    assert 400 <= status < 500, case
