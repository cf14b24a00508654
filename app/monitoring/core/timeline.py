"""Timestamps: the two accepted forms, seconds, and series that pass midnight."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

DAY = 86_400
TIME_ONLY = "time"   # HH:MM:SS
FULL = "full"        # YYYY-MM-DD HH:MM:SS

_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$")
_FULL_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) ([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$")


class TimestampError(ValueError):
    """A ts that is neither HH:MM:SS nor YYYY-MM-DD HH:MM:SS."""


@dataclass(frozen=True)
class Stamp:
    kind: str       # TIME_ONLY or FULL
    seconds: int    # seconds of the day (TIME_ONLY) or since the epoch, read as UTC (FULL)


def parse_ts(text: str) -> Stamp:
    m = _TIME_RE.match(text)
    if m:
        h, mi, s = (int(g) for g in m.groups())
        return Stamp(TIME_ONLY, h * 3600 + mi * 60 + s)
    m = _FULL_RE.match(text)
    if m:
        try:
            dt = datetime(*(int(g) for g in m.groups()), tzinfo=timezone.utc)
        except ValueError as exc:  # 2024-02-30 and the like
            raise TimestampError(f"bad ts {text!r}: {exc}") from None
        return Stamp(FULL, int(dt.timestamp()))
    raise TimestampError(f"bad ts {text!r}: expected HH:MM:SS or YYYY-MM-DD HH:MM:SS")


def format_seconds(seconds: int, kind: str) -> str:
    """Inverse of parse_ts; a time-only value is shown modulo one day."""
    if kind == TIME_ONLY:
        s = seconds % DAY
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def series_start(seconds_of_day) -> int:
    """Where an unordered time-only series begins: just after the largest gap around the clock.

    Consumers' CSVs are not in time order, so "the next day" cannot be read off the row order.
    A series shorter than a day leaves its largest gap between its end and its start, so the
    value after that gap is the first one. Without a wrap this is simply the minimum. Ties go to
    the earliest value, so the answer never depends on input order.
    """
    values = sorted(set(seconds_of_day))
    if not values:
        raise ValueError("series_start of an empty series")
    best_gap, start = values[0] + DAY - values[-1], values[0]
    for before, after in zip(values, values[1:]):
        if after - before > best_gap:
            best_gap, start = after - before, after
    return start


def unwrap(second_of_day: int, start: int) -> int:
    """Seconds since the series' first midnight: values before `start` belong to the next day."""
    return second_of_day + DAY if second_of_day < start else second_of_day


class InOrderClock:
    """Unwraps time-only stamps read in file order (the producer's replay pacing)."""

    def __init__(self) -> None:
        self._last: int | None = None

    def absolute(self, stamp: Stamp) -> int:
        if stamp.kind == FULL:
            return stamp.seconds
        if self._last is None:
            self._last = stamp.seconds
            return self._last
        # Of the same time on the previous, same or next day, the nearest to the last row is
        # meant: passing midnight moves forward a day, a slightly late row does not.
        day = self._last // DAY
        candidates = ((day + d) * DAY + stamp.seconds for d in (-1, 0, 1))
        self._last = min(candidates, key=lambda c: abs(c - self._last))
        return self._last
