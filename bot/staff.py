"""Staff accounts: who may use the console, in which role, with argon2id passwords and API tokens.

Passwords are hashed with argon2id (argon2-cffi) off the event loop; API tokens are random and only
their SHA-256 is stored, so a copy of the database lets no one in.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update

from bot.store.engine import Database

ROLES = ("agent", "marketer", "admin")
DESK_ROLES = frozenset({"agent", "admin"})
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_EMAIL = 254
MAX_NAME = 80
TOKEN_PREFIX = "rpt_"
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_TZ = sa.DateTime(timezone=True)
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A real hash to verify against when the account does not exist, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))

metadata = sa.MetaData()
staff_table = sa.Table(
    "staff",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("avatar_url", sa.String(500)),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", _TZ, nullable=False),
)
api_tokens_table = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("last_used_at", _TZ),
    sa.Column("revoked_at", _TZ),
)


class StaffError(Exception):
    """Base class of staff-account errors."""


class StaffInputError(StaffError, ValueError):
    """An email, name, role or password the directory refuses; the message says why."""


class StaffNotFound(StaffError):
    """No staff account has this email or id."""


class StaffExists(StaffError):
    """An account with this email already exists."""


@dataclass(frozen=True)
class StaffMember:
    """A console user as the rest of the console sees them (never with the password hash)."""

    id: int
    email: str
    name: str
    role: str
    enabled: bool
    avatar_url: str | None
    created_at: datetime

    @property
    def first_name(self) -> str:
        """What customers see: the real first name of the person who joined."""
        return self.name.split()[0]

    @property
    def uses_desk(self) -> bool:
        return self.role in DESK_ROLES


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def token_digest(token: str) -> str:
    """The stored form of a session or API token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_email(value: object) -> str:
    if not isinstance(value, str):
        raise StaffInputError("email must be text")
    email = value.strip().lower()
    if not 3 <= len(email) <= MAX_EMAIL or not _EMAIL.match(email):
        raise StaffInputError("email must look like name@example.com")
    return email


def check_name(value: object) -> str:
    if not isinstance(value, str):
        raise StaffInputError("name must be text")
    name = " ".join(value.split())
    if not 1 <= len(name) <= MAX_NAME or any(ch in name for ch in "<>"):
        raise StaffInputError(f"name must be 1..{MAX_NAME} characters, without < or >")
    return name


def check_role(value: object) -> str:
    if value not in ROLES:
        raise StaffInputError(f"role must be one of {', '.join(ROLES)}")
    return str(value)


def check_password(value: object) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise StaffInputError(f"password must be {MIN_PASSWORD}..{MAX_PASSWORD} characters")
    return value


def member_from_row(row: Any) -> StaffMember:
    return StaffMember(
        id=row.id, email=row.email, name=row.name, role=row.role, enabled=bool(row.enabled),
        avatar_url=row.avatar_url, created_at=row.created_at,
    )  # fmt: skip


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class StaffDirectory:
    """Staff accounts and API tokens in the relationship store's database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, *, email: str, name: str, role: str, password: str, avatar_url: str | None = None) -> StaffMember:
        email, name, role = check_email(email), check_name(name), check_role(role)
        password = check_password(password)
        if avatar_url is not None and (len(avatar_url) > 500 or not avatar_url.startswith("https://")):
            raise StaffInputError("avatar_url must be an https:// URL of at most 500 characters")
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        async with self._db.write() as session:
            found = await session.execute(select(staff_table.c.id).where(staff_table.c.email == email))
            if found.first() is not None:
                raise StaffExists(f"a staff account for {email} already exists")
            result = await session.execute(
                staff_table.insert().values(
                    email=email, name=name, role=role, password_hash=password_hash, avatar_url=avatar_url,
                    enabled=True, created_at=utcnow(),
                )  # fmt: skip
            )
            staff_id = int(result.inserted_primary_key[0])
            row = (await session.execute(select(staff_table).where(staff_table.c.id == staff_id))).one()
            return member_from_row(row)

    async def get(self, staff_id: int) -> StaffMember:
        async with self._db.read() as session:
            row = (await session.execute(select(staff_table).where(staff_table.c.id == staff_id))).first()
        if row is None:
            raise StaffNotFound(f"no staff account with id {staff_id}")
        return member_from_row(row)

    async def by_email(self, email: str) -> StaffMember:
        email = check_email(email)
        async with self._db.read() as session:
            row = (await session.execute(select(staff_table).where(staff_table.c.email == email))).first()
        if row is None:
            raise StaffNotFound(f"no staff account for {email}")
        return member_from_row(row)

    async def list(self) -> list[StaffMember]:
        async with self._db.read() as session:
            rows = await session.execute(select(staff_table).order_by(staff_table.c.name, staff_table.c.id))
            return [member_from_row(row) for row in rows]

    async def set_enabled(self, email: str, enabled: bool) -> StaffMember:
        """Disabling also ends the account's sessions and revokes its API tokens (see sessions module)."""
        email = check_email(email)
        async with self._db.write() as session:
            result = await session.execute(update(staff_table).where(staff_table.c.email == email).values(enabled=enabled))
            if result.rowcount != 1:
                raise StaffNotFound(f"no staff account for {email}")
            row = (await session.execute(select(staff_table).where(staff_table.c.email == email))).one()
            if not enabled:
                await session.execute(
                    update(api_tokens_table)
                    .where(api_tokens_table.c.staff_id == row.id, api_tokens_table.c.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
                await session.execute(sa.text("DELETE FROM console_sessions WHERE staff_id = :sid"), {"sid": row.id})
            return member_from_row(row)

    async def check_login(self, email: str, password: str) -> StaffMember | None:
        """The enabled account these credentials open, or None (same work whether or not it exists)."""
        try:
            email = check_email(email)
        except StaffInputError:
            email = ""
        row = None
        if email:
            async with self._db.read() as session:
                row = (await session.execute(select(staff_table).where(staff_table.c.email == email))).first()
        password_hash = row.password_hash if row is not None else _DUMMY_HASH
        ok = await asyncio.to_thread(_verify, password_hash, password[:MAX_PASSWORD])
        if not ok or row is None or not row.enabled:
            return None
        return member_from_row(row)

    async def create_token(self, email: str) -> str:
        """A new API token for the account, returned once; only its digest is kept."""
        member = await self.by_email(email)
        if not member.enabled:
            raise StaffInputError(f"{member.email} is disabled")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self._db.write() as session:
            await session.execute(
                api_tokens_table.insert().values(token_hash=token_digest(token), staff_id=member.id, created_at=utcnow())
            )
        return token

    async def by_token(self, token: str) -> StaffMember | None:
        """The enabled account of a live API token, or None (checked on every API request: one hop)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        statement = (
            select(staff_table)
            .join(api_tokens_table, api_tokens_table.c.staff_id == staff_table.c.id)
            .where(api_tokens_table.c.token_hash == token_digest(token), api_tokens_table.c.revoked_at.is_(None))
        )
        row = await self._db.run(lambda connection: connection.execute(statement).first(), write=False)
        if row is None or not row.enabled:
            return None
        return member_from_row(row)
