"""Removing personal details (emails, phone numbers, card numbers, street addresses) from message text.

Runs on a blank English spaCy pipeline (tokenizer only, no pretrained model): a ``Matcher`` finds
emails and street addresses on tokens, regular expressions find digit sequences, which become
"[card]" (13–19 digits passing the Luhn check), "[phone]" (7–15 digits) or "[number]" (any other run
of 7+ digits).  It errs on the side of removing too much.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

EMAIL_RE = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+")
# Digits, optionally led by + or (, with spaces, dots, dashes, slashes or brackets between them.
DIGITS_RE = re.compile(r"(?:\+|\()?\d(?:[\d().\-/]|[ \t](?=[\d(+]))*\d")
POSTCODE_RE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{5}(?:-\d{4})?)\b", re.IGNORECASE)
STREET_SUFFIXES = [
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "dr", "boulevard", "blvd", "way",
    "court", "ct", "place", "pl", "terrace", "close", "crescent", "square", "sq", "highway", "hwy", "parkway",
    "gardens", "grove", "mews", "row", "walk", "hill", "strasse", "straße",
]  # fmt: skip
LABELS = ("email", "card", "phone", "number", "address")


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    label: str


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def classify_digits(digits: str) -> str | None:
    """The label for a run of digits, or None if it is short enough to keep (a year, a quantity)."""
    if len(digits) < 7:
        return None
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return "card"
    if len(digits) <= 15:
        return "phone"
    return "number"


@lru_cache(maxsize=1)
def _pipeline() -> tuple[Any, Any]:
    # thinc probes TensorFlow when it is importable, which costs seconds and is useless for a tokenizer;
    # skip the probe unless TensorFlow is already loaded (Rasa's own process).
    blocked = "tensorflow" not in sys.modules
    if blocked:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        import spacy
        from spacy.matcher import Matcher
    finally:
        if blocked and sys.modules.get("tensorflow") is None:
            del sys.modules["tensorflow"]
    nlp = spacy.blank("en")
    matcher = Matcher(nlp.vocab)
    matcher.add("email", [[{"LIKE_EMAIL": True}]])
    number = {"TEXT": {"REGEX": r"^\d{1,5}[A-Za-z]?$"}}
    word = {"IS_ALPHA": True, "LOWER": {"NOT_IN": STREET_SUFFIXES}}
    suffix = {"LOWER": {"IN": STREET_SUFFIXES}}
    matcher.add("address", [[number, *([word] * n), suffix] for n in (1, 2, 3)])
    return nlp, matcher


def find(text: str) -> list[Finding]:
    """Personal details in ``text``, as non-overlapping character spans sorted by position."""
    found: list[Finding] = [Finding(m.start(), m.end(), "email") for m in EMAIL_RE.finditer(text)]
    for match in DIGITS_RE.finditer(text):
        label = classify_digits(re.sub(r"\D", "", match.group()))
        if label is not None:
            found.append(Finding(match.start(), match.end(), label))
    nlp, matcher = _pipeline()
    doc = nlp.make_doc(text)
    for match_id, start, end in matcher(doc):
        label = nlp.vocab.strings[match_id]
        span = doc[start:end]
        stop = span.end_char
        if label == "address":  # take a following postcode with the street
            tail = POSTCODE_RE.match(text, _skip_separators(text, stop))
            if tail:
                stop = tail.end()
        found.append(Finding(span.start_char, stop, label))
    return _merge(found)


def _skip_separators(text: str, index: int) -> int:
    while index < len(text) and text[index] in " ,.\t":
        index += 1
    return index


def _merge(found: list[Finding]) -> list[Finding]:
    merged: list[Finding] = []
    for item in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and item.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Finding(last.start, max(last.end, item.end), last.label)
        else:
            merged.append(item)
    return merged


def redact(text: str) -> str:
    """``text`` with each personal detail replaced by its label in brackets, e.g. "[email]"."""
    if not text:
        return text
    parts: list[str] = []
    position = 0
    for item in find(text):
        parts.append(text[position : item.start])
        parts.append(f"[{item.label}]")
        position = item.end
    parts.append(text[position:])
    return "".join(parts)
