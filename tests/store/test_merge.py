from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.store import InteractionRecord, MergeError, RelationshipStore, Source
from bot.store.merge_rules import FactValue, merged_consent, merged_remembering, preference_winner

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ids = itertools.count()


# pure rules -----------------------------------------------------------------------------------
facts = st.builds(
    FactValue,
    value=st.sampled_from(["a", "b"]),
    how=st.sampled_from([None, "said", "observed", "staff"]),
    at=st.integers(0, 100).map(lambda d: T0 + timedelta(days=d)),
).map(lambda f: FactValue(f.value) if f.how is None else f)


@settings(max_examples=40, deadline=None)
@given(facts, facts)
def test_explicit_preference_beats_observed_and_newer_beats_older(into: FactValue, other: FactValue) -> None:
    winner = into if preference_winner(into, other) == "into" else other
    loser = other if winner is into else into
    explicit = {"said", "staff"}
    if loser.how in explicit:
        assert winner.how in explicit and winner.at >= loser.at  # type: ignore[operator]
    elif loser.how == "observed":
        assert winner.how in explicit or (winner.how == "observed" and winner.at >= loser.at)  # type: ignore[operator]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([None, "granted", "withdrawn", "conflict"]), st.sampled_from([None, "granted", "withdrawn", "conflict"]))
def test_disagreeing_consent_becomes_conflict_never_granted(a: str | None, b: str | None) -> None:
    state = merged_consent(a, b)
    if a and b and a != b:
        assert state == "conflict"
    if state == "granted":
        assert {a, b} <= {"granted", None}
    assert merged_remembering(state, True, True) is (state in (None, "granted"))


# scenarios on the real databases ---------------------------------------------------------------
op = st.one_of(
    st.tuples(st.just("pref"), st.sampled_from(["name", "tone", "preferred_channel"]), st.sampled_from(["said", "observed", "staff"])),
    st.tuples(st.just("consent"), st.sampled_from(["suggestions", "updates:telegram", "remember_me"]), st.booleans()),
    st.tuples(st.just("turn"), st.lists(st.sampled_from(["pricing", "billing", "setup"]), max_size=2), st.sampled_from([None, "a1", "v2"])),
    st.tuples(st.just("advocacy"), st.sampled_from(["shared_link", "recommended", "referred"]), st.none()),
    st.tuples(st.just("ticket"), st.none(), st.none()),
    st.tuples(st.just("note"), st.none(), st.none()),
)
VALUES = {"name": ["Ada", "Grace"], "tone": ["brief", "friendly"], "preferred_channel": ["web", "telegram"]}


async def _apply(store: RelationshipStore, channel: str, sender: str, ops: list[tuple[Any, Any, Any]], salt: int) -> int:
    person = await store.resolve_person(channel, sender)
    for index, (kind, a, b) in enumerate(ops):
        source = Source(channel, how=b if kind == "pref" else "said")
        if kind == "pref":
            await store.update_preferences(person.id, source=source, **{a: VALUES[a][(index + salt) % 2]})
        elif kind == "consent":
            await store.set_consent(person.id, a, b, source=source)
        elif kind == "turn":
            content = {"content_item": b, "content_type": "article"} if b else {}
            await store.record_interaction(person.id, InteractionRecord(channel, intent="ask", topics=tuple(a), **content))
        elif kind == "advocacy":
            await store.record_advocacy(person.id, a, source=source)
        elif kind == "ticket":
            await store.create_ticket(person_id=person.id, channel=channel, sender_id=sender, team="support", summary="help")
        else:
            await store.add_note(person_id=person.id, author_id=1, author_name="Sam", text=f"note {index}")
    return person.id


def _normalise(value: Any) -> Any:
    """The export without times, derived strengths and the merge log."""
    if isinstance(value, dict):
        return {
            k: _normalise(v)
            for k, v in value.items()
            if not (k == "at" or k.endswith("_at") or k in {"strength", "merges", "weight"})
        }
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


