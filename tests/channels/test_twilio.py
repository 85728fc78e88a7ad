"""Twilio SMS and WhatsApp end to end: signed form in → Messages.json form post (basic auth) out."""

from __future__ import annotations

import itertools
import time
from urllib.parse import urlencode

import pytest

from tests.channels import webhooks
from tests.fakes.base import ApiCall, Recorder
from tests.fakes.providers import TWILIO_NUMBER, TWILIO_WHATSAPP_NUMBER
from tests.fakes.twilio import ACCOUNT_SID
from tests.support.stack import Stack

_sids = itertools.count(1)
CHANNELS = {"twilio": ("", TWILIO_NUMBER), "whatsapp": ("whatsapp:", TWILIO_WHATSAPP_NUMBER)}


def sms(channel: str, phone: str, body: str) -> dict[str, str]:
    prefix, number = CHANNELS[channel]
    return {"MessageSid": f"SM{next(_sids):032d}", "AccountSid": ACCOUNT_SID, "From": prefix + phone,
            "To": prefix + number, "Body": body, "NumMedia": "0"}


def to_phone(channel: str, phone: str, contains: str = "") -> "callable[[ApiCall], bool]":
    prefix, number = CHANNELS[channel]
    return lambda c: (c.provider == "twilio" and c.form.get("To") == prefix + phone
                      and c.form.get("From") == prefix + number and contains in c.form.get("Body", ""))


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_text_message_gets_a_reply_through_the_messages_api(stack: Stack, api: Recorder, channel: str) -> None:
    phone = "+447700900101" if channel == "twilio" else "+447700900201"
    status, body = webhooks.twilio(stack, channel, sms(channel, phone, "hello"))
    assert status == 200 and b"<Response>" in body
    call = api.wait_for(to_phone(channel, phone))
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_buttons_are_numbered_and_a_digit_picks_one(stack: Stack, api: Recorder, channel: str) -> None:
    phone = "+447700900102" if channel == "twilio" else "+447700900202"
    webhooks.twilio(stack, channel, sms(channel, phone, "/privacy_forget_me"))
    prompt = api.wait_for(to_phone(channel, phone, "Reply 1 for Yes, erase it, 2 for No, keep it."))
    assert "**" not in prompt.form["Body"]
    webhooks.twilio(stack, channel, sms(channel, phone, "2"))
    api.wait_for(to_phone(channel, phone, "haven't erased"))


def test_staff_reply_pushed_by_rasa_reaches_whatsapp(stack: Stack, api: Recorder) -> None:
    webhooks.twilio(stack, "whatsapp", sms("whatsapp", "+447700900203", "hello"))
    api.wait_for(to_phone("whatsapp", "+447700900203"))
    assert webhooks.push_staff_reply(stack, "+447700900203", "Sam: ready for collection")[0] == 200
    api.wait_for(to_phone("whatsapp", "+447700900203", "Sam: ready for collection"))


