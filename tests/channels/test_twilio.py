"""Twilio SMS and WhatsApp end to end: signed form in → Messages.json form post (basic auth) out."""

from __future__ import annotations

import itertools

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


def test_replayed_message_is_refused(stack: Stack, api: Recorder) -> None:
    params = sms("twilio", "+447700900105", "hello")
    assert webhooks.twilio(stack, "twilio", params)[0] == 200
    api.wait_for(to_phone("twilio", "+447700900105"))
    count = len([c for c in api.calls() if to_phone("twilio", "+447700900105")(c)])
    assert webhooks.twilio(stack, "twilio", params)[0] == 409
    assert len([c for c in api.calls() if to_phone("twilio", "+447700900105")(c)]) == count


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
