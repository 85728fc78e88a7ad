"""Telegram end to end: update in (secret token checked) → Rasa → sendMessage at the fake Bot API."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest

from tests.channels import webhooks
from tests.fakes.base import ApiCall, Recorder
from tests.support.hostile import deep_json, deep_object, json_bytes
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


def answers(api: Recorder, chat_id: int) -> list[str]:
    return [c.json["text"] for c in api.calls("telegram") if sent_to(chat_id)(c)]


def test_redelivered_update_is_answered_200_and_processed_once(stack: Stack, api: Recorder) -> None:
    first = update(7005, "hello")
    assert webhooks.telegram(stack, first)[0] == 200
    api.wait_for(sent_to(7005))
    before = answers(api, 7005)
    for _ in range(2):  # Telegram redelivers an update until it gets a 2xx
        assert webhooks.telegram(stack, first)[0] == 200
    assert answers(api, 7005) == before
    assert webhooks.transcript(stack, "7005") == ["hello"]


def test_update_whose_first_delivery_failed_is_processed_when_redelivered(stack: Stack, api: Recorder) -> None:
    first = update(7007, "hello")
    api.fail_next(sent_to(7007))  # the Bot API is down when the bot answers
    assert webhooks.telegram(stack, first)[0] == 503  # not taken: Telegram will redeliver
    assert not answers(api, 7007)
    assert webhooks.telegram(stack, first)[0] == 200
    api.wait_for(sent_to(7007))
    assert webhooks.transcript(stack, "7007") == ["hello"]
    assert webhooks.telegram(stack, first)[0] == 200  # and now it is a duplicate
    assert webhooks.transcript(stack, "7007") == ["hello"]


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


def _update_with(**message_fields: Any) -> bytes:
    body = update(7090, "hello")
    body["message"].update(message_fields)
    return json_bytes(body)


def _from(**fields: Any) -> bytes:
    body = update(7090, "hello")
    body["message"]["from"].update(fields)
    return json_bytes(body)


HOSTILE_SIGNED = {
    "lone surrogate in text": _update_with(text="hi \ud83d"),
    "lone surrogate in a name": _from(first_name="A\udc00da"),
    "control character in from.id": _from(id="70\x0790"),
    "from.id an object": _from(id={"id": 7090}),
    "from.id a float": _from(id=7090.5),
    "from.id true": _from(id=True),
    "username with a newline": _from(username="ada\nroot"),
    "text a number": _update_with(text=7),
    "text a list": _update_with(text=["hello"]),
    "message a list": json_bytes({"update_id": 77001, "message": [1, 2]}),
    "chat type a number": _update_with(chat={"id": 7090, "type": 1}),
    "update_id a string": json_bytes({**json.loads(_update_with()), "update_id": "77002"}),
    "update_id negative": json_bytes({**json.loads(_update_with()), "update_id": -1}),
    "update_id with 5000 digits": b'{"update_id": ' + b"9" * 5000 + b"}",
    "huge text": _update_with(text="a" * 6_000),
    "nested 1000 deep (arrays)": b'{"update_id": 77003, "message": ' + deep_json(1000).encode() + b"}",
    "nested 1000 deep (objects)": b'{"update_id": 77004, "message": ' + deep_object(1000).encode() + b"}",
    "callback data an object": json_bytes({"update_id": 77005, "callback_query": {
        "id": "cb", "data": {"a": 1}, "from": {"id": 7090}, "message": {"chat": {"id": 7090, "type": "private"}}}}),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SIGNED))
def test_hostile_update_with_the_secret_token_gets_a_4xx_within_a_second(stack: Stack, api: Recorder, case: str) -> None:
    sent_before = len(api.calls("telegram"))
    started = time.monotonic()
    status, answer = webhooks.telegram(stack, HOSTILE_SIGNED[case])
    assert 400 <= status < 500, (case, answer)
    assert time.monotonic() - started < 1
    assert len(api.calls("telegram")) == sent_before


def test_deeply_nested_update_without_the_secret_token_is_refused_as_unauthorised(stack: Stack) -> None:
    assert webhooks.telegram(stack, deep_json(1000).encode(), secret=None)[0] == 401


@pytest.mark.parametrize("text", ["\x00", "\u200b \u200b", " "])
def test_message_with_nothing_visible_gets_the_blank_message_reply_without_a_turn(
    stack: Stack, api: Recorder, text: str
) -> None:
    from bot.boundary import BLANK_MESSAGE_REPLY

    chat = 7100 + len(text) + ord(text[0]) % 7
    status, _ = webhooks.telegram(stack, update(chat, text))
    assert status == 200
    assert api.wait_for(sent_to(chat)).json["text"] == BLANK_MESSAGE_REPLY
    assert webhooks.transcript(stack, str(chat)) == []
