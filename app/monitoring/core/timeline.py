"""Timestamps: the two accepted forms, seconds, and series that pass midnight."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

DAY = 86_400
TIME_ONLY = "time"   # HH:MM:SS
FULL = "full"        # YYYY-MM-DD HH:MM:SS

# ASCII digits only (Python's \d also takes other scripts' digits; Spark's does not).
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$", re.ASCII)
_FULL_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) ([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$", re.ASCII)


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
    raise TimestampError(f"bad ts {text[:40]!r}{'...' if len(text) > 40 else ''}: expected HH:MM:SS or YYYY-MM-DD HH:MM:SS")


def format_seconds(seconds: int, kind: str) -> str:
    """Inverse of parse_ts; a time-only value is shown modulo one day."""
    if kind == TIME_ONLY:
        s = seconds % DAY
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


HALF_DAY = DAY // 2


class SeriesClock:
    """Event time of a series' rows, read in file order: the one time model of the pipeline.

    A dated stamp is its own epoch seconds (UTC). A time-only stamp more than 12 hours earlier
    than the previous row's has crossed midnight, so it and every row after it are one day
    later (any number of times: a time-only series may span several days); a later stamp, or
    one at most 12 hours earlier (a late row), stays on the current day. Time-only event times
    count from day 0 (1970-01-01 UTC), so the same file always gives the same times.
    """

    def __init__(self) -> None:
        self.day = 0
        self._previous: int | None = None

    def event_time(self, stamp: Stamp) -> int:
        if stamp.kind == FULL:
            return stamp.seconds
        if self._previous is not None and self._previous - stamp.seconds > HALF_DAY:
            self.day += 1
        self._previous = stamp.seconds
        return self.day * DAY + stamp.seconds


def nearest_day_shift(first: int, other: int) -> int:
    """The whole days (-1, 0 or +1, in seconds) that bring time-only `other` nearest to `first`:
    how a second hand-written file's day 0 is put beside the first's."""
    return min((-DAY, 0, DAY), key=lambda shift: abs(other + shift - first))
