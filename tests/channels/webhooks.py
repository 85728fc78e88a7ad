"""Posting to the stack's channel webhooks the way each provider does (signatures made here)."""

from __future__ import annotations

import hashlib
import hmac
import json
import base64
import time
import urllib.error
import urllib.parse
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


def slack_retry_headers(body: bytes, retry: int = 1, reason: str = "http_timeout", **signing: Any) -> dict[str, str]:
    """What Slack sends when it redelivers an event: a fresh signature plus its retry headers."""
    return {**slack_headers(body, **signing), "X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": reason}


def slack(stack: Stack, body: bytes, headers: dict[str, str], timeout: float = 60) -> tuple[int, bytes]:
    return post(stack, "/webhooks/slack/webhook", body, headers, timeout=timeout)


def twilio_signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """Twilio's algorithm, from its security docs, via the official helper library."""
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url, params)


def twilio(stack: Stack, channel: str, params: dict[str, str], signature: str | None = "auto",
           headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    from urllib.parse import urlencode

    path = f"/webhooks/{channel}/webhook"
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if signature == "auto":
        signature = twilio_signature(f"{stack.rasa_url}{path}", params)
    if signature is not None:
        sent["X-Twilio-Signature"] = signature
    return post(stack, path, urlencode(params).encode(), sent)


def twilio_raw_signature(url: str, body: bytes, token: str = AUTH_TOKEN) -> str:
    """Twilio's algorithm over a form whose values need not be valid UTF-8 (hostile bodies).

    The bytes of each percent-decoded value are signed as they are, which is what a sender that
    signs bytes would do; for valid UTF-8 it equals :func:`twilio_signature`.
    """
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True,
                                   errors="surrogateescape")
    data = url + "".join(k + v for k, v in sorted(pairs))
    digest = hmac.new(token.encode(), data.encode("utf-8", "surrogateescape"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_raw(stack: Stack, channel: str, body: bytes, content_type: str = "application/x-www-form-urlencoded",
               signed: bool = True) -> tuple[int, bytes]:
    path = f"/webhooks/{channel}/webhook"
    headers = {"Content-Type": content_type}
    if signed:
        headers["X-Twilio-Signature"] = twilio_raw_signature(f"{stack.rasa_url}{path}", body)
    return post(stack, path, body, headers)


def messenger(stack: Stack, body: dict[str, Any] | bytes, secret: str | None = MESSENGER_APP_SECRET) -> tuple[int, bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return post(stack, "/webhooks/messenger/webhook", raw, headers)


def transcript(stack: Stack, sender: str) -> list[str]:
    """The texts of the customer's messages in the conversation Rasa keeps (its tracker)."""
    quoted = urllib.parse.quote(sender, safe="+")  # Sanic does not decode %2B in a path
    with urllib.request.urlopen(f"{stack.rasa_url}/conversations/{quoted}/tracker?token={stack.token}",  # noqa: S310
                                timeout=30) as answer:
        events = json.loads(answer.read())["events"]
    return [e.get("text") for e in events if e.get("event") == "user"]


def rasa_log(stack: Stack) -> str:
    """Everything the Rasa process logged so far."""
    return (stack.var_dir / "logs" / "rasa.log").read_text(encoding="utf-8", errors="replace")


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
