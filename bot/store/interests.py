"""How interest in a topic grows and fades — pure arithmetic, no I/O.

Rule: every mention of a topic adds 1 to its strength, and strength halves every
``HALF_LIFE`` (30 days) without mentions.  So strength(now) = Σ over mentions 2^(-(now - t_i)/30 days):
a topic mentioned once today has strength 1.0, one mentioned 4 times two months ago about 1.0 too.

To keep the update a single race-free ``UPDATE … SET weight = weight + :w`` on any database, a row
stores ``weight`` = Σ 2^((t_i - EPOCH)/HALF_LIFE) and strength is computed on reading.  Rows of one
person compare by weight exactly as by strength, so ordering happens in SQL.  Merging two persons'
interests in a topic is adding their weights.  (Doubles hold this until about 2100; rebase EPOCH before.)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

HALF_LIFE = timedelta(days=30)
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _half_lives(at: datetime) -> float:
    return (at - EPOCH) / HALF_LIFE


def mention_weight(at: datetime) -> float:
    """What one mention at ``at`` adds to a row's stored weight."""
    return 2.0 ** _half_lives(at)


def strength(weight: float, now: datetime) -> float:
    """The strength at ``now`` of a row holding ``weight``."""
    return weight * 2.0 ** -_half_lives(now)
