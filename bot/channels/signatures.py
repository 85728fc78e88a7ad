"""Verification of messaging providers' webhook signatures (pure functions).

Each provider signs its webhooks differently; a request that fails here is answered with 401
(no signature) or 403 (a wrong or expired one) and never reaches the assistant.  Replays and
redeliveries of a correctly signed event are the delivery ledger's business
(:mod:`bot.channels.redelivery`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Iterable

from bot.channels.validation import BadRequest

SLACK_MAX_AGE_SECONDS = 5 * 60


class SignatureError(BadRequest):
    """A webhook's signature is missing, wrong or expired."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message, status)


def hmac_equal(expected: str, given: str) -> bool:
    """Constant-time comparison of two secrets or signatures."""
    return hmac.compare_digest(expected.encode(), given.encode())


def verify_telegram_secret(header: str | None, secret: str) -> None:
    """Telegram sends the ``secret_token`` given to setWebhook in X-Telegram-Bot-Api-Secret-Token."""
    if not header:
        raise SignatureError("missing X-Telegram-Bot-Api-Secret-Token header")
    if not hmac_equal(secret, header):
        raise SignatureError("wrong X-Telegram-Bot-Api-Secret-Token", status=403)


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(
    body: bytes, timestamp: str | None, signature: str | None, secret: str, now: float | None = None
) -> None:
    """Check X-Slack-Signature and that X-Slack-Request-Timestamp is within five minutes."""
    if not timestamp or not signature:
        raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError("X-Slack-Request-Timestamp is not a number") from exc
    now = time.time() if now is None else now
    if abs(now - sent_at) > SLACK_MAX_AGE_SECONDS:
        raise SignatureError("Slack request timestamp is outside the five-minute window", status=403)
    if not hmac_equal(slack_signature(secret, timestamp, body), signature):
        raise SignatureError("wrong X-Slack-Signature", status=403)


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by sorted key+value pairs.

    Values that were not UTF-8 arrive as surrogate escapes (``provider.signed_form_pairs``) and are
    signed as their original bytes, so a hostile body is still checked, not crashed on.
    """
    data = url + "".join(key + value for key, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8", "surrogateescape"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_twilio(url: str, params: Iterable[tuple[str, str]], signature: str | None, auth_token: str) -> None:
    if not signature:
        raise SignatureError("missing X-Twilio-Signature header")
    if not hmac_equal(twilio_signature(url, params, auth_token), signature):
        raise SignatureError("wrong X-Twilio-Signature", status=403)


def hub_signature(body: bytes, app_secret: str) -> str:
    """Meta's X-Hub-Signature-256: ``sha256=`` + hex HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hub_signature(body: bytes, header: str | None, app_secret: str) -> None:
    if not header:
        raise SignatureError("missing X-Hub-Signature-256 header")
    if not hmac_equal(hub_signature(body, app_secret), header.strip()):
        raise SignatureError("wrong X-Hub-Signature-256", status=403)