async def _merge_scenario(url: str, secret: str, ops_a: list, ops_b: list) -> None:
    store = await RelationshipStore.open(url, link_code_secret=secret)
    try:
        n = next(_ids)
        a = await _apply(store, "web", f"ma{n}", ops_a, 0)
        b = await _apply(store, "telegram", f"mb{n}", ops_b, 1)
        before_a, before_b = await store.export_person(a), await store.export_person(b)
        record = await store.merge(a, b, by="test")
        merged = await store.export_person(a)
        assert (await store.get_person(b)).id == a  # stale ids follow the merge
        for key in ("identities", "interactions", "advocacy", "tickets", "notes"):
            assert len(merged[key]) == len(before_a[key]) + len(before_b[key]), key
        assert len(merged["consent"]["history"]) == (
            len(before_a["consent"]["history"]) + len(before_b["consent"]["history"]) + len(record.conflicts)
        )
        topics = {i["topic"] for i in before_a["interests"]} | {i["topic"] for i in before_b["interests"]}
        assert {i["topic"] for i in merged["interests"]} == topics
        mentions = lambda e: sum(i["mentions"] for i in e["interests"])  # noqa: E731
        assert mentions(merged) == mentions(before_a) + mentions(before_b)
        for purpose in set(before_a["consent"]["current"]) & set(before_b["consent"]["current"]):
            if before_a["consent"]["current"][purpose] != before_b["consent"]["current"][purpose]:
                assert merged["consent"]["current"][purpose] == "conflict"
        await store.undo_merge(record.id)
        assert _normalise(await store.export_person(a)) == _normalise(before_a)
        assert _normalise(await store.export_person(b)) == _normalise(before_b)
        with pytest.raises(MergeError):
            await store.undo_merge(record.id)
    finally:
        await store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(op, max_size=6), st.lists(op, max_size=6))
def test_merge_keeps_every_row_and_undo_restores_both(store_url: str, link_secret: str, ops_a: list, ops_b: list) -> None:
    asyncio.run(_merge_scenario(store_url, link_secret, ops_a, ops_b))


async def test_merge_takes_the_most_recent_explicit_preference(store: RelationshipStore) -> None:
    a = await store.resolve_person("web", "a")
    b = await store.resolve_person("telegram", "b")
    await store.update_preferences(a.id, source=Source("web", how="said"), name="Ada")
    await store.update_preferences(b.id, source=Source("telegram", how="observed"), name="Adaline", tone="brief")
    await store.set_consent(a.id, "suggestions", True, source=Source("web"))
    await store.set_consent(b.id, "suggestions", False, source=Source("telegram"))
    record = await store.merge(a.id, b.id, by="staff:1")
    person = await store.get_person(a.id)
    assert person.name == "Ada"  # said beats a later observation
    assert person.tone == "brief"  # an observed value beats a default
    assert (await store.consents(a.id))["suggestions"] == "conflict"
    assert record.conflicts == ("suggestions",)
    assert {(i.channel, i.sender_id) for i in person.identities} == {("web", "a"), ("telegram", "b")}


async def test_concurrent_merge_and_writes_lose_nothing(store: RelationshipStore) -> None:
    a = await store.resolve_person("web", "ca")
    b = await store.resolve_person("telegram", "cb")

    async def writes() -> None:
        for i in range(10):
            await store.resolve_and_record("telegram", "cb", InteractionRecord("telegram", intent=f"i{i}", topics=("setup",)))
            await store.record_interaction(b.id, InteractionRecord("telegram", intent=f"j{i}"))

    await asyncio.gather(writes(), store.merge(a.id, b.id, by="test"))
    history = await store.interaction_history(a.id, limit=100)
    assert len(history) == 20
    assert (await store.interests(a.id))[0].topic == "setup"
    assert (await store.export_person(a.id))["merged_person_ids"] == [b.id]


async def test_two_racing_merges_of_the_same_pair_leave_one_person(store: RelationshipStore) -> None:
    a = await store.resolve_person("web", "ra")
    b = await store.resolve_person("web", "rb")
    results = await asyncio.gather(store.merge(a.id, b.id, by="x"), store.merge(b.id, a.id, by="y"), return_exceptions=True)
    assert sum(isinstance(r, MergeError) for r in results) == 1
    assert (await store.get_person(a.id)).id == (await store.get_person(b.id)).id
    assert len((await store.get_person(a.id)).identities) == 2
