"""Boundary checks: every value entering the store is checked here and refused with a clear message."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

from bot.boundary import BadInput, check_unicode

from .records import (
    ADVOCACY_KINDS,
    CONTENT_TYPES,
    HOW_LEARNED,
    OUTCOMES,
    TONES,
    VERIFIED_BY,
    InteractionRecord,
    InvalidInput,
    Source,
)

CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PURPOSE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}(:[a-z0-9][a-z0-9_\-]{0,31})?$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
MAX_NAME = 80
MAX_SENDER_ID = 256
MAX_SUMMARY = 4000
MAX_NOTE = 8000
MAX_TEXT = 4000
MAX_TEAM = 64
MAX_INTENT = 128
MAX_TOPIC = 64
MAX_TOPICS = 20
MAX_ITEM_ID = 200
MAX_DETAIL = 1000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def channel(value: object, what: str = "channel") -> str:
    if not isinstance(value, str) or not CHANNEL_RE.match(value):
        raise InvalidInput(f"{what} must match ^[a-z][a-z0-9_]{{0,31}}$, got {value!r:.60}")
    return value


def sender_id(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_SENDER_ID:
        raise InvalidInput(f"sender_id must be a string of 1..{MAX_SENDER_ID} characters")
    if "\x00" in value:
        raise InvalidInput("sender_id must not contain NUL bytes")
    _unicode(value, "sender_id")
    if _has_control(value):
        raise InvalidInput("sender_id must not contain control characters")
    return value


def _unicode(value: str, what: str) -> str:
    """Text that can be stored and shown: no lone surrogates (the rule of bot/boundary.py)."""
    try:
        return check_unicode(value, what)
    except BadInput as exc:
        raise InvalidInput(str(exc)) from exc


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029" for ch in value)


def name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("name must be a string")
    cleaned = value.strip()
    if not 1 <= len(cleaned) <= MAX_NAME:
        raise InvalidInput(f"name must be 1..{MAX_NAME} characters after trimming spaces")
    if _has_control(cleaned):
        raise InvalidInput("name must not contain control characters")
    return _unicode(cleaned, "name")


def tone(value: object) -> str:
    if value not in TONES:
        raise InvalidInput(f"tone must be one of {sorted(TONES)}, got {value!r:.40}")
    return str(value)


def language(value: object) -> str:
    if not isinstance(value, str) or not LANGUAGE_RE.match(value):
        raise InvalidInput(f"language must be a language tag such as 'en' or 'pt-BR', got {value!r:.40}")
    return value


def purpose(value: object) -> str:
    if not isinstance(value, str) or not PURPOSE_RE.match(value):
        raise InvalidInput(f"consent purpose must look like 'suggestions' or 'updates:telegram', got {value!r:.60}")
    return value


def one_of(value: object, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{what} must be one of {sorted(allowed)}, got {value!r:.40}")
    return str(value)


def verified_by(value: object) -> str:
    return one_of(value, VERIFIED_BY, "verified_by")


def aware(value: datetime | None, what: str = "time") -> datetime:
    """A timezone-aware UTC datetime (now when ``value`` is None); naive datetimes are refused."""
    if value is None:
        return utcnow()
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} must be a timezone-aware datetime")
    return value.astimezone(timezone.utc)


def text(value: object, what: str, limit: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL bytes")
    if len(value) > limit:
        raise InvalidInput(f"{what} is too long ({len(value)} characters, at most {limit})")
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    return _unicode(value, what)


def optional_text(value: object, what: str, limit: int) -> str | None:
    return None if value is None else text(value, what, limit)


def positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(f"{what} must be a positive integer, got {value!r:.40}")
    return value


def satisfaction(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput(f"satisfaction must be an integer 1..5, got {value!r:.40}")
    return value


def source(value: object) -> Source:
    if not isinstance(value, Source):
        raise InvalidInput("source must be a bot.store.Source")
    return Source(
        channel=channel(value.channel, "source.channel"),
        how=one_of(value.how, HOW_LEARNED, "source.how"),
        purpose=purpose(value.purpose),
        at=aware(value.at, "source.at"),
    )


def topic(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("topics must be strings")
    cleaned = " ".join(value.strip().lower().split())
    if not 1 <= len(cleaned) <= MAX_TOPIC or _has_control(cleaned):
        raise InvalidInput(f"topic must be 1..{MAX_TOPIC} printable characters, got {value!r:.40}")
    return cleaned


def interaction(record: object) -> InteractionRecord:
    """The record with checked and normalised fields (topics lower-cased and de-duplicated)."""
    if not isinstance(record, InteractionRecord):
        raise InvalidInput("record must be a bot.store.InteractionRecord")
    if isinstance(record.topics, str) or len(record.topics) > MAX_TOPICS:
        raise InvalidInput(f"topics must be a sequence of at most {MAX_TOPICS} strings")
    topics = tuple(dict.fromkeys(topic(t) for t in record.topics))
    if (record.content_item is None) != (record.content_type is None):
        raise InvalidInput("content_item and content_type go together")
    return InteractionRecord(
        channel=channel(record.channel),
        intent=optional_text(record.intent, "intent", MAX_INTENT),
        topics=topics,
        content_item=optional_text(record.content_item, "content_item", MAX_ITEM_ID),
        content_type=None if record.content_type is None else one_of(record.content_type, CONTENT_TYPES, "content_type"),
        outcome=one_of(record.outcome, OUTCOMES, "outcome"),
        satisfaction=None if record.satisfaction is None else satisfaction(record.satisfaction),
        text=None if record.text is None else text(record.text, "text", MAX_TEXT, allow_empty=True),
        at=aware(record.at, "record.at"),
    )


def advocacy_kind(value: object) -> str:
    return one_of(value, ADVOCACY_KINDS, "advocacy kind")
