"""Every messaging webhook against hostile bodies, correctly signed and not signed at all.

Each request must be answered within a second and never with a 5xx; a refused one must reach
no one (the fake provider APIs get no message for it); and afterwards the same Rasa process
(same pid) still answers a customer on that channel.  Bodies come from the shared strategies in
tests/support/hostile.py: invalid Unicode in every field, control characters in ids, deep
nesting, huge and wrong-typed values, wrong content types, bytes that are not UTF-8.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any, Callable
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.channels import test_messenger, test_slack, test_telegram, test_twilio, webhooks
from tests.fakes.base import FakeServers
from tests.fakes.providers import MESSENGER_APP_SECRET
from tests.support import hostile
from tests.support.stack import Stack

FIELD_EXAMPLES = 40
RAW_EXAMPLES = 20
UNSIGNED_EXAMPLES = 20
ANSWER_WITHIN_S = 1.0

_ids = itertools.count(1)


def fuzz(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Probe:
    """Sends one request and checks what every answer must satisfy."""

    def __init__(self, stack: Stack, fakes: FakeServers) -> None:
        self.stack = stack
        self.recorder = fakes.recorder
        self.pids = stack.children()
        self.statuses: list[int] = []

    def send(self, request: Callable[[], tuple[int, bytes]]) -> int:
        reached = len(self.recorder.calls())
        started = time.monotonic()
        status, answer = request()
        took = time.monotonic() - started
        assert status < 500, (status, answer[:300])
        assert took < ANSWER_WITHIN_S, f"answered {status} after {took:.2f} s"
        if status >= 400:
            assert len(self.recorder.calls()) == reached, "a refused request reached the provider's API"
        self.statuses.append(status)
        return status

    def refused_unsigned(self, request: Callable[[], tuple[int, bytes]]) -> None:
        assert self.send(request) in (401, 403)

    def still_answering(self, converse: Callable[[], None]) -> None:
        assert self.stack.children() == self.pids, "a process of the assistant was restarted"
        converse()


# --- Telegram ----------------------------------------------------------------------------------

TELEGRAM_USER = 7990
TELEGRAM_FIELDS = [
    ("update_id",), ("message",), ("message", "text"), ("message", "from"), ("message", "from", "id"),
    ("message", "from", "username"), ("message", "from", "first_name"), ("message", "chat"),
    ("message", "chat", "type"), ("message", "chat", "id"), ("message", "date"), ("edited_message",),
]
CALLBACK_FIELDS = [("callback_query", "data"), ("callback_query", "id"), ("callback_query", "from"),
                   ("callback_query", "from", "id"), ("callback_query", "message")]


def _telegram_update(path: tuple[Any, ...], value: Any) -> bytes:
    base = (test_telegram.callback(TELEGRAM_USER, "/greet") if path[0] == "callback_query"
            else test_telegram.update(TELEGRAM_USER, "hello"))
    base["update_id"] = 500_000 + next(_ids)
    return hostile.json_bytes(hostile.replace_at(base, path, value))


def _telegram_alive(stack: Stack, fakes: FakeServers) -> None:
    assert webhooks.telegram(stack, test_telegram.update(7991, "hello"))[0] == 200
    fakes.recorder.wait_for(test_telegram.sent_to(7991), timeout=10)


def test_telegram_webhook_survives_hostile_updates(stack: Stack, fakes: FakeServers) -> None:
    probe = Probe(stack, fakes)

    @fuzz(FIELD_EXAMPLES)
    @given(path=st.sampled_from(TELEGRAM_FIELDS + CALLBACK_FIELDS), value=hostile.hostile_values)
    def signed_fields(path: tuple[Any, ...], value: Any) -> None:
        probe.send(lambda: webhooks.telegram(stack, _telegram_update(path, value)))

    @fuzz(RAW_EXAMPLES)
    @given(body=hostile.raw_bodies)
    def signed_raw(body: bytes) -> None:
        probe.send(lambda: webhooks.telegram(stack, body))

    @fuzz(UNSIGNED_EXAMPLES)
    @given(body=st.one_of(hostile.raw_bodies, st.just(_telegram_update(("message", "text"), "hello"))),
           secret=st.sampled_from([None, "", "wrong", "TEST-TELEGRAM-SECRET-TOKEN"]))
    def unsigned(body: bytes, secret: str | None) -> None:
        probe.refused_unsigned(lambda: webhooks.telegram(stack, body, secret=secret))

    signed_fields()
    signed_raw()
    unsigned()
    assert any(400 <= s < 500 for s in probe.statuses) and 200 in probe.statuses
    probe.still_answering(lambda: _telegram_alive(stack, fakes))


# --- Slack -------------------------------------------------------------------------------------

SLACK_FIELDS = [
    ("type",), ("event_id",), ("event",), ("event", "type"), ("event", "user"), ("event", "text"),
    ("event", "channel_type"), ("event", "subtype"), ("event", "bot_id"), ("team_id",), ("event_time",),
]
CLICK_FIELDS = [("type",), ("user",), ("user", "id"), ("actions",), ("actions", 0), ("actions", 0, "value")]
RETRY_HEADERS = st.sampled_from([{}, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
                                 {"X-Slack-Retry-Num": "3", "X-Slack-Retry-Reason": "http_error"}])


def _slack_event(path: tuple[Any, ...], value: Any) -> bytes:
    return hostile.json_bytes(hostile.replace_at(test_slack.event_document("U09FUZZ", "hello"), path, value))


def _slack_click(path: tuple[Any, ...], value: Any) -> bytes:
    payload = {"type": "block_actions", "user": {"id": "U09FUZZ"}, "trigger_id": "1.2.3",
               "actions": [{"type": "button", "action_id": "rapport_button_1", "value": "/greet"}]}
    text = json.dumps(hostile.replace_at(payload, path, value), ensure_ascii=True)
    return urlencode({"payload": text}).encode()


def _slack_alive(stack: Stack, fakes: FakeServers) -> None:
    body = test_slack.event("U09ALIVE", "hello")
    assert webhooks.slack(stack, body, webhooks.slack_headers(body))[0] == 200
    fakes.recorder.wait_for(test_slack.to_user("U09ALIVE"), timeout=10)


def test_slack_webhook_survives_hostile_requests(stack: Stack, fakes: FakeServers) -> None:
    probe = Probe(stack, fakes)

    @fuzz(FIELD_EXAMPLES)
    @given(path=st.sampled_from(SLACK_FIELDS), value=hostile.hostile_values, retry=RETRY_HEADERS,
           content_type=st.one_of(st.just("application/json"), hostile.content_types))
    def signed_events(path: tuple[Any, ...], value: Any, retry: dict[str, str], content_type: str) -> None:
        body = _slack_event(path, value)
        headers = {**webhooks.slack_headers(body, content_type=content_type), **retry}
        probe.send(lambda: webhooks.slack(stack, body, headers))

    @fuzz(RAW_EXAMPLES)
    @given(click=st.booleans(), path=st.sampled_from(CLICK_FIELDS), value=hostile.hostile_values,
           raw=st.one_of(hostile.raw_bodies, hostile.percent_encoded_non_utf8.map(lambda v: f"payload={v}".encode())))
    def signed_clicks_and_raw(click: bool, path: tuple[Any, ...], value: Any, raw: bytes) -> None:
        body = _slack_click(path, value) if click else raw
        content_type = "application/x-www-form-urlencoded" if click or raw.startswith(b"payload=") else "application/json"
        probe.send(lambda: webhooks.slack(stack, body, webhooks.slack_headers(body, content_type=content_type)))

    @fuzz(UNSIGNED_EXAMPLES)
    @given(body=st.one_of(hostile.raw_bodies, st.just(_slack_event(("event", "text"), "hello"))),
           retry=RETRY_HEADERS, how=st.sampled_from(["missing", "wrong secret", "expired", "other body"]))
    def unsigned(body: bytes, retry: dict[str, str], how: str) -> None:
        headers = {
            "missing": {"Content-Type": "application/json"},
            "wrong secret": webhooks.slack_headers(body, secret="not-the-secret"),
            "expired": webhooks.slack_headers(body, timestamp=int(time.time()) - 600),
            "other body": webhooks.slack_headers(body + b" "),
        }[how]
        probe.refused_unsigned(lambda: webhooks.slack(stack, body, {**headers, **retry}))

    signed_events()
    signed_clicks_and_raw()
    unsigned()
    assert any(400 <= s < 500 for s in probe.statuses) and 200 in probe.statuses
    probe.still_answering(lambda: _slack_alive(stack, fakes))


# --- Twilio SMS and WhatsApp -------------------------------------------------------------------

TWILIO_FIELDS = ["From", "Body", "MessageSid", "To", "AccountSid", "NumMedia"]


def _form_value(value: Any) -> str:
    """A hostile value as a form sends it: text percent-encoded (lone surrogates as CESU-8 bytes)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _twilio_form(channel: str, field: str, value: str, drop: bool) -> bytes:
    params = test_twilio.sms(channel, "+447700900990", "hello")
    pairs = [(k, quote(v, safe="")) for k, v in params.items() if not (drop and k == field)]
    if not drop:
        pairs = [(k, value if k == field else v) for k, v in pairs]
    return "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogateescape")


