"""Login throttling that slows password guessing without locking every staff member out.

Failed logins of the last :data:`WINDOW` are counted three ways; the first rule reached refuses the
login with 429 (before the password is checked, and without counting the refused attempt):

- :data:`PER_ACCOUNT_AND_ADDRESS` failures for one account from one address: that account, from that
  address, waits (a mistyped password, or someone guessing from one machine);
- :data:`PER_ACCOUNT` failures for one account from any addresses: that account waits everywhere (a
  guess spread over many machines);
- :data:`PER_ADDRESS` failures from one address, whatever the accounts: that address waits.  Behind a
  reverse proxy every staff member arrives from the proxy's address, hence a much higher ceiling.

A successful login clears that account's failures from that address.  One account's lock never
refuses another account, except through the per-address ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import and_, case, delete, func, or_, select

from bot.staff import MAX_EMAIL
from bot.store.engine import Database
from bot.store.models import login_attempts
from bot.store.validation import utcnow

WINDOW = timedelta(minutes=15)
PER_ACCOUNT_AND_ADDRESS = 5
PER_ACCOUNT = 20
PER_ADDRESS = 100
MAX_ADDRESS = 64

@dataclass(frozen=True)
class Refusal:
    """Why a login waits (``rule``: "account and address", "account" or "address") and for how long."""

    rule: str
    retry_after: timedelta

    @property
    def message(self) -> str:
        minutes = max(1, -(-int(self.retry_after.total_seconds()) // 60))
        whose = {"account and address": "for this account from here", "account": "for this account",
                 "address": "from this address"}[self.rule]  # fmt: skip
        return f"Too many failed logins {whose}. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


class LoginThrottle:
    """Failed logins in the relationship store's database (table ``login_attempts``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def check(self, email: str, address: str) -> Refusal | None:
        """The rule that refuses a login for ``email`` from ``address`` now, or None."""
        email, address = email[:MAX_EMAIL], address[:MAX_ADDRESS]
        now = utcnow()
        t = login_attempts
        both = and_(t.c.email == email, t.c.ip == address)
        statement = select(
            func.sum(case((both, 1), else_=0)), func.min(case((both, t.c.at))),
            func.sum(case((t.c.email == email, 1), else_=0)), func.min(case((t.c.email == email, t.c.at))),
            func.sum(case((t.c.ip == address, 1), else_=0)), func.min(case((t.c.ip == address, t.c.at))),
        ).where(~t.c.succeeded, t.c.at >= now - WINDOW, or_(t.c.email == email, t.c.ip == address))  # fmt: skip
        row = await self._db.run(lambda connection: connection.execute(statement).one(), write=False)
        rules = (("account and address", PER_ACCOUNT_AND_ADDRESS, row[0], row[1]),
                 ("account", PER_ACCOUNT, row[2], row[3]), ("address", PER_ADDRESS, row[4], row[5]))  # fmt: skip
        for rule, limit, count, oldest in rules:
            if int(count or 0) >= limit:
                return Refusal(rule, max(timedelta(seconds=1), oldest + WINDOW - now))
        return None

    async def failed(self, email: str, address: str) -> None:
        now = utcnow()
        t = login_attempts

        def record(connection: sa.engine.Connection) -> None:
            connection.execute(delete(t).where(t.c.at < now - WINDOW))
            connection.execute(t.insert().values(email=email[:MAX_EMAIL], ip=address[:MAX_ADDRESS], at=now, succeeded=False))

        await self._db.run(record)

    async def succeeded(self, email: str, address: str) -> None:
        """The right password: this account's earlier failures from this address no longer count."""
        t = login_attempts
        statement = delete(t).where(t.c.email == email[:MAX_EMAIL], t.c.ip == address[:MAX_ADDRESS])
        await self._db.run(lambda connection: connection.execute(statement))

