"""The name fallback reads the phrasings customers use and refuses what is not a name."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from actions.preferences import clean_name
from bot.names import name_from_text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("call me Grace", "Grace"), ("call me zebedee pls", "zebedee"), ("my name is Ana María", "Ana María"),
        ("i'm Jo btw", "Jo"), ("hi its Priya here", "Priya"), ("name's Tom", "Tom"), ("you can call me Ruth", "Ruth"),
        ("i go by Mo", "Mo"),
    ],
)
def test_name_after_a_cue_is_found(text: str, name: str) -> None:
    assert name_from_text(text) == name


@pytest.mark.parametrize("text", ["i'm looking for a book", "call me back", "im not sure", "what's your name", "", "i am 42"])
def test_no_name_when_none_is_given(text: str) -> None:
    assert clean_name(name_from_text(text)) is None


@given(st.text(max_size=200))
def test_never_crashes_and_returns_a_short_name(text: str) -> None:
    name = clean_name(name_from_text(text))
    assert name is None or (0 < len(name) <= 80 and "\n" not in name)
