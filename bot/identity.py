"""Who is talking: channel identities and verified customer ids.

A person is addressed by any of their channel identities ``(channel, sender_id)``.  A website
that knows its logged-in customer passes ``customer_id`` and ``customer_signature`` (hex
HMAC-SHA256 of the id with the server's identity secret) in the message metadata, the way
customer-messaging products verify identities.  A missing or wrong signature is never trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Mapping

from bot.boundary import BadInput, check_unicode
from bot.tracker_events import CHANNEL_KEY  # the wire keys live with the events

logger = logging.getLogger(__name__)

SIGNED_ID_CHANNEL = "customer"
MAX_CUSTOMER_ID = 128


@dataclass(frozen=True)
class ChannelIdentity:
    channel: str
    sender_id: str


def sign_customer_id(customer_id: object, secret: str) -> str:
    """The signature a website's server puts beside the customer id (hex HMAC-SHA256).

    An id that cannot be trusted (not a string, or not valid Unicode, such as a lone surrogate)
    has no signature: the answer is ``""``, which no check accepts.
    """
    if not isinstance(customer_id, str) or not _valid_unicode(customer_id):
        return ""
    return hmac.new(_key(secret), customer_id.encode("utf-8"), hashlib.sha256).hexdigest()


def verified_customer_id(metadata: object, secret: str) -> str | None:
    """The customer id from metadata when its signature is right; otherwise None (and logged).

    Never raises: metadata comes from strangers and from events stored long ago, so any value at
    all (wrong types, invalid Unicode) means an anonymous customer, logged once without the id.
    """
    if not isinstance(metadata, Mapping) or not metadata:
        return None
    customer_id = metadata.get("customer_id")
    signature = metadata.get("customer_signature")
    if customer_id is None and signature is None:
        return None
    if (
        not isinstance(customer_id, str)
        or not isinstance(signature, str)
        or not customer_id
        or len(customer_id) > MAX_CUSTOMER_ID
    ):
        logger.warning("ignoring malformed signed customer id in metadata")
        return None
    if not _valid_unicode(customer_id):
        logger.warning("ignoring a signed customer id that is not valid text (treated as anonymous)")
        return None
    expected = sign_customer_id(customer_id, secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace")):
        logger.warning("ignoring customer id with a wrong signature (treated as anonymous)")
        return None
    return customer_id


def _valid_unicode(value: str) -> bool:
    try:
        check_unicode(value, "customer_id")
    except BadInput:
        return False
    return True


def _key(secret: str) -> bytes:
    # os.environ turns bytes that are not UTF-8 into lone surrogates; sign with such a secret anyway.
    return secret.encode("utf-8", "surrogatepass")


def pseudonym(sender_id: str, secret: str | None = None) -> str:
    """A short stable name for a conversation in logs, from which the sender id cannot be read back.

    Logs must not hold a person's ids (a phone number is a sender id on SMS): lines name the
    conversation by a keyed hash instead, the same in every process of one installation.
    """
    key = (secret if secret is not None else _log_key()).encode()
    digest = hmac.new(key, str(sender_id).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"conv-{digest[:10]}"


def _log_key() -> str:
    global _LOG_KEY
    if _LOG_KEY is None:
        from bot import settings

        _LOG_KEY = "log:" + settings.load().identity_secret
    return _LOG_KEY


_LOG_KEY: str | None = None


def channel_of(metadata: Mapping[str, Any] | None, input_channel: str | None) -> str:
    """The channel name: set by our channel classes, else Rasa's input channel."""
    if metadata and isinstance(metadata.get(CHANNEL_KEY), str):
        return metadata[CHANNEL_KEY]
    return (input_channel or "unknown").lower()
