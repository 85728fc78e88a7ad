from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bot.store import InteractionRecord, InvalidInput, PersonNotFound, RelationshipStore, Source
from bot.store.interests import mention_weight, strength


async def test_interactions_bump_interests_and_content(store: RelationshipStore) -> None:
    person = await store.resolve_and_record(
        "web", "u1", InteractionRecord("web", intent="ask_price", topics=("Pricing",), content_item="a1", content_type="article")
    )
    await store.record_interaction(person.id, InteractionRecord("web", topics=("pricing", "billing")))
    top = await store.interests(person.id)
    assert [i.topic for i in top] == ["pricing", "billing"]
    assert top[0].strength == pytest.approx(2.0, rel=1e-3)
    assert top[0].source.how == "observed" and top[0].source.channel == "web"
    assert await store.seen_content(person.id) == {"a1"}
    history = await store.interaction_history(person.id)
    assert len(history) == 2 and history[-1].intent == "ask_price"


async def test_twenty_parallel_first_turns_make_one_person_and_keep_every_turn(store: RelationshipStore) -> None:
    turns = [InteractionRecord("telegram", intent=f"i{n}", topics=("setup",)) for n in range(20)]
    people = await asyncio.gather(*(store.resolve_and_record("telegram", "new", turn) for turn in turns))
    assert len({p.id for p in people}) == 1
    assert sum(p.is_new for p in people) == 1
    history = await store.interaction_history(people[0].id, limit=100)
    assert sorted(i.intent for i in history) == sorted(t.intent for t in turns)
    assert (await store.interests(people[0].id))[0].strength == pytest.approx(20.0, rel=1e-3)


async def test_a_turn_on_the_hot_path_reads_back_exactly_like_a_recorded_one(store: RelationshipStore) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=timezone.utc)
    turn = InteractionRecord(
        "web", intent="ask", topics=("billing", "setup"), content_item="a9", content_type="article",
        outcome="handed_off", satisfaction=4, text="mail me at ann@example.org", at=at,
    )  # fmt: skip
    hot = await store.resolve_and_record("web", "hot", InteractionRecord("web"))  # known from here on
    cold = await store.resolve_person("web", "cold")
    again = await store.resolve_and_record("web", "hot", turn)
    await store.record_interaction(cold.id, turn)
    assert (again.id, again.created_at, again.identities) == (hot.id, hot.created_at, hot.identities)
    assert again.last_seen_at is not None and again.last_seen_at.tzinfo is not None
    (_, hot_turn), (cold_turn,) = await store.interaction_history(hot.id), await store.interaction_history(cold.id)
    assert hot_turn.at == at and replace(hot_turn, id=0) == replace(cold_turn, id=0)
    hot_interests, cold_interests = await store.interests(hot.id), await store.interests(cold.id)
    assert [replace(i, strength=0) for i in hot_interests] == [replace(i, strength=0) for i in cold_interests]
    assert [i.strength for i in hot_interests] == pytest.approx([i.strength for i in cold_interests], rel=1e-6)
    assert await store.seen_content(hot.id) == await store.seen_content(cold.id) == {"a9"}


async def test_nothing_is_stored_while_the_person_does_not_want_to_be_remembered(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "shy")
    person = await store.set_remembering(person.id, False, source=Source("web"))
    assert not person.remembering
    await store.record_interaction(person.id, InteractionRecord("web", topics=("pricing",), text="hi", content_item="v", content_type="video"))
    await store.resolve_and_record("web", "shy", InteractionRecord("web", topics=("x",)))
    assert await store.interaction_history(person.id) == []
    assert await store.interests(person.id) == []
    assert await store.seen_content(person.id) == set()
    assert (await store.consents(person.id))["remember_me"] == "withdrawn"


async def test_message_text_is_stored_redacted(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "t")
    await store.record_interaction(
        person.id, InteractionRecord("web", text="I'm ann@example.org, call +44 20 7946 0958, card 4111 1111 1111 1111")
    )
    (stored,) = await store.interaction_history(person.id)
    assert stored.text is not None
    assert "ann@example.org" not in stored.text and "7946" not in stored.text and "4111" not in stored.text
    assert "[email]" in stored.text and "[card]" in stored.text


def test_interest_strength_halves_every_thirty_days() -> None:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert strength(mention_weight(now), now) == pytest.approx(1.0)
    assert strength(mention_weight(now - timedelta(days=30)), now) == pytest.approx(0.5)
    assert strength(mention_weight(now) * 3, now + timedelta(days=60)) == pytest.approx(0.75)


@pytest.mark.parametrize(
    "record",
    [
        InteractionRecord("web", outcome="sold"),
        InteractionRecord("web", satisfaction=6),
        InteractionRecord("web", content_item="a"),
        InteractionRecord("web", content_item="a", content_type="podcast"),
        InteractionRecord("web", topics=("",)),
        InteractionRecord("web", text="x" * 5000),
        InteractionRecord("WEB"),
        InteractionRecord("web", at=datetime(2026, 1, 1)),
    ],
)
async def test_bad_interactions_are_refused(store: RelationshipStore, record: InteractionRecord) -> None:
    person = await store.resolve_person("web", "b")
    with pytest.raises(InvalidInput):
        await store.record_interaction(person.id, record)


async def test_retention_purge_deletes_only_old_interactions(store: RelationshipStore) -> None:
    person = await store.resolve_person("web", "r")
    old = datetime.now(timezone.utc) - timedelta(days=400)
    await store.record_interaction(person.id, InteractionRecord("web", intent="old", at=old))
    await store.record_interaction(person.id, InteractionRecord("web", intent="new"))
    assert await store.purge_interactions(timedelta(days=365)) == 1
    assert [i.intent for i in await store.interaction_history(person.id)] == ["new"]


async def test_consent_keeps_history_and_advocacy_is_recorded(store: RelationshipStore) -> None:
    person = await store.resolve_person("telegram", "c")
    await store.set_consent(person.id, "updates:telegram", True, source=Source("telegram"))
    await store.set_consent(person.id, "updates:telegram", False, source=Source("telegram"))
    await store.record_advocacy(person.id, "recommended", source=Source("telegram"), detail="told a friend")
    assert (await store.consents(person.id))["updates:telegram"] == "withdrawn"
    export = await store.export_person(person.id)
    assert [e["state"] for e in export["consent"]["history"]] == ["granted", "withdrawn"]
    assert export["advocacy"][0]["kind"] == "recommended" and export["advocacy"][0]["how"] == "said"
    with pytest.raises(InvalidInput):
        await store.record_advocacy(person.id, "sold", source=Source("web"))


async def test_curation_facts_agree_with_the_single_reads(store: RelationshipStore) -> None:
    person = await store.resolve_and_record(
        "web", "cur-1", InteractionRecord("web", topics=("crime", "poetry"), content_item="v2", content_type="video")
    )
    await store.set_consent(person.id, "suggestions", False, source=Source(channel="web"))
    consents, interests, seen = await store.curation_facts(person.id)
    assert consents == await store.consents(person.id) and consents["suggestions"] == "withdrawn"
    assert [i.topic for i in interests] == [i.topic for i in await store.interests(person.id)] == ["crime", "poetry"]
    assert seen == await store.seen_content(person.id) == {"v2"}
    with pytest.raises(PersonNotFound):
        await store.curation_facts(person.id + 1000)
