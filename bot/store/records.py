"""The records the relationship store hands out and takes in, and the errors it raises.

These dataclasses cross module boundaries (actions, console, CLI), so they are plain, frozen and
free of SQLAlchemy objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

TONES = frozenset({"brief", "friendly"})
DEFAULT_TONE = "friendly"
DEFAULT_LANGUAGE = "en"
#: A new person is remembered until they say otherwise ("forget me" / consent withdrawn).
DEFAULT_REMEMBERING = True
HOW_LEARNED = frozenset({"said", "observed", "staff"})
EXPLICIT_HOW = frozenset({"said", "staff"})
VERIFIED_BY = frozenset({"channel", "link_code", "signed_id", "staff"})
OUTCOMES = frozenset({"answered", "resolved", "handed_off", "fallback"})
CONTENT_TYPES = frozenset({"article", "video", "customer_story", "faq"})
ADVOCACY_KINDS = frozenset({"shared_link", "recommended", "referred"})
CONSENT_STATES = frozenset({"granted", "withdrawn", "conflict"})
TICKET_STATUSES = frozenset({"waiting", "claimed", "closed"})
OPEN_TICKET_STATUSES = ("waiting", "claimed")
PREFERENCE_FACTS = ("name", "tone", "language", "preferred_channel")


class StoreError(Exception):
    """Base class of every error the relationship store raises on purpose."""


class PersonNotFound(StoreError):
    """No (live) person has this id or identity."""


class TicketNotFound(StoreError):
    """No handoff ticket has this id."""


class TicketConflict(StoreError):
    """The ticket changed under us (already claimed or closed)."""


class MergeError(StoreError):
    """A merge cannot be done or undone (unknown, already undone, persons changed since)."""


class InvalidInput(StoreError, ValueError):
    """A caller passed a value the store refuses; the message says which and why."""


class LinkCodeError(StoreError):
    """A link code could not be redeemed; ``reason`` is "unknown", "expired", "used" or "locked"."""

    REASONS = frozenset({"unknown", "expired", "used", "locked"})

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown link code error reason {reason!r}")
        self.reason = reason
        super().__init__(message or f"link code {reason}")


@dataclass(frozen=True)
class Source:
    """Where a fact came from: the channel, how we learned it and the consent purpose it rests on."""

    channel: str
    how: str = "said"
    purpose: str = "remember_me"
    at: datetime | None = None


@dataclass(frozen=True)
class Identity:
    channel: str
    sender_id: str
    verified_by: str
    verified_at: datetime | None


@dataclass(frozen=True)
class Person:
    id: int
    name: str | None
    tone: str
    language: str
    preferred_channel: str | None
    remembering: bool
    created_at: datetime
    last_seen_at: datetime
    identities: tuple[Identity, ...]
    is_new: bool = False


@dataclass(frozen=True)
class InteractionRecord:
    """One turn or event to remember; ``text`` is redacted before storage and usually omitted."""

    channel: str
    intent: str | None = None
    topics: tuple[str, ...] = ()
    content_item: str | None = None
    content_type: str | None = None
    outcome: str = "answered"
    satisfaction: int | None = None
    text: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Interaction:
    """A stored interaction, as read back."""

    id: int
    channel: str
    at: datetime
    intent: str | None
    topics: tuple[str, ...]
    content_item: str | None
    content_type: str | None
    outcome: str
    satisfaction: int | None
    text: str | None


@dataclass(frozen=True)
class Interest:
    topic: str
    strength: float
    last_mentioned_at: datetime
    source: Source


@dataclass(frozen=True)
class Ticket:
    id: int
    person_id: int
    channel: str
    sender_id: str
    status: str
    team: str
    summary: str
    assigned_staff_id: int | None
    created_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    satisfaction: int | None


@dataclass(frozen=True)
class Note:
    id: int
    person_id: int
    ticket_id: int | None
    author_id: int
    author_name: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class MergeRecord:
    """What a merge did; ``id`` is what :meth:`RelationshipStore.undo_merge` takes."""

    id: int
    into_id: int
    from_id: int
    by: str
    at: datetime
    moved: dict[str, int] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure deleted; ``sender_ids`` lets the caller erase Rasa tracker events too."""

    person_id: int
    deleted: dict[str, int]
    sender_ids: list[tuple[str, str]]
    tracker_events_deleted: int | None = None
