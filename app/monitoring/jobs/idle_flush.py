"""Closing the last windows when no data comes: a flush mark, sent through the query itself.

Spark's watermark moves only with the event times it sees, so after the last row of a replay (or
while a live source is silent) the windows holding the last rows stay open. When the query has
found no new data for live.flush_after_seconds, this watcher drops one small JSON file, {"t": T}, into a
folder the query reads as a second source (Spark's file source, unioned with Kafka before the
watermark): T = the latest event time seen + the window's duration + the allowed lateness, so the
mark's own micro-batch takes the latest event time the lateness past the end of every open window,
and the sink closes them (monitoring.jobs.window_closing).

The mark is data to Spark, so its effect is checkpointed and replayed like any row: a killed job
re-runs the batch with the same mark and writes the same windows. A restarted job learns where the
data went from the checkpoint's last commit (Spark's next watermark: the latest event time seen
minus the lateness; Spark reports no watermark until a batch of the new run has executed), and
from LAST_MARK whether that watermark is its own last mark's (then no window is open). Its own rows (no server) are
dropped before the sink. The price: a row that arrives after a flush in a window already closed
is late, as any row past the watermark is (logged by Spark's progress as a late row).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger("stream-job")

LAST_MARK = "last-flush.json"     # beside the marks folder: the event time of the last mark sent


def committed_watermark(commits_dir: Path) -> int | None:
    """The watermark (epoch seconds) Spark's last committed micro-batch set for the next one, or
    None (no batch committed yet, or no watermark). A commit file is a version line, then JSON."""
    try:
        last = max((f for f in commits_dir.iterdir() if f.name.isdigit()), key=lambda f: int(f.name), default=None)
        if last is None:
            return None
        doc = json.loads(last.read_text().strip().splitlines()[-1])
        watermark = int(doc["nextBatchWatermarkMs"]) // 1000
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return watermark if watermark > 0 else None


class IdleFlush:
    def __init__(self, query, marks_dir: Path, flush_after: float, close_by: int, lateness: int,
                 stop: threading.Event, commits_dir: Path | None = None, step: float = 0.5):
        """`close_by`: seconds past the latest event time that close every window holding it (the
        window's duration); `commits_dir`: the query checkpoint's commits/ folder (where a restart
        resumes)."""
        self.query, self.marks_dir, self.flush_after = query, marks_dir, flush_after
        self.close_by, self.lateness, self.stop, self.step = close_by, lateness, stop, step
        self.latest = None          # the latest event time of the data seen (seconds)
        self.pending = True         # rows may be in open windows (unknown after a restart: assume so)
        self.state_rows = None      # rows the stateful operators held after the latest progress read
        self.reported = None        # the batch id of the latest progress read
        self.last_data = time.monotonic()
        self.triggered = False      # the query has read its sources in this run (a batch, or a look that found none)
        self.lock = threading.Lock()   # batch() comes on the query's thread
        self.thread = threading.Thread(target=self._run, name="idle-flush", daemon=True)
        if commits_dir is not None:
            self._resume(commits_dir)

    def _resume(self, commits_dir: Path) -> None:
        watermark = committed_watermark(commits_dir)
        if watermark is None:
            return
        try:
            last_mark = int(json.loads((self.marks_dir.parent / LAST_MARK).read_text())["t"])
        except (OSError, ValueError, KeyError, TypeError):
            last_mark = None
        if last_mark is not None and watermark == last_mark - self.lateness:
            self.pending = False        # the last mark closed every window; nothing came after it
        else:
            self.latest = watermark + self.lateness

    def start(self) -> "IdleFlush":
        self.marks_dir.mkdir(parents=True, exist_ok=True)
        self.thread.start()
        return self

    def batch(self, data_latest: int | None) -> None:
        """One micro-batch, as the sink saw it: the latest event time of the data's rows it counted
        (None: none, a batch of flush marks, duplicates or unusable messages alone). The sink hands
        it over: Spark's progress reaches Python through a listener that turns every event into
        Python objects call by call through py4j, a cost on every micro-batch (bench/analysis.md,
        "Live")."""
        with self.lock:
            self.triggered = True
            if data_latest is not None:
                self.pending, self.last_data = True, time.monotonic()
                self.latest = max(self.latest or 0, int(data_latest))

    def _report(self) -> None:
        """The latest progress (one JSON through py4j): the rows Spark's state holds, and at
        --log-level DEBUG where a micro-batch's time went (Spark's own phases, in ms)."""
        progress = self.query.lastProgress
        if progress is None or progress.batchId == self.reported:
            return
        self.reported = progress.batchId
        held = [op.numRowsTotal for op in progress.stateOperators]
        self.state_rows = sum(held)
        log.debug("micro-batch %d: %d rows, %s, state rows %s", progress.batchId, progress.numInputRows,
                  json.dumps(progress.durationMs, sort_keys=True), held)

    def _idle_clock(self, status) -> None:
        """Idle means the query has looked for data in this run and found none. A micro-batch of
        data can take longer than flush_after (the first ones after a start do), and there is no
        progress until it ends: the status says that data is being taken (isDataAvailable)."""
        if status.get("message", "").startswith("Waiting for"):
            self.triggered = True       # a trigger of this run has finished: the sources were read
        if status.get("isDataAvailable") or not self.triggered:
            self.last_data = time.monotonic()

    def _run(self) -> None:
        while not self.stop.wait(self.step):
            try:
                status = self.query.status
            except Exception:  # the query is stopping; its own error is reported by the job
                return
            try:
                self._report()
            except Exception as exc:  # a report only: the flush goes on
                log.debug("no progress read: %s", exc)
            with self.lock:
                self._idle_clock(status)
                idle = time.monotonic() - self.last_data
                if self.pending and self.latest is not None and idle >= self.flush_after:
                    self._mark(self.latest + self.close_by + self.lateness)
                    self.pending = False

    def _mark(self, t: int) -> None:
        # Recorded before the mark exists: a kill in between leaves no mark, and the restart flushes.
        self._write(self.marks_dir.parent / LAST_MARK, t)
        name = f"flush-{t}-{time.time_ns()}.json"
        self._write(self.marks_dir / name, t)   # whole, or not there: Spark never reads half a mark
        log.info("no new data for %.0f s: closing the open windows (flush mark at event time %d)", self.flush_after, t)

    def _write(self, path: Path, t: int) -> None:
        tmp = self.marks_dir.parent / f".{path.name}.tmp"
        with open(tmp, "w") as f:
            json.dump({"t": t}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
