"""Staffed hours: when a person can answer, from a setting like "mon-fri 09:00-17:30, sat 10:00-16:00"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


class HoursError(ValueError):
    """The staffed-hours setting cannot be read."""


@dataclass(frozen=True)
class StaffedHours:
    spans: tuple[tuple[int, time, time], ...]  # (weekday 0=Mon, start, end)
    zone: ZoneInfo
    text: str

    def is_open(self, at: datetime | None = None) -> bool:
        local = (at or datetime.now(timezone.utc)).astimezone(self.zone)
        return any(day == local.weekday() and start <= local.time() < end for day, start, end in self.spans)


def _time(value: str) -> time:
    hours, minutes = (int(p) for p in value.split(":"))
    if hours == 24 and minutes == 0:
        return time(23, 59, 59)
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise HoursError(f"bad time {value!r}")
    return time(hours, minutes)


def parse(text: str, zone: str) -> StaffedHours:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HoursError(f"unknown time zone {zone!r}") from exc
    spans = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        match = _PART.match(part)
        if not match:
            raise HoursError(f"cannot read {part!r}; write e.g. 'mon-fri 09:00-17:30'")
        first, _, last = match["days"].partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(f"unknown day in {part!r}")
        start_day, end_day = DAYS.index(first), DAYS.index(last or first)
        if end_day < start_day:
            raise HoursError(f"day range runs backwards in {part!r}")
        start, end = _time(match["start"]), _time(match["end"])
        if end <= start:
            raise HoursError(f"end before start in {part!r}")
        spans += [(day, start, end) for day in range(start_day, end_day + 1)]
    return StaffedHours(spans=tuple(spans), zone=tz, text=text)