def _twilio_alive(stack: Stack, fakes: FakeServers) -> None:
    for channel in ("twilio", "whatsapp"):
        assert webhooks.twilio(stack, channel, test_twilio.sms(channel, "+447700900991", "hello"))[0] == 200
        fakes.recorder.wait_for(test_twilio.to_phone(channel, "+447700900991"), timeout=10)


def test_twilio_webhooks_survive_hostile_forms(stack: Stack, fakes: FakeServers) -> None:
    probe = Probe(stack, fakes)

    @fuzz(FIELD_EXAMPLES)
    @given(channel=st.sampled_from(["twilio", "whatsapp"]), field=st.sampled_from(TWILIO_FIELDS),
           value=st.one_of(hostile.hostile_values.map(_form_value), hostile.percent_encoded_non_utf8),
           drop=st.booleans(), content_type=st.one_of(st.just("application/x-www-form-urlencoded"),
                                                      hostile.content_types))
    def signed_fields(channel: str, field: str, value: str, drop: bool, content_type: str) -> None:
        body = _twilio_form(channel, field, value, drop)
        probe.send(lambda: webhooks.twilio_raw(stack, channel, body, content_type=content_type))

    @fuzz(RAW_EXAMPLES)
    @given(channel=st.sampled_from(["twilio", "whatsapp"]),
           body=st.one_of(hostile.raw_bodies, hostile.non_utf8_bytes))
    def signed_raw(channel: str, body: bytes) -> None:
        probe.send(lambda: webhooks.twilio_raw(stack, channel, body))

    @fuzz(UNSIGNED_EXAMPLES)
    @given(channel=st.sampled_from(["twilio", "whatsapp"]),
           body=st.one_of(hostile.raw_bodies, hostile.non_utf8_bytes,
                          st.just(_twilio_form("twilio", "Body", "hello", drop=False))),
           signature=st.sampled_from([None, "", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "not base64"]))
    def unsigned(channel: str, body: bytes, signature: str | None) -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        probe.refused_unsigned(lambda: webhooks.post(stack, f"/webhooks/{channel}/webhook", body, headers))

    signed_fields()
    signed_raw()
    unsigned()
    assert any(400 <= s < 500 for s in probe.statuses) and 200 in probe.statuses
    probe.still_answering(lambda: _twilio_alive(stack, fakes))


