"""Finding the name a customer asks to be called, when the entity extractor missed it (pure)."""

from __future__ import annotations

import re

# "call me Sam", "my name is Ana María", "i'm Jo btw", "it's Priya here", "name's Tom"
_CUES = re.compile(
    r"(?:\bcall me|\bmy name(?:'s| is)|\bname'?s|\bi am|\bi'm|\bim|\bit's|\bits|\bthis is|\bi go by|\bknown as|\baddress me as)"
    r"\s+(?P<name>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*)?)",
    re.IGNORECASE | re.UNICODE,
)
_NOT_NAMES = {
    "a", "an", "the", "not", "just", "here", "so", "very", "really", "looking", "trying", "going", "back",
    "fine", "ok", "okay", "good", "new", "from", "in", "on", "at", "please", "pls", "btw", "now", "again",
    "actually", "and", "but", "by", "instead", "thanks", "thank", "happy", "sorry", "interested", "after",
}


def name_from_text(text: str) -> str | None:
    """The name after a cue such as "call me"; None when nothing name-like follows."""
    match = _CUES.search(text or "")
    if not match:
        return None
    words = match.group("name").split()
    kept = []
    for word in words:
        if word.lower() in _NOT_NAMES:
            break
        kept.append(word)
    return " ".join(kept) or None
