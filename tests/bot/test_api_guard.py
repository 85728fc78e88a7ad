"""Rasa's HTTP API behind the boundary check: what is refused before Rasa's handler would answer 500."""

from __future__ import annotations

import pytest

from bot.boundary import BadInput
from bot.rasa.api_guard import check_request

DEEP = ("[" * 1000 + "]" * 1000).encode()


@pytest.mark.parametrize("method, path, body", [
    ("POST", b"/model/parse", b'{"text": "\\ud800"}'),
    ("POST", b"/model/parse", b'{"text": 5}'),
    ("POST", b"/model/parse", b'{"name": "x"}'),
    ("POST", b"/model/parse", DEEP),
    ("POST", b"/model/parse", b"NaN"),
    ("POST", b"/conversations/fz/messages", b'{"sender": "user", "text": "hi \\ud800"}'),
    ("POST", b"/conversations/fz/messages", b'[{"event": "bot"}]'),
    ("POST", b"/conversations/fz/trigger_intent", b'[{"event": "slot"}]'),
    ("POST", b"/conversations/fz/execute", b'{"name": "\\ud800"}'),
    ("POST", b"/conversations/fz/execute", b"NaN"),
    ("POST", b"/conversations/fz/tracker/events", DEEP),
    ("POST", b"/conversations/fz/tracker/events", b"[1, 2]"),
    ("PUT", b"/conversations/fz/tracker/events", b'[{"event": "bot", "text": "\\udfff"}]'),
    ("GET", b"/conversations/%ED%A0%80/tracker", None),
    ("GET", b"/conversations/a%00b/tracker", None),
    ("POST", b"/model/train", b"\xff\xfe"),
])
def test_requests_rasa_answered_with_500_are_refused_with_a_4xx(method: str, path: bytes, body: bytes | None) -> None:
    with pytest.raises(BadInput) as refused:
        check_request(method, path, body)
    assert 400 <= refused.value.status < 500


@pytest.mark.parametrize("method, path, body", [
    ("POST", b"/model/parse", b'{"text": "how much is delivery?"}'),
    ("POST", b"/conversations/c-1/messages", b'{"sender": "user", "text": "hi"}'),
    ("POST", b"/conversations/c-1/tracker/events?output_channel=latest", b'[{"event": "bot", "text": "Ann: hello"}]'),
    ("POST", b"/conversations/c-1/tracker/events", b'{"event": "resume"}'),
    ("POST", b"/conversations/c-1/trigger_intent", b'{"name": "greet"}'),
    ("GET", b"/conversations/12345/tracker", None),
    ("POST", b"/webhooks/rest/webhook", b"anything: the channel checks it"),
    ("POST", b"/model/train", b"version: '3.1'\nnlu: []\n"),
])
def test_what_the_console_and_clients_send_passes(method: str, path: bytes, body: bytes | None) -> None:
    check_request(method, path.split(b"?")[0], body)
