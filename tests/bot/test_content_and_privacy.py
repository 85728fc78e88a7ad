"""Curation picks at most one on-topic unseen item; the transparency text covers the whole export."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from bot.content import CatalogueError, ContentItem, choose, load_catalogue
from bot.nlp.pipeline import load_patterns
from bot.privacy import describe

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue(ROOT / "data" / "content.yml")


def test_catalogue_topics_are_entity_ids_marketers_can_match() -> None:
    ids = {p.id for p in load_patterns(ROOT / "data" / "entities.yml") if p.label == "topic"}
    assert CATALOGUE
    for item in CATALOGUE:
        assert set(item.topics) <= ids, (item.id, set(item.topics) - ids)


def test_nothing_is_suggested_off_topic() -> None:
    assert choose(CATALOGUE, topics_now=[], interests=["crime"], seen=set(), asked_for_recommendation=False) is None
    assert choose(CATALOGUE, topics_now=["delivery"], interests=[], seen=set(), asked_for_recommendation=False) is None


def test_recommendation_request_may_use_remembered_interests() -> None:
    item = choose(CATALOGUE, topics_now=[], interests=["poetry"], seen=set(), asked_for_recommendation=True)
    assert item is not None and "poetry" in item.topics


topics = st.sampled_from(sorted({t for i in CATALOGUE for t in i.topics}) + ["delivery", "nothing"])


@settings(max_examples=40, deadline=None)
@given(now=st.lists(topics, max_size=3), interests=st.lists(topics, max_size=5),
       seen=st.sets(st.sampled_from([i.id for i in CATALOGUE])), asked=st.booleans())
def test_a_suggestion_is_unseen_and_on_topic(now, interests, seen, asked) -> None:  # type: ignore[no-untyped-def]
    item = choose(CATALOGUE, topics_now=now, interests=interests, seen=seen, asked_for_recommendation=asked)
    if item is None:
        return
    assert item.id not in seen
    wanted = set(now) or (set(interests) if asked else set())
    assert set(item.topics) & wanted


def test_bad_catalogue_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "content.yml"
    bad.write_text("items:\n  - id: a\n    type: podcast\n    title: t\n    url: /u\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="type must be one of"):
        load_catalogue(bad)
    bad.write_text("items: [\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load_catalogue(bad)


def test_transparency_text_names_every_kind_of_fact() -> None:
    export = {
        "person": {"name": "Sam", "tone": "brief", "preferred_channel": "telegram", "language": "en"},
        "provenance": {"name": {"channel": "telegram", "how": "said", "at": "2026-11-30T10:00:00"}},
        "identities": [{"channel": "telegram"}, {"channel": "socketio"}],
        "interests": [{"topic": "crime", "strength": 2.0}, {"topic": "poetry", "strength": 1.0}],
        "interactions": [{"at": "2026-11-01T10:00:00"}, {"at": "2026-11-02T10:00:00"}],
        "content": [{"item": "x"}], "advocacy": [{"kind": "recommended"}],
        "consent": {"current": {"suggestions": "withdrawn"}}, "tickets": [{}], "notes": [{}],
    }
    text = describe(export)
    for needle in ("Sam", "you told us on Telegram, 2026-11-30", "brief", "telegram", "Telegram, the web chat",
                   "crime, poetry", "2 conversation turn(s)", "1 article", "recommended us", "suggestions: withdrawn",
                   "1 conversation(s) with our staff", "1 note(s)"):
        assert needle in text, needle


def test_transparency_for_an_empty_profile_is_honest() -> None:
    assert "Name: none stored" in describe({"person": {"tone": "friendly"}})