@pytest.mark.parametrize("signature", [None, "", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="])
def test_missing_or_wrong_signature_is_refused_and_not_processed(
    stack: Stack, api: Recorder, signature: str | None
) -> None:
    status, _ = webhooks.twilio(stack, "twilio", sms("twilio", "+447700900103", "hello"), signature=signature)
    assert status in (401, 403)
    with pytest.raises(AssertionError):
        api.wait_for(to_phone("twilio", "+447700900103"), timeout=2)


def test_signature_for_other_params_is_refused(stack: Stack) -> None:
    params = sms("twilio", "+447700900104", "hello")
    signature = webhooks.twilio_signature(f"{stack.rasa_url}/webhooks/twilio/webhook", {**params, "Body": "bye"})
    assert webhooks.twilio(stack, "twilio", params, signature=signature)[0] == 403


def bodies(api: Recorder, channel: str, phone: str) -> list[str]:
    return [c.form["Body"] for c in api.calls("twilio") if to_phone(channel, phone)(c)]


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_redelivered_message_is_answered_200_and_processed_once(stack: Stack, api: Recorder, channel: str) -> None:
    phone = "+447700900105" if channel == "twilio" else "+447700900205"
    params = sms(channel, phone, "hello")
    token = {"I-Twilio-Idempotency-Token": "7d3b2a1e-0000-4000-8000-" + params["MessageSid"][-12:]}
    assert webhooks.twilio(stack, channel, params, headers=token)[0] == 200
    api.wait_for(to_phone(channel, phone))
    before = bodies(api, channel, phone)
    status, answer = webhooks.twilio(stack, channel, params, headers=token)  # Twilio's retry: same token and sid
    assert status == 200 and b"<Response>" in answer
    assert webhooks.twilio(stack, channel, params)[0] == 200
    assert bodies(api, channel, phone) == before
    assert webhooks.transcript(stack, phone) == ["hello"]


def test_message_whose_first_delivery_failed_is_processed_when_redelivered(stack: Stack, api: Recorder) -> None:
    params = sms("twilio", "+447700900107", "hello")
    api.fail_next(to_phone("twilio", "+447700900107"))
    assert webhooks.twilio(stack, "twilio", params)[0] == 503
    assert webhooks.twilio(stack, "twilio", params)[0] == 200
    api.wait_for(to_phone("twilio", "+447700900107"))
    assert webhooks.transcript(stack, "+447700900107") == ["hello"]


def test_sms_from_a_whatsapp_sender_is_refused_on_whatsapp(stack: Stack) -> None:
    params = sms("twilio", "+447700900106", "hello")  # no whatsapp: prefix
    assert webhooks.twilio(stack, "whatsapp", params)[0] == 400


BAD_BODIES = {
    "empty": b"",
    "non-utf8": b"Body=caf\xe9&From=%2B1",
    "not a form": b"<html>hi</html>",
    "json": b'{"Body": "hi"}',
    "huge": b"Body=" + b"a" * 100_000,
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_twilio_body_gets_a_4xx(stack: Stack, case: str) -> None:
    status, _ = webhooks.post(stack, "/webhooks/twilio/webhook", BAD_BODIES[case],
                              {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert 400 <= status < 500, case


def _form(**overrides: str) -> bytes:
    params = {**sms("twilio", "+447700900190", "hello"), **overrides}
    return urlencode(params).encode()


HOSTILE_SIGNED = {
    "invalid UTF-8 in Body": _form().replace(b"Body=hello", b"Body=caf%E9"),
    "lone surrogate in Body (CESU-8)": _form().replace(b"Body=hello", b"Body=hi%ED%A0%80"),
    "invalid UTF-8 in From": _form().replace(b"From=%2B447700900190", b"From=%2B44%FF"),
    "raw non-UTF-8 byte": _form().replace(b"Body=hello", b"Body=caf\xe9"),
    "control character in From": _form(From="+44770\x00900190"),
    "control character in MessageSid": _form(MessageSid="SM\x1b[31m"),
    "newline in MessageSid": _form(MessageSid="SM1\nSM2"),
    "MessageSid missing": urlencode({"From": "+447700900190", "Body": "hello"}).encode(),
    "From empty": _form(From=""),
    "huge Body": _form(Body="a" * 6_000),
    "huge From": _form(From="+" + "1" * 300),
    "not a form": b"<html>hi</html>",
    "json body": b'{"Body": "hi", "From": "+447700900190"}',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SIGNED))
def test_hostile_form_with_a_valid_signature_gets_a_4xx_within_a_second(stack: Stack, api: Recorder, case: str) -> None:
    sent_before = len(api.calls("twilio"))
    started = time.monotonic()
    status, answer = webhooks.twilio_raw(stack, "twilio", HOSTILE_SIGNED[case])
    assert 400 <= status < 500, (case, answer)
    assert time.monotonic() - started < 1
    assert len(api.calls("twilio")) == sent_before


@pytest.mark.parametrize("case", ["invalid UTF-8 in Body", "not a form"])
def test_hostile_form_without_a_valid_signature_is_refused_as_unauthorised(stack: Stack, case: str) -> None:
    body = HOSTILE_SIGNED[case]
    assert webhooks.twilio_raw(stack, "twilio", body, signed=False)[0] == 401
    status, _ = webhooks.post(stack, "/webhooks/twilio/webhook", body, {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    assert status == 403
