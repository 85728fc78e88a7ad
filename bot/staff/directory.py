"""The staff directory: console accounts and API tokens in the relationship store's database."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from bot.staff.accounts import (
    MAX_PASSWORD,
    StaffExists,
    StaffInputError,
    StaffMember,
    StaffNotFound,
    check_avatar_url,
    check_email,
    check_name,
    check_password,
    check_role,
    member_from_row,
)
from bot.staff.credentials import hash_password, may_be_api_token, new_api_token, token_digest, verify_password
from bot.store.engine import Database
from bot.store.models import api_tokens, console_sessions, staff_accounts
from bot.store.validation import utcnow


class StaffDirectory:
    """Add, find, enable and disable staff accounts; check logins and API tokens."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, *, email: str, name: str, role: str, password: str, avatar_url: str | None = None) -> StaffMember:
        email, name, role = check_email(email), check_name(name), check_role(role)
        password, avatar_url = check_password(password), check_avatar_url(avatar_url)
        password_hash = await hash_password(password)
        async with self._db.write() as session:
            found = await session.execute(select(staff_accounts.c.id).where(staff_accounts.c.email == email))
            if found.first() is not None:
                raise StaffExists(f"a staff account for {email} already exists")
            result = await session.execute(
                staff_accounts.insert().values(
                    email=email, name=name, role=role, password_hash=password_hash, avatar_url=avatar_url,
                    enabled=True, created_at=utcnow(),
                )  # fmt: skip
            )
            staff_id = int(result.inserted_primary_key[0])
            row = (await session.execute(select(staff_accounts).where(staff_accounts.c.id == staff_id))).one()
            return member_from_row(row)

    async def get(self, staff_id: int) -> StaffMember:
        async with self._db.read() as session:
            row = (await session.execute(select(staff_accounts).where(staff_accounts.c.id == staff_id))).first()
        if row is None:
            raise StaffNotFound(f"no staff account with id {staff_id}")
        return member_from_row(row)

    async def by_email(self, email: str) -> StaffMember:
        email = check_email(email)
        async with self._db.read() as session:
            row = (await session.execute(select(staff_accounts).where(staff_accounts.c.email == email))).first()
        if row is None:
            raise StaffNotFound(f"no staff account for {email}")
        return member_from_row(row)

    async def list(self) -> list[StaffMember]:
        async with self._db.read() as session:
            rows = await session.execute(select(staff_accounts).order_by(staff_accounts.c.name, staff_accounts.c.id))
            return [member_from_row(row) for row in rows]

    async def set_enabled(self, email: str, enabled: bool) -> StaffMember:
        """Disabling also ends the account's console sessions and revokes its API tokens."""
        email = check_email(email)
        async with self._db.write() as session:
            result = await session.execute(
                update(staff_accounts).where(staff_accounts.c.email == email).values(enabled=enabled)
            )
            if result.rowcount != 1:
                raise StaffNotFound(f"no staff account for {email}")
            row = (await session.execute(select(staff_accounts).where(staff_accounts.c.email == email))).one()
            if not enabled:
                await session.execute(
                    update(api_tokens)
                    .where(api_tokens.c.staff_id == row.id, api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
                await session.execute(delete(console_sessions).where(console_sessions.c.staff_id == row.id))
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
                row = (await session.execute(select(staff_accounts).where(staff_accounts.c.email == email))).first()
        ok = await verify_password(row.password_hash if row is not None else None, password[:MAX_PASSWORD])
        if not ok or row is None or not row.enabled:
            return None
        return member_from_row(row)

    async def create_token(self, email: str) -> str:
        """A new API token for the account, returned once; only its digest is kept."""
        member = await self.by_email(email)
        if not member.enabled:
            raise StaffInputError(f"{member.email} is disabled")
        token = new_api_token()
        async with self._db.write() as session:
            await session.execute(
                api_tokens.insert().values(token_hash=token_digest(token), staff_id=member.id, created_at=utcnow())
            )
        return token

    async def by_token(self, token: str) -> StaffMember | None:
        """The enabled account of a live API token, or None (checked on every API request: one hop)."""
        if not may_be_api_token(token):
            return None
        statement = (
            select(staff_accounts)
            .join(api_tokens, api_tokens.c.staff_id == staff_accounts.c.id)
            .where(api_tokens.c.token_hash == token_digest(token), api_tokens.c.revoked_at.is_(None))
        )
        row = await self._db.run(lambda connection: connection.execute(statement).first(), write=False)
        if row is None or not row.enabled:
            return None
        return member_from_row(row)
