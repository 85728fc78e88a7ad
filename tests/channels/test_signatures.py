"""Provider signature checks against the providers' own algorithms (their SDKs where installed)."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from bot.channels import signatures
from bot.channels.signatures import SignatureError

BODY = b'{"type":"event_callback","event_id":"Ev1"}'


def test_slack_signature_matches_slack_sdk_and_verifies() -> None:
    now = int(time.time())
    expected = SignatureVerifier("s3cret").generate_signature(timestamp=str(now), body=BODY)
    assert signatures.slack_signature("s3cret", str(now), BODY) == expected
    signatures.verify_slack(BODY, str(now), expected, "s3cret", now=now)


@pytest.mark.parametrize("timestamp, signature", [(None, "v0=x"), ("1", None), ("", ""), ("abc", "v0=x")])
def test_slack_missing_or_malformed_headers_are_refused(timestamp: str | None, signature: str | None) -> None:
    with pytest.raises(SignatureError) as refused:
        signatures.verify_slack(BODY, timestamp, signature, "s3cret")
    assert refused.value.status == 401


def test_slack_wrong_signature_is_refused() -> None:
    now = int(time.time())
    with pytest.raises(SignatureError):
        signatures.verify_slack(BODY, str(now), signatures.slack_signature("other", str(now), BODY), "s3cret", now=now)


def test_slack_tampered_body_is_refused() -> None:
    now = int(time.time())
    good = signatures.slack_signature("s3cret", str(now), BODY)
    with pytest.raises(SignatureError):
        signatures.verify_slack(BODY + b" ", str(now), good, "s3cret", now=now)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_slack_expired_timestamp_is_refused_even_with_a_good_signature(age: int) -> None:
    now = int(time.time())
    sent = str(now - age)
    with pytest.raises(SignatureError) as refused:
        signatures.verify_slack(BODY, sent, signatures.slack_signature("s3cret", sent, BODY), "s3cret", now=now)
    assert refused.value.status == 403


def test_twilio_signature_matches_the_twilio_library() -> None:
    url = "https://bot.example.com/webhooks/twilio/webhook?x=1"
    params = {"From": "+447700900123", "Body": "Hi there", "MessageSid": "SM1", "To": "+15005550006"}
    expected = RequestValidator("tok").compute_signature(url, params)
    assert signatures.twilio_signature(url, params.items(), "tok") == expected
    signatures.verify_twilio(url, params.items(), expected, "tok")


@pytest.mark.parametrize("given", [None, "", "d3Jvbmc=", "not base64 at all"])
def test_twilio_missing_or_wrong_signature_is_refused(given: str | None) -> None:
    with pytest.raises(SignatureError):
        signatures.verify_twilio("https://x/y", [("Body", "hi")], given, "tok")


def test_twilio_signature_covers_the_url() -> None:
    good = signatures.twilio_signature("https://a/webhook", [("Body", "hi")], "tok")
    with pytest.raises(SignatureError):
        signatures.verify_twilio("https://b/webhook", [("Body", "hi")], good, "tok")


def test_hub_signature_good_wrong_and_missing() -> None:
    good = "sha256=" + hmac.new(b"app", BODY, hashlib.sha256).hexdigest()
    assert signatures.hub_signature(BODY, "app") == good
    signatures.verify_hub_signature(BODY, good, "app")
    for bad in (None, "", "sha256=00", good.replace("sha256=", "sha1=")):
        with pytest.raises(SignatureError):
            signatures.verify_hub_signature(BODY, bad, "app")


def test_telegram_secret_token() -> None:
    signatures.verify_telegram_secret("tok", "tok")
    with pytest.raises(SignatureError) as missing:
        signatures.verify_telegram_secret(None, "tok")
    assert missing.value.status == 401
    with pytest.raises(SignatureError) as wrong:
        signatures.verify_telegram_secret("tok2", "tok")
    assert wrong.value.status == 403


def test_twilio_signature_of_a_form_that_is_not_utf8_is_checked_not_crashed_on() -> None:
    from bot.channels.provider import signed_form_pairs

    body = b"Body=caf%E9&From=%2B447700900123&MessageSid=SM1"
    pairs = signed_form_pairs(body)
    good = signatures.twilio_signature("https://x/webhook", pairs, "tok")
    signatures.verify_twilio("https://x/webhook", pairs, good, "tok")
    with pytest.raises(SignatureError) as wrong:
        signatures.verify_twilio("https://x/webhook", pairs, good, "other-token")
    assert wrong.value.status == 403
