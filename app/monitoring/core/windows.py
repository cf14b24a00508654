"""The sliding-window grid: windows of `duration` seconds every `slide` seconds from t0."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WindowGrid:
    t0: int          # the first timestamp of the data: window 0 starts here
    duration: int
    slide: int

    def start(self, k: int) -> int:
        return self.t0 + k * self.slide

    def end(self, k: int) -> int:
        return self.start(k) + self.duration

    def indices(self, t: int) -> range:
        """The windows [start, start + duration) holding t; only those starting at or after t0."""
        offset = t - self.t0
        if offset < 0:
            return range(0)
        first = max(0, (offset - self.duration) // self.slide + 1)
        return range(first, offset // self.slide + 1)
