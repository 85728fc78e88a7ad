"""What an attacker or a broken client sends: hypothesis strategies shared by every entry point's fuzz tests.

Each entry point's tests draw from the same families, so "hostile input" means the same thing for
the REST webhook, socket.io, the messaging webhooks, the console and the CLI:

- text: lone UTF-16 surrogates, control and invisible characters, line separators, HTML/script,
  right-to-left overrides, emoji, very long strings;
- JSON values of the wrong type (numbers, lists, objects, null, booleans where text is expected);
- bodies: empty, blank, not UTF-8, not JSON, JSON nested far too deep, huge.

Bodies are built as bytes with ``json.dumps(..., ensure_ascii=True)``, which writes a lone
surrogate as the ``\\ud800`` escape, exactly as an attacker's client would.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

LONE_SURROGATES = ["\ud800", "\udfff", "a\udc00b", "\ud83d"]  # the last: half an emoji
CONTROL = ["\x00", "\x07", "\x1b[31m", "\x7f", "\u0085", "\u2028", "\u2029", "\u200b", "\ufeff", "\u202e"]
MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>",
          "{{7*7}}", "${jndi:ldap://x}", "'; DROP TABLE events; --", "../../etc/passwd", "%00"]


def deep_json(depth: int, leaf: str = "1") -> str:
    """A JSON array nested ``depth`` levels deep (1000 levels broke Rasa's JSON handling)."""
    return "[" * depth + leaf + "]" * depth


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


hostile_strings = st.one_of(
    st.sampled_from(LONE_SURROGATES + CONTROL + MARKUP + ["", " ", "\t\n", "\u3000", "⭐" * 50]),
    st.text(max_size=40),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=8), st.sampled_from(LONE_SURROGATES + CONTROL),
              st.text(max_size=8)),
    st.integers(min_value=5_001, max_value=70_000).map(lambda n: "x" * n),
)

wrong_types = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.just([]), st.just({}),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)

hostile_values = st.one_of(hostile_strings, wrong_types)


def json_bytes(value: Any) -> bytes:
    """``value`` as the bytes a client would send (lone surrogates as ``\\uXXXX`` escapes)."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


raw_bodies = st.one_of(
    st.sampled_from([
        b"", b" ", b"\n\t ", b"null", b"[]", b"\"text\"", b"42", b"{", b"{\"a\":}", b"NaN",
        b"\xff\xfe\x00", b"\xc3\x28", "caf\u00e9".encode("latin-1"), b"\xed\xa0\x80",  # CESU surrogate
        deep_json(1000).encode(), deep_object(1000).encode(), deep_json(30).encode(),
        b"<html><script>alert(1)</script></html>",
    ]),
    st.binary(max_size=64),
)


def object_with(fields: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A copy of a valid body with some fields replaced."""
    body = dict(fields)
    body.update(overrides)
    return body


# --- Bytes, forms and headers (the messaging webhooks' fuzz suite) ---------------------------------

#: Byte sequences that are not UTF-8: a stray continuation, a truncated sequence, an overlong
#: slash, a CESU-8 surrogate, Latin-1 text, a byte never valid in UTF-8.
NON_UTF8 = [b"\xff", b"\x80", b"\xc3\x28", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"caf\xe9", b"\xfe\xfe"]

non_utf8_bytes = st.builds(lambda a, bad, b: a + bad + b, st.binary(max_size=6), st.sampled_from(NON_UTF8),
                           st.binary(max_size=6))


def percent_encoded(raw: bytes) -> str:
    """``raw`` as a form value's percent-encoding, whatever the bytes (``%FF`` for ``b"\\xff"``)."""
    return "".join(f"%{byte:02X}" for byte in raw)


#: Form values whose percent-decoding is not UTF-8 (a strict parser must refuse them, not crash).
percent_encoded_non_utf8 = non_utf8_bytes.map(percent_encoded)

#: What a Content-Type header says, right or wrong for the body it comes with.
content_types = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8", "text/plain", "text/html", "multipart/form-data",
    "application/xml", "", "application/json; charset=latin-1",
])


def replace_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``document`` with the field at ``path`` (keys and list indexes) set to ``value``."""
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy
# --- URLs, forms and content types (for HTTP servers: the console) ---------------------------------

#: :data:`hostile_strings` without the very long ones (for keys, URLs and query strings).
short_hostile_strings = st.one_of(
    st.sampled_from(LONE_SURROGATES + CONTROL + MARKUP + ["", " ", "\t\n", "\u3000", "⭐" * 50]),
    st.text(max_size=40),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=8), st.sampled_from(LONE_SURROGATES + CONTROL),
              st.text(max_size=8)),
)


def percent_encode(value: str) -> str:
    """``value`` percent-encoded as raw bytes would be: a lone surrogate as its (invalid) UTF-8 bytes."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def form_bytes(fields: dict[str, str]) -> bytes:
    """A URL-encoded form body as an attacker's client would write it (lone surrogates as %ED%A0%80...)."""
    return "&".join(f"{percent_encode(key)}={percent_encode(value)}" for key, value in fields.items()).encode("ascii")


#: Path segments where an id or a name is expected, already percent-encoded.
hostile_path_segments = st.one_of(
    st.sampled_from([
        "%ED%A0%80", "%ff", "%00", "0", "-1", "1.5", "1e3", "99999999999999999999999", str(2**31), "%D9%A1",
        "%EF%BC%91", "1%0A", "%20", "..", "..%2F..%2Fsettings.py", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "a" * 300,
        "%3Cscript%3E", "enable%00", "x%2Fy",
    ]),
    short_hostile_strings.map(percent_encode),
)

#: Query strings (without the ``?``), already encoded: invalid UTF-8, NUL, repeated and huge parameters.
hostile_query_strings = st.one_of(
    st.sampled_from([
        "x=%ff", "y=%ED%A0%80", "z=%00", "a[]=1&a[]=2", "%zz", "=&=&", "text=" + "v" * 4000, "limit=-1&offset=1e309",
        "callback=alert(1)", "__proto__[x]=1",
    ]),
    st.dictionaries(short_hostile_strings, short_hostile_strings, max_size=4).map(lambda d: "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in d.items())),
)

#: Content-Type headers a server must not trust (``None``: no header at all).
http_content_types = st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=xyz",
    "application/json; charset=utf-16", "application/x-www-form-urlencoded; charset=latin-1", "application/xml",
    "", None,
])


def json_field_bytes(field: str, raw_value: str) -> bytes:
    """``{"field": <raw_value>}`` with the value written as given (for what ``json.dumps`` cannot write)."""
    return ("{" + json.dumps(field) + ": " + raw_value + "}").encode("utf-8", "surrogatepass")


#: JSON values as text that :func:`json_bytes` cannot produce: deep nesting, NaN and Infinity, a lone
#: surrogate escape, numbers too big for a float.
NESTING_DEPTHS = [21, 100, 999, 1_000, 5_000, 20_000]  # just past MAX_JSON_DEPTH, to far past the recursion limit

raw_json_values = st.one_of(
    st.sampled_from(NESTING_DEPTHS).map(deep_json),
    st.sampled_from(NESTING_DEPTHS).map(deep_object),
    st.sampled_from(["NaN", "Infinity", "-Infinity", '"\\ud800"', '"a\\udfffb"', "1e999", "-0", "1" * 400,
                     '"\\u0000"', '{"__proto__": {"x": 1}}']),
)
