"""Posting to the stack's channel webhooks the way each provider does (signatures made here)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from tests.fakes.providers import MESSENGER_APP_SECRET, SLACK_SIGNING_SECRET, TELEGRAM_SECRET_TOKEN
from tests.fakes.twilio import AUTH_TOKEN
from tests.support.stack import Stack


def post(stack: Stack, path: str, body: bytes, headers: dict[str, str] | None = None,
         timeout: float = 60) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{stack.rasa_url}{path}", data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - loopback
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def telegram(stack: Stack, update: dict[str, Any] | bytes, secret: str | None = TELEGRAM_SECRET_TOKEN) -> tuple[int, bytes]:
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return post(stack, "/webhooks/telegram/webhook", body, headers)


def slack_headers(body: bytes, timestamp: int | None = None, secret: str = SLACK_SIGNING_SECRET,
                  content_type: str = "application/json") -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def slack(stack: Stack, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    return post(stack, "/webhooks/slack/webhook", body, headers)


def twilio_signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """Twilio's algorithm, from its security docs, via the official helper library."""
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url, params)


def twilio(stack: Stack, channel: str, params: dict[str, str], signature: str | None = "auto") -> tuple[int, bytes]:
    from urllib.parse import urlencode

    path = f"/webhooks/{channel}/webhook"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "auto":
        signature = twilio_signature(f"{stack.rasa_url}{path}", params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return post(stack, path, urlencode(params).encode(), headers)


def messenger(stack: Stack, body: dict[str, Any] | bytes, secret: str | None = MESSENGER_APP_SECRET) -> tuple[int, bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return post(stack, "/webhooks/messenger/webhook", raw, headers)


def push_staff_reply(stack: Stack, sender: str, text: str, staff: dict[str, Any] | None = None) -> tuple[int, bytes]:
    """What the console does for a staff reply: a bot event into the customer's latest channel."""
    event: dict[str, Any] = {"event": "bot", "text": text}
    if staff is not None:
        event["data"] = {"custom": {"rapport_staff": staff}}
    return post(
        stack,
        f"/conversations/{sender}/tracker/events?output_channel=latest&execute_side_effects=true&token={stack.token}",
        json.dumps([event]).encode(), {"Content-Type": "application/json"},
    )
