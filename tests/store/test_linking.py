from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.store import InvalidInput, LinkCodeError, RelationshipStore, Source
from bot.store.models import link_codes


async def test_a_link_code_joins_two_channels_into_one_person(store: RelationshipStore) -> None:
    web = await store.resolve_person("web", "w1")
    await store.update_preferences(web.id, source=Source("web"), name="Ada")
    telegram = await store.resolve_person("telegram", "t1")
    code = await store.create_link_code(web.id)
    assert len(code) == 6 and code.isdigit()
    person = await store.redeem_link_code(code, "telegram", "t1")
    assert person.id == web.id and person.name == "Ada"
    verified = {(i.channel, i.sender_id): i.verified_by for i in person.identities}
    assert verified == {("web", "w1"): "channel", ("telegram", "t1"): "link_code"}
    assert (await store.get_person(telegram.id)).id == web.id
    with pytest.raises(LinkCodeError) as used:
        await store.redeem_link_code(code, "slack", "s1")
    assert used.value.reason == "used"


async def test_only_an_hmac_of_the_code_is_stored(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "h")
    code = await store.create_link_code(person.id)
    async with store.database.read() as session:
        stored = (await session.execute(select(link_codes))).one()
    assert code not in str(tuple(stored)) and len(stored.code_hmac) == 64


async def test_an_expired_code_is_refused(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "e")
    code = await store.create_link_code(person.id, ttl=timedelta(seconds=1))
    await asyncio.sleep(1.2)
    with pytest.raises(LinkCodeError) as expired:
        await store.redeem_link_code(code, "telegram", "e2")
    assert expired.value.reason == "expired"


async def test_five_wrong_tries_invalidate_the_active_code(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "g")
    code = await store.create_link_code(person.id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for attempt in range(5):  # from five different identities, so only the code limit applies
        with pytest.raises(LinkCodeError) as unknown:
            await store.redeem_link_code(wrong, "telegram", f"attacker{attempt}")
        assert unknown.value.reason == "unknown"
    with pytest.raises(LinkCodeError) as locked:
        await store.redeem_link_code(code, "telegram", "owner")
    assert locked.value.reason == "locked"


async def test_an_identity_is_locked_after_five_failures(store: RelationshipStore) -> None:
    for _ in range(5):
        with pytest.raises(LinkCodeError):
            await store.redeem_link_code("not a code", "telegram", "guesser")
    person = await store.resolve_person("web", "owner")
    code = await store.create_link_code(person.id)
    with pytest.raises(LinkCodeError) as locked:
        await store.redeem_link_code(code, "telegram", "guesser")
    assert locked.value.reason == "locked"
    assert (await store.redeem_link_code(code, "telegram", "someone_else")).id == person.id


async def test_link_identity_refuses_bad_input(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "x")
    with pytest.raises(InvalidInput):
        await store.link_identity(person.id, "telegram", "t", verified_by="trust_me")
    with pytest.raises(InvalidInput):
        await store.create_link_code(person.id, ttl=timedelta(days=30))
