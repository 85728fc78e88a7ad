"""The one boundary check: what it refuses, what it lets through unchanged, and that it never raises anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.boundary import (
    MAX_JSON_DEPTH,
    BadInput,
    check_identifier,
    check_object,
    check_text,
    is_blank,
    parse_json,
    parse_json_object,
)
from tests.support.hostile import deep_json, deep_object, hostile_values, json_bytes, raw_bodies


@pytest.mark.parametrize("body", [
    b'{"sender": "\\ud800", "message": "hi"}',
    b'{"message": "half an emoji \\ud83d"}',
    b'{"\\udc00": 1}',
    b'{"a": [1, 2, {"b": "\\udfff"}]}',
])
def test_lone_surrogates_anywhere_in_a_document_are_refused_with_where(body: bytes) -> None:
    with pytest.raises(BadInput, match="not valid Unicode") as refused:
        parse_json(body)
    assert refused.value.status == 400


@pytest.mark.parametrize("body", [deep_json(1000), deep_object(1000), deep_json(100_000), deep_json(MAX_JSON_DEPTH + 1)])
def test_json_nested_too_deep_is_refused_not_a_recursion_error(body: str) -> None:
    with pytest.raises(BadInput, match="nested deeper"):
        parse_json(body.encode())


def test_json_at_the_depth_limit_is_accepted() -> None:
    assert parse_json(deep_json(MAX_JSON_DEPTH).encode()) is not None


@pytest.mark.parametrize("body", [b"NaN", b'{"a": Infinity}', b'[-Infinity]'])
def test_non_standard_json_constants_are_refused(body: bytes) -> None:
    with pytest.raises(BadInput, match="not valid JSON"):
        parse_json(body)


@pytest.mark.parametrize("body", [b"", b"   ", b"\xff\xfe", b"\xed\xa0\x80", b"{", b"[1,]"])
def test_empty_non_utf8_and_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(BadInput):
        parse_json(body)


def test_a_body_that_is_not_an_object_is_refused_where_an_object_is_expected() -> None:
    with pytest.raises(BadInput, match="JSON object"):
        parse_json_object(b"[1, 2]")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
                    max_leaves=20))
def test_any_valid_json_value_comes_back_unchanged(value) -> None:
    body = json.dumps(value).encode()
    try:
        assert parse_json(body) == value
    except BadInput as exc:  # only for what the rules refuse
        assert "nested deeper" in str(exc) or "not valid Unicode" in str(exc)


@settings(max_examples=300)
@given(raw_bodies | hostile_values.map(json_bytes))
def test_parse_json_raises_only_bad_input(body: bytes) -> None:
    try:
        parse_json(body)
    except BadInput as exc:
        assert 400 <= exc.status < 500 and str(exc)


@settings(max_examples=300)
@given(hostile_values)
def test_text_and_identifier_checks_raise_only_bad_input_and_return_encodable_text(value) -> None:
    for check in (lambda v: check_text(v, "message"), lambda v: check_identifier(v, "sender"),
                  lambda v: check_object(v, "metadata", max_bytes=8192)):
        try:
            result = check(value)
        except BadInput as exc:
            assert 400 <= exc.status < 500
        else:
            json.dumps(result, ensure_ascii=False).encode("utf-8")  # storable and loggable


def test_text_keeps_newlines_and_drops_other_control_characters() -> None:
    assert check_text("line one\nline\ttwo\x00\x07\x1b") == "line one\nline\ttwo"


def test_text_over_the_limit_is_413() -> None:
    with pytest.raises(BadInput) as refused:
        check_text("x" * 5_001)
    assert refused.value.status == 413


@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "\u200bid", "id\u2028", "\ufeffid", "a\ud800"])
def test_identifiers_refuse_control_and_invisible_characters(value: str) -> None:
    with pytest.raises(BadInput):
        check_identifier(value, "sender")


def test_numeric_identifiers_become_text() -> None:
    assert check_identifier(12345, "sender") == "12345"
    with pytest.raises(BadInput):
        check_identifier(True, "sender")


@pytest.mark.parametrize("text, blank", [
    ("", True), ("   ", True), ("\u2028", True), ("\u200b\ufeff", True), ("\t\n", True), ("\u3000", True),
    ("hi", False), (" ⭐ ", False), ("0", False),
])
def test_blank_means_nothing_visible(text: str, blank: bool) -> None:
    assert is_blank(text) is blank
