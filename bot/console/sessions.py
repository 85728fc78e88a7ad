"""Server-side console sessions.

A session is a random cookie token whose SHA-256 is stored with the staff id, a CSRF token bound to
the session, and an expiry.  (Failed logins are counted in :mod:`bot.console.throttle`.)
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from bot.staff import MAX_TOKEN, StaffMember, member_from_row, token_digest
from bot.store.engine import Database
from bot.store.models import console_sessions, staff_accounts
from bot.store.validation import utcnow


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
            await session.execute(console_sessions.delete().where(console_sessions.c.expires_at < now))
            await session.execute(
                console_sessions.insert().values(
                    token_hash=token_digest(token), staff_id=staff.id, csrf_token=csrf, created_at=now, expires_at=expires
                )
            )
        return ConsoleSession(token, csrf, staff, expires)

    async def find(self, token: str) -> ConsoleSession | None:
        """The live session of an enabled account for this cookie value, or None (every request: one hop)."""
        if not token or len(token) > MAX_TOKEN:
            return None
        statement = (
            select(console_sessions.c.csrf_token, console_sessions.c.expires_at, staff_accounts)
            .join(staff_accounts, staff_accounts.c.id == console_sessions.c.staff_id)
            .where(console_sessions.c.token_hash == token_digest(token))
        )
        row = await self._db.run(lambda connection: connection.execute(statement).first(), write=False)
        if row is None or not row.enabled or row.expires_at <= utcnow():
            return None
        return ConsoleSession(token, row.csrf_token, member_from_row(row), row.expires_at)

    async def end(self, token: str) -> None:
        async with self._db.write() as session:
            await session.execute(delete(console_sessions).where(console_sessions.c.token_hash == token_digest(token)))
