"""CSV files that take each message exactly once, across crashes, restarts and full disks.

Each topic key has two files: its CSV (the seed's columns, for people and graders) and, under
`events/`, the same rows with the event time the producer decided in front (what the batch jobs
read: the CSVs interleave partitions, so their line order is not the series' order).

The checkpoint file beside the CSVs is the truth: for each partition the next offset to read,
for each file its length in bytes when those offsets were reached, and for each data file seen
(by digest) and server the last line number written. A batch is appended and fsynced, then the
checkpoint is replaced atomically. After a crash the files are cut back to the checkpoint's
lengths (a torn or unrecorded tail goes; it is read again from Kafka) and reading resumes at the
checkpoint's offsets. A message whose origin (data file, line) is not past the last line written
for its server is a re-sent one (a producer restarted or run again) and is dropped: each
server's rows reach its partition in file order, so that line was written before.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.records import csv_line
from ..durable import fsync_dir
from ..wiring import EVENT_TIME_COLUMN, EVENTS_DIR

log = logging.getLogger("consumer")
CHECKPOINT_VERSION = 2


class SinkError(Exception):
    """The output folder holds something the sink must not touch (a foreign CSV, say)."""


@dataclass(frozen=True)
class CsvTarget:
    key: str             # topic key: cpu, mem, net, disk
    topic: str           # its Kafka topic name
    path: Path           # the CSV
    header: tuple

    @property
    def events_path(self) -> Path:
        return events_path(self.path)

    @property
    def events_header(self) -> tuple:
        return (EVENT_TIME_COLUMN, *self.header)


@dataclass(frozen=True)
class Row:
    """One decoded message: the CSV fields, its event time, where it came from."""
    fields: tuple
    event_time: int
    origin: tuple[str, int] | None = None   # (data file digest, line number); None: never re-sent


def events_path(csv_path: Path) -> Path:
    return csv_path.parent / EVENTS_DIR / csv_path.name


def checkpoint_path(output_dir: Path, role: str) -> Path:
    return output_dir / f".{role}.checkpoint.json"


def read_checkpoint(path: Path) -> dict | None:
    """The checkpoint, or None when there is none or it cannot be used (said in the log)."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("checkpoint %s unreadable (%s): starting over", path, exc)
        return None
    if not isinstance(doc, dict) or doc.get("version") != CHECKPOINT_VERSION:
        log.warning("checkpoint %s is of another version: starting over", path)
        return None
    return doc


def data_files(doc: dict) -> list[str]:
    """The digests of the data files whose rows a checkpoint says are in the CSVs, sorted."""
    return sorted({d for by_digest in doc.get("last_line", {}).values() for d in by_digest})



