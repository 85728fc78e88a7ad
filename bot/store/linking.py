"""Verified cross-channel linking: one-time six-digit codes and attaching identities to a person.

A code is shown on one channel and typed on another.  Only its HMAC is stored (key:
``settings.link_code_secret``).  Codes are single use, expire (10 minutes by default), and guessing is
bounded twice over:

* per identity: 5 wrong tries within 15 minutes lock that identity out of redeeming for the window;
* per code: a wrong code cannot be attributed to one code, so every wrong try counts against every
  active code, and a code is invalidated at its 5th.  However many identities an attacker uses, they
  get 5 guesses per active code; the price is that the owner may have to ask for a new code.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import merging
from .engine import Database
from .models import identities, link_code_failures, link_codes
from .persons import live_row, load
from .records import Person, StoreError

MAX_CODE_ATTEMPTS = 5
MAX_IDENTITY_FAILURES = 5
IDENTITY_WINDOW = timedelta(minutes=15)
_CODE_RE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Redemption:
    """What redeeming did: the linked person, or why it failed (failures are committed, then raised)."""

    person_id: int | None = None
    failure: str | None = None


def code_hmac(secret: str, code: str) -> str:
    return hmac.new(secret.encode("utf-8"), code.encode("ascii"), hashlib.sha256).hexdigest()


def _active(now: datetime) -> list:
    return [link_codes.c.used_at.is_(None), link_codes.c.invalidated_at.is_(None), link_codes.c.expires_at > now]


async def create_code(
    session: AsyncSession, db: Database, person_id: int, ttl: timedelta, now: datetime, secret: str
) -> str:
    """A fresh code for the person; their earlier unused codes stop working."""
    person = await live_row(session, db, person_id, lock="share")
    await session.execute(
        update(link_codes).where(link_codes.c.person_id == person.id, *_active(now)).values(expires_at=now)
    )
    for _ in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
        digest = code_hmac(secret, code)
        clash = await session.execute(select(link_codes.c.id).where(link_codes.c.code_hmac == digest, *_active(now)))
        if clash.first() is None:
            break
    else:  # pragma: no cover - needs ~10^5 active codes
        raise StoreError("too many active link codes; try again")
    await session.execute(
        link_codes.insert().values(
            person_id=person.id, code_hmac=digest, created_at=now, expires_at=now + ttl, failed_attempts=0
        )
    )
    return code


async def _fail(session: AsyncSession, channel: str, sender_id: str, now: datetime, reason: str, *, wrong: bool) -> Redemption:
    await session.execute(link_code_failures.insert().values(channel=channel, sender_id=sender_id, at=now))
    if wrong:
        await session.execute(
            update(link_codes).where(*_active(now)).values(failed_attempts=link_codes.c.failed_attempts + 1)
        )
        await session.execute(
            update(link_codes)
            .where(*_active(now), link_codes.c.failed_attempts >= MAX_CODE_ATTEMPTS)
            .values(invalidated_at=now)
        )
    return Redemption(failure=reason)


async def redeem(
    session: AsyncSession, db: Database, code: str, channel: str, sender_id: str, now: datetime, secret: str
) -> Redemption:
    recent = await session.execute(
        select(func.count())
        .select_from(link_code_failures)
        .where(
            link_code_failures.c.channel == channel,
            link_code_failures.c.sender_id == sender_id,
            link_code_failures.c.at > now - IDENTITY_WINDOW,
        )
    )
    if recent.scalar_one() >= MAX_IDENTITY_FAILURES:
        return Redemption(failure="locked")
    cleaned = "".join(code.split()) if isinstance(code, str) else ""
    if not _CODE_RE.match(cleaned):
        return await _fail(session, channel, sender_id, now, "unknown", wrong=True)
    rows = list(
        await session.execute(
            db.for_update(
                select(link_codes).where(link_codes.c.code_hmac == code_hmac(secret, cleaned)).order_by(link_codes.c.id.desc())
            )
        )
    )
    if not rows:
        return await _fail(session, channel, sender_id, now, "unknown", wrong=True)
    for row in rows:
        if row.used_at is None and row.invalidated_at is None and row.expires_at > now:
            await session.execute(update(link_codes).where(link_codes.c.id == row.id).values(used_at=now))
            person = await link_identity(session, db, row.person_id, channel, sender_id, "link_code", now)
            return Redemption(person_id=person.id)
    newest = rows[0]
    reason = "used" if newest.used_at is not None else "locked" if newest.invalidated_at is not None else "expired"
    return await _fail(session, channel, sender_id, now, reason, wrong=False)


async def link_identity(
    session: AsyncSession, db: Database, person_id: int, channel: str, sender_id: str, verified_by: str, now: datetime
) -> Person:
    """Attach (channel, sender_id) to the person, merging the identity's current person into them."""
    target = await live_row(session, db, person_id)
    statement = db.insert(identities).values(
        person_id=target.id, channel=channel, sender_id=sender_id, verified_by=verified_by, verified_at=now, created_at=now
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["channel", "sender_id"]))
    owner = (
        await session.execute(
            select(identities.c.person_id).where(identities.c.channel == channel, identities.c.sender_id == sender_id)
        )
    ).scalar_one()
    if owner != target.id:
        record = await merging.merge(session, db, target.id, owner, f"link:{verified_by}", now)
        target_id = record.into_id
    else:
        target_id = target.id
    await session.execute(
        update(identities)
        .where(identities.c.channel == channel, identities.c.sender_id == sender_id)
        .values(verified_by=verified_by, verified_at=now)
    )
    return await load(session, db, target_id)
