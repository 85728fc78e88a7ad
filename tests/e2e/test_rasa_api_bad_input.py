"""Rasa's HTTP API (token-protected, used by the console) answers hostile input with a 4xx, never a 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.stack import Stack

DEEP = "[" * 1000 + "]" * 1000
CASES = [
    ("/model/parse", '{"text": "\\ud800"}'), ("/model/parse", '{"text": 5}'), ("/model/parse", DEEP),
    ("/model/parse", "NaN"), ("/conversations/api-fuzz/messages", '{"sender": "user", "text": "hi \\ud800"}'),
    ("/conversations/api-fuzz/messages", DEEP), ("/conversations/api-fuzz/trigger_intent", '[{"event": "bot"}]'),
    ("/conversations/api-fuzz/execute", '{"name": "\\ud800"}'), ("/conversations/api-fuzz/execute", "NaN"),
    ("/conversations/api-fuzz/tracker/events", DEEP),
    ("/conversations/api-fuzz/tracker/events", '[{"event": "slot", "name": "x", "value": "\\ud800"}]'),
]


def _post(stack: Stack, path: str, body: str) -> int:
    request = urllib.request.Request(f"{stack.rasa_url}{path}?token={stack.token}", data=body.encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.mark.parametrize("path, body", CASES)
def test_hostile_api_bodies_get_a_400(stack: Stack, path: str, body: str) -> None:
    assert _post(stack, path, body) == 400


def test_a_surrogate_conversation_id_gets_a_400(stack: Stack) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stack.rasa_url}/conversations/%ED%A0%80/tracker?token={stack.token}", timeout=10)  # noqa: S310
    assert refused.value.code == 400


def test_the_api_still_does_its_job(stack: Stack) -> None:
    request = urllib.request.Request(f"{stack.rasa_url}/model/parse?token={stack.token}",
                                     data=json.dumps({"text": "how much is delivery?"}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert json.loads(answer.read())["intent"]["name"]
    assert _post(stack, "/model/parse", '{"text": ""}') == 200  # blank text is parsed (no intent), not a crash
