"""Signed customer ids: only a correct HMAC is trusted (hypothesis over ids and forgeries)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from bot.identity import channel_of, sign_customer_id, verified_customer_id

SECRET = "server-secret"


@given(st.text(min_size=1, max_size=128))
def test_a_correct_signature_is_trusted(customer_id: str) -> None:
    meta = {"customer_id": customer_id, "customer_signature": sign_customer_id(customer_id, SECRET)}
    assert verified_customer_id(meta, SECRET) == customer_id


@given(st.text(min_size=1, max_size=128), st.text(max_size=80))
def test_any_other_signature_is_not(customer_id: str, forged: str) -> None:
    if forged.strip().lower() == sign_customer_id(customer_id, SECRET):
        return
    assert verified_customer_id({"customer_id": customer_id, "customer_signature": forged}, SECRET) is None


def test_signature_with_another_secret_or_malformed_metadata_is_not_trusted() -> None:
    other = sign_customer_id("c1", "another-secret")
    assert verified_customer_id({"customer_id": "c1", "customer_signature": other}, SECRET) is None
    for meta in ({"customer_id": 5, "customer_signature": "x"}, {"customer_id": "c1"}, {"customer_signature": "x"},
                 {"customer_id": "c" * 500, "customer_signature": sign_customer_id("c" * 500, SECRET)}, None, {}):
        assert verified_customer_id(meta, SECRET) is None


def test_channel_comes_from_our_channel_classes_first() -> None:
    assert channel_of({"rapport_channel": "telegram"}, "rest") == "telegram"
    assert channel_of({}, "SocketIO") == "socketio"
    assert channel_of(None, None) == "unknown"