# --- Messenger ---------------------------------------------------------------------------------

EVENT = ("entry", 0, "messaging", 0)
MESSENGER_FIELDS = [
    ("object",), ("entry",), ("entry", 0), ("entry", 0, "id"), ("entry", 0, "messaging"), EVENT,
    EVENT + ("sender",), EVENT + ("sender", "id"), EVENT + ("message",), EVENT + ("message", "text"),
    EVENT + ("message", "mid"), EVENT + ("message", "is_echo"), EVENT + ("message", "quick_reply"),
    EVENT + ("timestamp",), EVENT + ("postback",),
]


def _messenger_event(path: tuple[Any, ...], value: Any) -> bytes:
    return hostile.json_bytes(hostile.replace_at(test_messenger.page_event("PSID0990", "hello"), path, value))


def _messenger_alive(stack: Stack, fakes: FakeServers) -> None:
    assert webhooks.messenger(stack, test_messenger.page_event("PSID0991", "hello"))[0] == 200
    fakes.recorder.wait_for(test_messenger.to_psid("PSID0991"), timeout=10)


def _hub_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_messenger_webhook_survives_hostile_page_events(stack: Stack, fakes: FakeServers) -> None:
    probe = Probe(stack, fakes)

    @fuzz(FIELD_EXAMPLES)
    @given(path=st.sampled_from(MESSENGER_FIELDS), value=hostile.hostile_values)
    def signed_fields(path: tuple[Any, ...], value: Any) -> None:
        probe.send(lambda: webhooks.messenger(stack, _messenger_event(path, value)))

    @fuzz(RAW_EXAMPLES)
    @given(body=hostile.raw_bodies, content_type=hostile.content_types)
    def signed_raw(body: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type, "X-Hub-Signature-256": _hub_signature(body, MESSENGER_APP_SECRET)}
        probe.send(lambda: webhooks.post(stack, "/webhooks/messenger/webhook", body, headers))

    @fuzz(UNSIGNED_EXAMPLES)
    @given(body=st.one_of(hostile.raw_bodies, st.just(_messenger_event(EVENT + ("message", "text"), "hello"))),
           secret=st.sampled_from([None, "wrong-app-secret", ""]))
    def unsigned(body: bytes, secret: str | None) -> None:
        probe.refused_unsigned(lambda: webhooks.messenger(stack, body, secret=secret))

    signed_fields()
    signed_raw()
    unsigned()
    assert any(400 <= s < 500 for s in probe.statuses) and 200 in probe.statuses
    probe.still_answering(lambda: _messenger_alive(stack, fakes))