class CsvSink:
    def __init__(self, output_dir: Path, role: str, targets: list[CsvTarget], fsync: bool = True):
        self.output_dir = output_dir
        self.checkpoint = checkpoint_path(output_dir, role)
        self.targets = {t.key: t for t in targets}
        self.fsync = fsync
        self.offsets: dict[str, int] = {}     # "topic:partition" -> next offset, as checkpointed
        self.lengths: dict[str, int] = {}     # file name (CSV, events/CSV) -> length in bytes
        self.last_line: dict[str, dict] = {}  # key -> {digest: {server_id: last line written}}
        self.rows: dict[str, int] = {}        # key -> data rows in the CSV

    @property
    def digests(self) -> list[str]:
        """The data files (by digest) whose rows are in the CSVs, in the order they arrived."""
        seen: dict[str, None] = {}
        for by_digest in self.last_line.values():
            seen.update(dict.fromkeys(by_digest))
        return list(seen)

    # -- start-up ------------------------------------------------------------------------------

    def restore(self) -> dict[str, int]:
        """Bring the files back to the last checkpoint; return the offsets to resume from."""
        (self.output_dir / EVENTS_DIR).mkdir(parents=True, exist_ok=True)
        doc = read_checkpoint(self.checkpoint) or {}
        offsets = {k: int(v) for k, v in doc.get("offsets", {}).items()}
        lengths = doc.get("lengths", {})
        last_line = doc.get("last_line", {})
        for key, target in self.targets.items():
            if self._restore_target(target, lengths):
                self.last_line[key] = {d: dict(s) for d, s in last_line.get(key, {}).items()}
            else:
                # Nothing of this key can be trusted: its topic is read again from the start.
                offsets = {tp: o for tp, o in offsets.items() if not tp.startswith(target.topic + ":")}
                self.last_line[key] = {}
        topics = {t.topic for t in self.targets.values()}
        self.offsets = {tp: o for tp, o in offsets.items() if tp.rsplit(":", 1)[0] in topics}
        self._write_checkpoint(self.offsets, self.lengths, self.last_line)
        return dict(self.offsets)

    def _restore_target(self, target: CsvTarget, lengths: dict) -> bool:
        """Cut both files back to their checkpointed lengths; False if they had to start afresh."""
        files = [(target.path, target.header), (target.events_path, target.events_header)]
        headers = {path: csv_line(header).encode() for path, header in files}
        for path, header in headers.items():
            if path.exists():
                with open(path, "rb") as f:
                    first = f.readline()
                if first and first != header:
                    raise SinkError(f"{path} does not start with the header {header.decode().strip()!r}: "
                                    f"move it away so the consumer can start it afresh")
        recorded = {path: lengths.get(self._name(path)) for path in headers}
        has_rows = any(p.exists() and p.stat().st_size > len(h) for p, h in headers.items())
        if all(n is not None for n in recorded.values()) and all(
                p.exists() and p.stat().st_size >= recorded[p] for p in headers):
            for path in headers:
                self._cut(path, recorded[path])
            self._count(target)
            return True
        if has_rows:
            why = ("no checkpoint counts them" if any(n is None for n in recorded.values())
                   else "one is shorter than its checkpoint (was it edited?)")
            stamp = time.strftime("%Y%m%dT%H%M%S")
            for path in headers:
                if path.exists():
                    aside = path.with_name(f"{path.name}.{stamp}.aside")
                    os.replace(path, aside)
            log.warning("%s and %s: %s; moved aside as *.%s.aside, reading %s again from the start",
                        target.path.name, self._name(target.events_path), why, stamp, target.topic)
        for path, header in headers.items():
            self._create(path, header)
        self._count(target)
        return False

    def _name(self, path: Path) -> str:
        return path.relative_to(self.output_dir).as_posix()

    def _cut(self, path: Path, keep: int) -> None:
        size = path.stat().st_size
        if keep < size:
            log.info("%s: dropping %d bytes written after the last checkpoint; they are read again",
                     self._name(path), size - keep)
            with open(path, "r+b") as f:
                f.truncate(keep)
                os.fsync(f.fileno())

    def _create(self, path: Path, header: bytes) -> None:
        with open(path, "wb") as f:
            f.write(header)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(path.parent)

    def _count(self, target: CsvTarget) -> None:
        rows = -1
        with open(target.path, "rb") as f:
            while chunk := f.read(1 << 20):
                rows += chunk.count(b"\n")
        self.rows[target.key] = max(rows, 0)
        for path in (target.path, target.events_path):
            self.lengths[self._name(path)] = path.stat().st_size

    # -- a batch -------------------------------------------------------------------------------

    def append(self, rows_by_key: dict[str, list[Row]], offsets: dict[str, int]) -> tuple[int, int]:
        """Append a batch and checkpoint it; returns (rows written, re-sent rows dropped).

        On OSError nothing of the batch counts: the files are cut back to the last checkpoint and
        the error propagates, so the caller re-reads the batch once writing works again.
        """
        written = resent = 0
        lengths = dict(self.lengths)
        last_line = {key: {d: dict(s) for d, s in by_digest.items()} for key, by_digest in self.last_line.items()}
        added: dict[str, int] = {}
        try:
            for key, rows in rows_by_key.items():
                if not rows:
                    continue
                target, marks = self.targets[key], last_line[key]
                csv_lines, event_lines = [], []
                for row in rows:
                    if row.origin is not None:
                        digest, line = row.origin
                        if digest not in marks:
                            self._new_series(key, digest, marks)
                            marks[digest] = {}
                        server = row.fields[1]
                        if line <= marks[digest].get(server, 0):
                            resent += 1
                            continue
                        marks[digest][server] = line
                    csv_lines.append(csv_line(row.fields))
                    event_lines.append(f"{row.event_time},{csv_lines[-1]}")
                if not csv_lines:
                    continue
                for path, lines in ((target.path, csv_lines), (target.events_path, event_lines)):
                    data = "".join(lines).encode()
                    with open(path, "ab") as f:
                        f.write(data)
                        f.flush()
                        if self.fsync:
                            os.fsync(f.fileno())
                    lengths[self._name(path)] += len(data)
                added[key] = len(csv_lines)
                written += len(csv_lines)
            merged = {**self.offsets, **offsets}
            self._write_checkpoint(merged, lengths, last_line)
        except OSError:
            self.rollback()
            raise
        self.offsets, self.lengths, self.last_line = merged, lengths, last_line
        for key, n in added.items():
            self.rows[key] += n
        return written, resent

    def _new_series(self, key: str, digest: str, marks: dict) -> None:
        if marks:
            log.warning("%s: rows of another data file arrived (digest %s; before: %s): the CSVs now mix two "
                        "series (to start afresh: docs/architecture.md, 'Starting afresh')",
                        self.targets[key].topic, digest, ", ".join(marks))

    def rollback(self) -> None:
        """Cut every file back to the checkpointed length (best effort: restore() does it again)."""
        for target in self.targets.values():
            for path in (target.path, target.events_path):
                try:
                    with open(path, "r+b") as f:
                        f.truncate(self.lengths[self._name(path)])
                except OSError as exc:
                    log.warning("could not cut %s back yet (%s); it is done at the next start", path, exc)

    def _write_checkpoint(self, offsets: dict[str, int], lengths: dict[str, int], last_line: dict) -> None:
        doc = {
            "version": CHECKPOINT_VERSION,
            "offsets": dict(sorted(offsets.items())),
            "lengths": dict(sorted(lengths.items())),
            "last_line": last_line,
        }
        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps(doc, indent=1))
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(tmp, self.checkpoint)
        if self.fsync:
            fsync_dir(self.output_dir)
