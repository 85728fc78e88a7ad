"""A failing statement's error message (which ends up in a log line) never quotes the values bound to it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from bot.store import RelationshipStore
from bot.store.models import identities

SECRET_SENDER = "+447700900123"  # a phone number is a sender id on SMS


def _orphan_identity() -> object:
    """An identity of a person who does not exist: the foreign key refuses it."""
    return identities.insert().values(
        person_id=2_000_000, channel="sms", sender_id=SECRET_SENDER, verified_by="channel", created_at=datetime.now(timezone.utc)
    )


async def test_an_error_in_a_unit_of_work_does_not_quote_the_sender_id(store: RelationshipStore) -> None:
    statement = _orphan_identity()
    with pytest.raises(IntegrityError) as raised:
        await store.database.run(lambda connection: connection.execute(statement))
    assert SECRET_SENDER not in str(raised.value) and "identities" in str(raised.value)


async def test_an_error_in_a_session_does_not_quote_the_sender_id(store: RelationshipStore) -> None:
    with pytest.raises(IntegrityError) as raised:
        async with store.database.write() as session:
            await session.execute(_orphan_identity())
    assert SECRET_SENDER not in str(raised.value) and "identities" in str(raised.value)
