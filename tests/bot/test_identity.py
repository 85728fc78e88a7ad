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


# Metadata is whatever a channel or an old stored event holds: any JSON value, any text (lone
# surrogates included, as JSON's "\ud800" decodes), and other Python values a channel may put there.
_any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()),
                    max_size=40)
_lone_surrogates = st.sampled_from(["\ud800", "\udfff", "cust-\udc00", "\ud83d"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _any_text, _lone_surrogates,
                     st.binary(max_size=8))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(_any_text, inner, max_size=3)),
                       max_leaves=8)
_id_fields = st.fixed_dictionaries({}, optional={"customer_id": _values, "customer_signature": _values,
                                                 "rapport_channel": _values})
_metadata = st.one_of(_values, _id_fields, st.dictionaries(_values.filter(lambda v: isinstance(v, (str, int))),
                                                           _values, max_size=3))


@given(_metadata, _values)
def test_any_metadata_at_all_is_checked_without_raising(metadata, value) -> None:
    customer_id = verified_customer_id(metadata, SECRET)
    assert customer_id is None or (isinstance(customer_id, str) and customer_id.encode("utf-8"))
    signature = sign_customer_id(value, SECRET)
    assert isinstance(signature, str)


def test_an_id_that_is_not_valid_unicode_is_anonymous_and_logged_once_without_the_id(caplog) -> None:
    for customer_id in ["\ud800", "\udfff", "cust-\udc00", "\ud83d"]:
        for signature in (sign_customer_id(customer_id, SECRET), "ab" * 32, "\udcff"):
            caplog.clear()
            assert verified_customer_id({"customer_id": customer_id, "customer_signature": signature}, SECRET) is None
            assert [r.getMessage() for r in caplog.records] == [
                "ignoring a signed customer id that is not valid text (treated as anonymous)"]


def test_metadata_that_is_not_an_object_is_anonymous() -> None:
    for metadata in (["customer_id", "c1"], "customer_id=c1", 7, b"x", True):
        assert verified_customer_id(metadata, SECRET) is None  # type: ignore[arg-type]


def test_a_secret_from_an_undecodable_environment_still_signs_and_verifies() -> None:
    secret = "key-\udcff"  # os.environ decodes bytes that are not UTF-8 this way
    meta = {"customer_id": "c1", "customer_signature": sign_customer_id("c1", secret)}
    assert verified_customer_id(meta, secret) == "c1"
    assert verified_customer_id(meta, SECRET) is None
