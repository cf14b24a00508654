"""Closing the last windows when no data comes: a flush mark, sent through the query itself.

Spark's watermark moves only with the event times it sees, so after the last row of a replay (or
while a live source is silent) the windows holding the last rows stay open. When no row has
arrived for live.flush_after_seconds, this watcher drops one small JSON file, {"t": T}, into a
folder the query reads as a second source (Spark's file source, unioned with Kafka before the
watermark): T = the latest event time seen + the window's duration + the allowed lateness, so the
watermark passes the end of every open window and Spark's next (no-data) micro-batch emits them.

The mark is data to Spark, so its effect is checkpointed and replayed like any row: a killed job
re-runs the batch with the same mark and writes the same windows. Its own rows (no server) are
dropped before the sink. The price: a row that arrives after a flush in a window already closed
is late, as any row past the watermark is (logged by Spark's progress as a late row).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path

log = logging.getLogger("stream-job")


def _epoch_seconds(iso: str) -> int:
    """Spark's progress times, e.g. 1970-01-01T11:59:55.000Z."""
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


class IdleFlush:
    def __init__(self, query, marks_dir: Path, flush_after: float, close_by: int, lateness: int,
                 data_source: str, stop: threading.Event, step: float = 0.5):
        """`close_by`: seconds past the latest event time that close every window holding it (the
        window's duration); `data_source`: a text in the Kafka source's progress description."""
        self.query, self.marks_dir, self.flush_after = query, marks_dir, flush_after
        self.close_by, self.lateness, self.data_source, self.stop, self.step = close_by, lateness, data_source, stop, step
        self.latest = None          # the latest event time of the data seen (seconds)
        self.pending = True         # rows may be in open windows (unknown after a restart: assume so)
        self.last_data = time.monotonic()
        self.seen = ""              # the last progress handled (its timestamp)
        self.thread = threading.Thread(target=self._run, name="idle-flush", daemon=True)

    def start(self) -> "IdleFlush":
        self.marks_dir.mkdir(parents=True, exist_ok=True)
        self.thread.start()
        return self

    def _observe(self, progress) -> None:
        rows = sum(s.numInputRows for s in progress.sources if self.data_source in s.description)
        marks = sum(s.numInputRows for s in progress.sources if self.data_source not in s.description)
        times = progress.eventTime or {}
        if rows:
            self.pending, self.last_data = True, time.monotonic()
            if "max" in times and not marks:
                self.latest = max(self.latest or 0, _epoch_seconds(times["max"]))
        if "watermark" in times and self.latest is None:
            # After a restart: the watermark kept in the checkpoint says how far the data went.
            watermark = _epoch_seconds(times["watermark"])
            if watermark > 0:
                self.latest = watermark + self.lateness

    def _run(self) -> None:
        while not self.stop.wait(self.step):
            try:
                progresses = [p for p in self.query.recentProgress if p.timestamp > self.seen]
            except Exception:  # the query is stopping; its own error is reported by the job
                return
            for p in progresses:
                self.seen = max(self.seen, p.timestamp)
                self._observe(p)
            idle = time.monotonic() - self.last_data
            if self.pending and self.latest is not None and idle >= self.flush_after:
                self._mark(self.latest + self.close_by + self.lateness)
                self.pending = False

    def _mark(self, t: int) -> None:
        name = f"flush-{t}-{time.time_ns()}.json"
        tmp = self.marks_dir.parent / f".{name}.tmp"
        with open(tmp, "w") as f:
            json.dump({"t": t}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.marks_dir / name)   # whole, or not there: Spark never reads half a mark
        log.info("no new data for %.0f s: closing the open windows (flush mark at event time %d)", self.flush_after, t)
