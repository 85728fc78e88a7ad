from __future__ import annotations

import asyncio
from datetime import timezone

import pytest

from bot.store import InteractionRecord, InvalidInput, PersonNotFound, RelationshipStore, Source


async def test_first_contact_creates_a_person_and_the_second_finds_them(store: RelationshipStore) -> None:
    first = await store.resolve_person("web", "visitor-1")
    again = await store.resolve_person("web", "visitor-1")
    assert first.is_new and not again.is_new
    assert again.id == first.id
    assert again.tone == "friendly" and again.remembering
    assert again.last_seen_at >= first.last_seen_at
    assert again.created_at.tzinfo is not None and again.created_at.utcoffset() == timezone.utc.utcoffset(None)
    assert [(i.channel, i.sender_id, i.verified_by) for i in again.identities] == [("web", "visitor-1", "channel")]


async def test_unknown_identity_without_create_is_not_found(store: RelationshipStore) -> None:
    with pytest.raises(PersonNotFound):
        await store.resolve_person("web", "nobody", create=False)
    assert await store.find_person("web", "nobody") is None
    with pytest.raises(PersonNotFound):
        await store.get_person(424242)


async def test_twenty_parallel_first_contacts_of_one_identity_make_one_person(store: RelationshipStore) -> None:
    people = await asyncio.gather(*(store.resolve_person("telegram", "42") for _ in range(20)))
    assert len({p.id for p in people}) == 1
    assert sum(p.is_new for p in people) == 1
    found = await store.find_person("telegram", "42")
    assert found is not None and found.id == people[0].id


async def test_preference_set_on_telegram_holds_on_web_chat(store: RelationshipStore) -> None:
    person = await store.resolve_person("telegram", "7")
    await store.link_identity(person.id, "web", "w7", verified_by="signed_id")
    await store.update_preferences(person.id, source=Source("telegram"), name="  Ada  ", tone="brief", language="pt-BR")
    on_web = await store.resolve_person("web", "w7")
    assert (on_web.id, on_web.name, on_web.tone, on_web.language) == (person.id, "Ada", "brief", "pt-BR")
    export = await store.export_person(person.id)
    assert export["provenance"]["name"]["channel"] == "telegram"
    assert export["provenance"]["name"]["how"] == "said"
    assert export["provenance"]["tone"]["purpose"] == "remember_me"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "x" * 81},
        {"name": "   "},
        {"name": "Bob\x00"},
        {"name": "Bob\nSmith"},
        {"tone": "pushy"},
        {"preferred_channel": "Telegram"},
        {"language": "english please"},
        {},
    ],
)
async def test_bad_preferences_are_refused(store: RelationshipStore, kwargs: dict) -> None:
    person = await store.resolve_person("web", "p")
    with pytest.raises(InvalidInput):
        await store.update_preferences(person.id, source=Source("web"), **kwargs)
    assert (await store.get_person(person.id)).name is None


@pytest.mark.parametrize(
    ("channel", "sender_id"),
    [("Web", "a"), ("", "a"), ("9web", "a"), ("w" * 33, "a"), ("web", ""), ("web", "a\x00b"), ("web", "x" * 257), ("web", 5)],
)
async def test_bad_identities_are_refused(store: RelationshipStore, channel: object, sender_id: object) -> None:
    with pytest.raises(InvalidInput):
        await store.resolve_person(channel, sender_id)  # type: ignore[arg-type]


async def test_bad_sources_and_unknown_people_are_refused(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "p")
    with pytest.raises(InvalidInput):
        await store.update_preferences(person.id, source=Source("web", how="guessed"), name="A")
    with pytest.raises(InvalidInput):
        await store.set_consent(person.id, "Bad Purpose", True, source=Source("web"))
    with pytest.raises(PersonNotFound):
        await store.update_preferences(999_999, source=Source("web"), name="A")
    with pytest.raises(InvalidInput):
        await store.get_person("1")  # type: ignore[arg-type]


async def test_an_in_memory_sqlite_store_resolves_and_remembers_like_a_file() -> None:
    opened = await RelationshipStore.open("sqlite://", link_code_secret="memory")
    try:
        first = await opened.resolve_and_record("web", "m1", InteractionRecord("web", topics=("setup",)))
        again = await opened.resolve_person("web", "m1")
        assert (first.is_new, again.is_new, again.id) == (True, False, first.id)
        assert [i.topic for i in await opened.interests(first.id)] == ["setup"]
    finally:
        await opened.close()
