"""The rules for merging two persons — pure functions; the SQL that applies them is in ``merging.py``.

* Preferences (name, tone, language, preferred channel): the most recent *explicit* value (said by
  the person or entered by staff) wins; without one, the most recent *observed* value; a value with no
  provenance at all (a default) never beats one that has provenance.  Ties keep the surviving person's.
* Consent per purpose: when both persons have a state and the states differ, the merged state is
  "conflict" — never silently "granted"; otherwise the state either has is kept.
* Remembering follows the merged "remember_me" consent: granted → on, withdrawn/conflict → off;
  with no consent recorded on either side, on only if both were on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .records import EXPLICIT_HOW


@dataclass(frozen=True)
class FactValue:
    """A preference as one person holds it; ``how``/``at`` are None for a default without provenance."""

    value: Any
    how: str | None = None
    at: datetime | None = None


def _rank(fact: FactValue) -> tuple[int, datetime | None]:
    if fact.how is None:
        return (0, None)
    return (2 if fact.how in EXPLICIT_HOW else 1, fact.at)


def preference_winner(into: FactValue, other: FactValue) -> str:
    """``"into"`` or ``"from"``: whose value of one preference the merged person keeps."""
    into_rank, other_rank = _rank(into), _rank(other)
    if other_rank[0] != into_rank[0]:
        return "from" if other_rank[0] > into_rank[0] else "into"
    if other_rank[0] == 0:
        return "into"
    assert into_rank[1] is not None and other_rank[1] is not None
    return "from" if other_rank[1] > into_rank[1] else "into"


def merged_consent(into_state: str | None, from_state: str | None) -> str | None:
    """The consent state of one purpose after a merge (None: neither person has one)."""
    if into_state is None:
        return from_state
    if from_state is None or from_state == into_state:
        return into_state
    return "conflict"


def merged_remembering(remember_me: str | None, into_remembering: bool, from_remembering: bool) -> bool:
    if remember_me == "granted":
        return True
    if remember_me in ("withdrawn", "conflict"):
        return False
    return into_remembering and from_remembering


def consent_conflicts(into: dict[str, str], other: dict[str, str]) -> list[str]:
    """Purposes both persons hold in different states: the merge records "conflict" for each."""
    return sorted(p for p in into.keys() & other.keys() if into[p] != other[p])
