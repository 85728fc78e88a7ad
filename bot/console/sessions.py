"""Server-side console sessions.

A session is a random cookie token whose SHA-256 is stored with the staff id, a CSRF token bound to
the session, and an expiry.  (Failed logins are counted in :mod:`bot.console.throttle`.)
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy import delete, select

from bot.staff import StaffMember, metadata, staff_table, token_digest, utcnow, member_from_row
from bot.store.engine import Database

_TZ = sa.DateTime(timezone=True)

sessions_table = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("expires_at", _TZ, nullable=False),
)


@dataclass(frozen=True)
class ConsoleSession:
    token: str
    csrf_token: str
    staff: StaffMember
    expires_at: datetime


def csrf_matches(expected: str, given: object) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


class SessionStore:
    """Sessions in the relationship store's database."""

    def __init__(self, database: Database, lifetime: timedelta) -> None:
        self._db = database
        self._lifetime = lifetime

    async def start(self, staff: StaffMember) -> ConsoleSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + self._lifetime
        async with self._db.write() as session:
            await session.execute(sessions_table.delete().where(sessions_table.c.expires_at < now))
            await session.execute(
                sessions_table.insert().values(
                    token_hash=token_digest(token), staff_id=staff.id, csrf_token=csrf, created_at=now, expires_at=expires
                )
            )
        return ConsoleSession(token, csrf, staff, expires)

    async def find(self, token: str) -> ConsoleSession | None:
        """The live session of an enabled account for this cookie value, or None (every request: one hop)."""
        if not token or len(token) > 200:
            return None
        statement = (
            select(sessions_table.c.csrf_token, sessions_table.c.expires_at, staff_table)
            .join(staff_table, staff_table.c.id == sessions_table.c.staff_id)
            .where(sessions_table.c.token_hash == token_digest(token))
        )
        row = await self._db.run(lambda connection: connection.execute(statement).first(), write=False)
        if row is None or not row.enabled or utc_aware(row.expires_at) <= utcnow():
            return None
        return ConsoleSession(token, row.csrf_token, member_from_row(row), utc_aware(row.expires_at))

    async def end(self, token: str) -> None:
        async with self._db.write() as session:
            await session.execute(delete(sessions_table).where(sessions_table.c.token_hash == token_digest(token)))


def utc_aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
