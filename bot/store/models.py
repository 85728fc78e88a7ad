"""The relationship store's tables as SQLAlchemy declarative models (2.0 style, no relationships).

The schema itself is owned by the Alembic migrations in ``migrations/``; a test checks that these
models and the migrations agree.  There are deliberately no ORM relationships: every query names
what it loads, so nothing lazy-loads in async code.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base = declarative_base(metadata=metadata)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the relationship store")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _fk_person(**kw: Any) -> Column:
    return Column(Integer, ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, **kw)


class PersonRow(Base):
    __tablename__ = "persons"
    id = Column(Integer, primary_key=True)
    name = Column(String(80))
    tone = Column(String(16), nullable=False)
    language = Column(String(35), nullable=False)
    preferred_channel = Column(String(32))
    remembering = Column(Boolean, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)
    # Set when this person was merged into another: stale ids held by callers still resolve.
    merged_into_id = Column(Integer, ForeignKey("persons.id", ondelete="SET NULL"), index=True)


class IdentityRow(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "sender_id"),)
    id = Column(Integer, primary_key=True)
    person_id = _fk_person(index=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(256), nullable=False)
    verified_by = Column(String(16), nullable=False)
    verified_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False)


class FactProvenanceRow(Base):
    """Where each preference on the person row came from (one row per person and fact)."""

    __tablename__ = "fact_provenance"
    __table_args__ = (UniqueConstraint("person_id", "fact"),)
    id = Column(Integer, primary_key=True)
    person_id = _fk_person()
    fact = Column(String(32), nullable=False)
    channel = Column(String(32), nullable=False)
    how = Column(String(16), nullable=False)
    purpose = Column(String(64), nullable=False)
    learned_at = Column(UTCDateTime, nullable=False)


class InteractionRow(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_person_id_at", "person_id", "at"),)
    id = Column(Integer, primary_key=True)
    person_id = _fk_person()
    channel = Column(String(32), nullable=False)
    at = Column(UTCDateTime, nullable=False, index=True)
    intent = Column(String(128))
    topics = Column(JSON, nullable=False)
    content_item = Column(String(200))
    content_type = Column(String(16))
    outcome = Column(String(16), nullable=False)
    satisfaction = Column(SmallInteger)
    text = Column(Text)


class InterestRow(Base):
    """``weight`` is the sum of 2**((t_i - EPOCH)/HALF_LIFE) over mentions; see ``interests.py``."""

    __tablename__ = "interests"
    __table_args__ = (UniqueConstraint("person_id", "topic"),)
    id = Column(Integer, primary_key=True)
    person_id = _fk_person()
    topic = Column(String(64), nullable=False)
    weight = Column(Float, nullable=False)
    mentions = Column(Integer, nullable=False)
    last_mentioned_at = Column(UTCDateTime, nullable=False)
    channel = Column(String(32), nullable=False)
    how = Column(String(16), nullable=False)
    purpose = Column(String(64), nullable=False)


class ContentEngagementRow(Base):
    __tablename__ = "content_engagement"
    __table_args__ = (UniqueConstraint("person_id", "item_id"),)
    id = Column(Integer, primary_key=True)
    person_id = _fk_person()
    item_id = Column(String(200), nullable=False)
    item_type = Column(String(16), nullable=False)
    count = Column(Integer, nullable=False)
    first_at = Column(UTCDateTime, nullable=False)
    last_at = Column(UTCDateTime, nullable=False)
    channel = Column(String(32), nullable=False)


class AdvocacyRow(Base):
    __tablename__ = "advocacy"
    id = Column(Integer, primary_key=True)
    person_id = _fk_person(index=True)
    kind = Column(String(16), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    channel = Column(String(32), nullable=False)
    how = Column(String(16), nullable=False)
    purpose = Column(String(64), nullable=False)
    detail = Column(Text)


class ConsentEventRow(Base):
    """Consent history: rows are only ever added; the latest row per purpose is the current state."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_person_id_purpose", "person_id", "purpose"),)
    id = Column(Integer, primary_key=True)
    person_id = _fk_person()
    purpose = Column(String(64), nullable=False)
    state = Column(String(16), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    channel = Column(String(32))
    how = Column(String(16), nullable=False)
    merge_id = Column(Integer)


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index(
            "uq_tickets_open_channel_sender_id",
            "channel",
            "sender_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'claimed')"),
            postgresql_where=text("status IN ('waiting', 'claimed')"),
        ),
        Index("ix_tickets_status_created_at", "status", "created_at"),
    )
    id = Column(Integer, primary_key=True)
    person_id = _fk_person(index=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(256), nullable=False)
    status = Column(String(16), nullable=False)
    team = Column(String(64), nullable=False)
    summary = Column(Text, nullable=False)
    assigned_staff_id = Column(Integer)
    created_at = Column(UTCDateTime, nullable=False)
    claimed_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    satisfaction = Column(SmallInteger)


