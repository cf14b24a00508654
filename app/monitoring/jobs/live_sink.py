"""The stream job's sink: the windows each micro-batch closes into the live CSV exactly once, their
alerts onto the alerts topic at least once (a repeat is the same key and bytes).

Spark re-runs a micro-batch whose commit it did not record, with the same batch id and the same
rows (its offsets and state are checkpointed before the batch runs). So the sink keeps its own
checkpoint beside Spark's: the last batch id written, the live CSV's length after it and the windows
still open (monitoring.jobs.window_closing decides which a batch closes). A batch:
  1. a batch id not past the checkpoint's was written: skip it;
  2. cut the CSV back to the checkpoint's length (a torn or unrecorded tail of a killed run);
  3. publish the alerts of the windows it closes and wait for the broker's acknowledgement of each;
  4. append those windows' rows, fsync;
  5. replace the checkpoint (write, fsync, rename).
A kill before 5 re-runs the batch: its rows are cut and written again (once), its alerts published
again (the same messages). A kill after 5 skips it.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..core import alert_messages
from ..core.alert_messages import Alert
from ..durable import fsync_dir
from . import window_closing
from .window_closing import Closing, Window

log = logging.getLogger("stream-job")

SINK_STATE = "sink.json"


class SinkError(Exception):
    """The live CSV and the sink's checkpoint disagree in a way the sink cannot repair."""


@dataclass(frozen=True)
class SinkState:
    batch_id: int       # the last micro-batch written (-1: none yet)
    csv_bytes: int      # the live CSV's length after it
    closing: Closing    # the windows open after it


@dataclass(frozen=True)
class Written:
    rows: list[tuple]   # the closed windows' fields
    alerts: list[Alert]
    late: int           # updates of windows already closed, ignored


def _of_earlier_version(doc: dict) -> bool:
    """A sink.json of the append-mode stream job: no open windows (its Spark state, no latest event
    time per window, does not fit this query's)."""
    return "open" not in doc


def earlier_version(state_dir: Path) -> bool:
    """Whether the checkpoint in state_dir is the append-mode stream job's."""
    try:
        return _of_earlier_version(json.loads((state_dir / SINK_STATE).read_text()))
    except (OSError, ValueError):
        return False


def move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.{time.strftime('%Y%m%dT%H%M%S')}.aside")
    os.replace(path, aside)
    return aside


class LiveSink:
    def __init__(self, csv_path: Path, header: tuple, state_dir: Path, publish, lateness: int):
        """`publish(list of (Alert, key, value))` sends the alerts and returns once all are acknowledged;
        `lateness`: seconds of event time past a window's end that close it."""
        self.csv_path, self.header, self.state_dir, self.publish = csv_path, header, state_dir, publish
        self.lateness = lateness
        self.state = SinkState(-1, 0, Closing())

    # --- the checkpoint --------------------------------------------------------------------------
    def _load(self) -> SinkState | None:
        path = self.state_dir / SINK_STATE
        if not path.exists():
            return None
        doc = json.loads(path.read_text())
        if _of_earlier_version(doc):
            raise SinkError(f"the live checkpoint {self.state_dir} was written by an earlier version of the stream "
                            f"job: remove that folder to build the live CSV again from the topics (the old CSV is "
                            f"moved aside)")
        return SinkState(int(doc["batch_id"]), int(doc["csv_bytes"]), window_closing.from_json(doc))

    def _save(self, state: SinkState) -> None:
        tmp = self.state_dir / f".{SINK_STATE}.tmp"
        with open(tmp, "w") as f:
            json.dump({"batch_id": state.batch_id, "csv_bytes": state.csv_bytes,
                       **window_closing.to_json(state.closing)}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_dir / SINK_STATE)
        fsync_dir(self.state_dir)
        self.state = state

    def open(self) -> None:
        """Start or resume: a new checkpoint starts a new live CSV (an old one is moved aside); a
        kept one cuts the CSV back to what it recorded."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        state = self._load()
        if state is None:
            if self.csv_path.exists() and self.csv_path.stat().st_size:
                aside = move_aside(self.csv_path)
                log.warning("%s is not accounted for by the checkpoint in %s: moved aside as %s; the windows "
                            "are written again from the topics' start", self.csv_path.name, self.state_dir, aside.name)
            head = (",".join(self.header) + "\n").encode()
            with open(self.csv_path, "wb") as f:
                f.write(head)
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(self.csv_path.parent)
            self._save(SinkState(-1, len(head), Closing()))
            return
        size = self.csv_path.stat().st_size if self.csv_path.exists() else -1
        if size < state.csv_bytes:
            raise SinkError(f"{self.csv_path} is shorter than its checkpoint says ({max(size, 0)} < "
                            f"{state.csv_bytes} bytes): to start the live CSV afresh, remove {self.state_dir}")
        self.state = state
        self._cut_back()

    def _cut_back(self) -> None:
        size = self.csv_path.stat().st_size
        if size > self.state.csv_bytes:
            log.info("dropping %d bytes of %s written after the last checkpoint; they are written again",
                     size - self.state.csv_bytes, self.csv_path.name)
            with open(self.csv_path, "r+b") as f:
                f.truncate(self.state.csv_bytes)
                f.flush()
                os.fsync(f.fileno())

    # --- one micro-batch -------------------------------------------------------------------------
    def write(self, batch_id: int, updates: list[Window], batch_latest: int | None, job) -> Written | None:
        """One batch's window updates and the latest event time of its rows: the windows it closes
        into the CSV, their alerts onto the topic first; None if the batch was written before."""
        if batch_id <= self.state.batch_id:
            log.info("micro-batch %d was written before the restart: skipped", batch_id)
            return None
        self._cut_back()
        step = window_closing.advance(self.state.closing, updates, batch_latest, self.lateness)
        rows = [w.fields for w in step.closed]
        alerts = [Alert(job.stream, f[0], f[1], f[2], f[3] or "", f[4] or "", f[5]) for f in rows if f[5]]
        messages = [(a, *alert_messages.encode(job, a)) for a in alerts]
        if messages:
            self.publish(messages)
        for _, _, value in messages:
            log.info("alert: %s", alert_messages.line(alert_messages.decode(value)))
        text = "".join(",".join("" if v is None else str(v) for v in row) + "\n" for row in rows).encode()
        with open(self.csv_path, "ab") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self._save(SinkState(batch_id, self.state.csv_bytes + len(text), step.state))
        return Written(rows, alerts, step.late)