class StaffNoteRow(Base):
    __tablename__ = "staff_notes"
    id = Column(Integer, primary_key=True)
    person_id = _fk_person(index=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    author_id = Column(Integer, nullable=False)
    author_name = Column(String(80), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)


class LinkCodeRow(Base):
    """Only the HMAC of the six digits is kept."""

    __tablename__ = "link_codes"
    id = Column(Integer, primary_key=True)
    person_id = _fk_person(index=True)
    code_hmac = Column(String(64), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime)
    failed_attempts = Column(Integer, nullable=False)
    invalidated_at = Column(UTCDateTime)


class LinkCodeFailureRow(Base):
    """One wrong code typed by an identity; recent rows limit that identity's tries."""

    __tablename__ = "link_code_failures"
    __table_args__ = (Index("ix_link_code_failures_channel_sender_id_at", "channel", "sender_id", "at"),)
    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(256), nullable=False)
    at = Column(UTCDateTime, nullable=False)


class MergeLogRow(Base):
    """Enough about a merge to undo it; ``data`` holds the snapshots and moved row ids."""

    __tablename__ = "merge_log"
    id = Column(Integer, primary_key=True)
    into_id = Column(Integer, nullable=False, index=True)
    from_id = Column(Integer, nullable=False, index=True)
    by = Column(String(64), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    undone_at = Column(UTCDateTime)
    data = Column(JSON, nullable=False)


# --- staff console: accounts, sessions, API tokens, failed logins ---------------------------------


def _fk_staff() -> Column:
    return Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True)


class StaffRow(Base):
    """A console account; the password only as an argon2id hash."""

    __tablename__ = "staff"
    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    name = Column(String(80), nullable=False)
    role = Column(String(16), nullable=False)
    password_hash = Column(String(255), nullable=False)
    avatar_url = Column(String(500))
    enabled = Column(Boolean, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)


class ConsoleSessionRow(Base):
    """A logged-in browser: only the SHA-256 of its cookie is kept, with the session's CSRF token."""

    __tablename__ = "console_sessions"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    staff_id = _fk_staff()
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)


class ApiTokenRow(Base):
    """A token for scripts: only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    staff_id = _fk_staff()
    created_at = Column(UTCDateTime, nullable=False)
    last_used_at = Column(UTCDateTime)
    revoked_at = Column(UTCDateTime)


class LoginAttemptRow(Base):
    """One login (failed ones are counted for throttling; see ``bot.console.throttle``)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )
    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False)
    ip = Column(String(64), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    succeeded = Column(Boolean, nullable=False)


# --- handoff: calls into Rasa the desk made -------------------------------------------------------


class OutboxCallRow(Base):
    """A staff reply, join or hand-back for Rasa, written before it is delivered (see ``bot.handoff.outbox``)."""

    __tablename__ = "handoff_outbox"
    __table_args__ = (
        Index("ix_handoff_outbox_delivered_at_id", "delivered_at", "id"),
        Index("ix_handoff_outbox_sender_id_id", "sender_id", "id"),
    )
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(256), nullable=False)
    kind = Column(String(16), nullable=False)
    payload = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    delivered_at = Column(UTCDateTime)
    attempts = Column(Integer, nullable=False)
    last_error = Column(Text)


persons = PersonRow.__table__
identities = IdentityRow.__table__
fact_provenance = FactProvenanceRow.__table__
interactions = InteractionRow.__table__
interests = InterestRow.__table__
content_engagement = ContentEngagementRow.__table__
advocacy = AdvocacyRow.__table__
consent_events = ConsentEventRow.__table__
tickets = TicketRow.__table__
staff_notes = StaffNoteRow.__table__
link_codes = LinkCodeRow.__table__
link_code_failures = LinkCodeFailureRow.__table__
merge_log = MergeLogRow.__table__
staff_accounts = StaffRow.__table__
console_sessions = ConsoleSessionRow.__table__
api_tokens = ApiTokenRow.__table__
login_attempts = LoginAttemptRow.__table__
handoff_outbox = OutboxCallRow.__table__


#: The turn recorder's cursor into Rasa's ``events`` table, its lease and what it had to skip
#: (``actions/recorder.py``; read for ``rapport status`` by ``bot/store/recorder_state.py``).
turn_recorder = Table(
    "turn_recorder",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", BigInteger),
    Column("holder", String(128)),
    Column("lease_until", UTCDateTime),
    Column("skipped", BigInteger, nullable=False, server_default="0"),
    Column("last_skipped_event_id", BigInteger),
)
