"""CSV files that take each message exactly once, across crashes, restarts and full disks.

The checkpoint file beside the CSVs is the truth: for each partition the next offset to read,
for each CSV its length in bytes when those offsets were reached. A batch is appended and
fsynced, then the checkpoint is replaced atomically. After a crash the CSVs are cut back to the
checkpoint's lengths (a torn or unrecorded tail goes; it is read again from Kafka) and reading
resumes at the checkpoint's offsets. Rows are also de-duplicated by (ts, server_id), so a
producer run twice over the same data cannot double a row.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.records import csv_line

log = logging.getLogger("consumer")
CHECKPOINT_VERSION = 1


class SinkError(Exception):
    """The output folder holds something the sink must not touch (a foreign CSV, say)."""


@dataclass(frozen=True)
class CsvTarget:
    key: str             # topic key: cpu, mem, net, disk
    topic: str           # its Kafka topic name
    path: Path
    header: tuple


def checkpoint_path(output_dir: Path, role: str) -> Path:
    return output_dir / f".{role}.checkpoint.json"


def read_checkpoint(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("checkpoint %s unreadable (%s): starting over, duplicates are filtered", path, exc)
        return None
    if not isinstance(doc, dict) or doc.get("version") != CHECKPOINT_VERSION:
        log.warning("checkpoint %s has an unknown format: starting over, duplicates are filtered", path)
        return None
    return doc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CsvSink:
    def __init__(self, output_dir: Path, role: str, targets: list[CsvTarget], fsync: bool = True):
        self.output_dir = output_dir
        self.checkpoint = checkpoint_path(output_dir, role)
        self.targets = {t.key: t for t in targets}
        self.fsync = fsync
        self.offsets: dict[str, int] = {}     # "topic:partition" -> next offset, as checkpointed
        self.lengths: dict[str, int] = {}     # key -> CSV length in bytes, as checkpointed
        self.seen: dict[str, set] = {}        # key -> {"ts,server_id"} already in the CSV
        self.rows: dict[str, int] = {}        # key -> data rows in the CSV

    # -- start-up ------------------------------------------------------------------------------

    def restore(self) -> dict[str, int]:
        """Bring the CSVs back to the last checkpoint; return the offsets to resume from."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        doc = read_checkpoint(self.checkpoint) or {"offsets": {}, "lengths": {}}
        offsets = {k: int(v) for k, v in doc.get("offsets", {}).items()}
        for key, target in self.targets.items():
            recorded = doc.get("lengths", {}).get(target.path.name)
            if not self._restore_file(target, recorded):
                # The file lost rows the checkpoint counted: read its topic again from the start.
                offsets = {tp: o for tp, o in offsets.items() if not tp.startswith(target.topic + ":")}
        topics = {t.topic for t in self.targets.values()}
        self.offsets = {tp: o for tp, o in offsets.items() if tp.rsplit(":", 1)[0] in topics}
        self._write_checkpoint(self.offsets, self.lengths)
        return dict(self.offsets)

    def _restore_file(self, target: CsvTarget, recorded: int | None) -> bool:
        header = csv_line(target.header).encode()
        path = target.path
        if not path.exists():
            if recorded:
                log.warning("%s is gone although the checkpoint counted %d bytes: reading %s again from the start",
                            path, recorded, target.topic)
            self._create(path, header)
            self._load(target, header)
            return not recorded
        with open(path, "rb") as f:
            first = f.readline()
        if first and first != header:
            raise SinkError(f"{path} does not start with the header {header.decode().strip()!r}: "
                            f"move it away so the consumer can start it afresh")
        size = path.stat().st_size
        intact = True
        if recorded is None:
            keep = self._complete_length(path, len(header))
        elif size >= recorded:
            keep = recorded
        else:
            log.warning("%s is shorter than its checkpoint (%d < %d bytes; was it edited?): "
                        "reading %s again from the start", path, size, recorded, target.topic)
            keep, intact = self._complete_length(path, len(header)), False
        if keep < size:
            log.info("%s: dropping %d bytes written after the last checkpoint; they are read again",
                     path.name, size - keep)
            with open(path, "r+b") as f:
                f.truncate(keep)
                os.fsync(f.fileno())
        if not first:
            self._create(path, header)
        self._load(target, header)
        return intact

    def _create(self, path: Path, header: bytes) -> None:
        with open(path, "wb") as f:
            f.write(header)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(path.parent)

    @staticmethod
    def _complete_length(path: Path, minimum: int) -> int:
        """The length up to the last complete line (a torn last line is not kept)."""
        data = path.read_bytes()
        return max(minimum, data.rfind(b"\n") + 1)

    def _load(self, target: CsvTarget, header: bytes) -> None:
        seen, rows = set(), 0
        with open(target.path, "rb") as f:
            f.readline()
            for line in f:
                seen.add(_dedup_key(line.decode()))
                rows += 1
        self.seen[target.key], self.rows[target.key] = seen, rows
        self.lengths[target.key] = target.path.stat().st_size

    # -- a batch -------------------------------------------------------------------------------

    def append(self, fields_by_key: dict[str, list[tuple]], offsets: dict[str, int]) -> tuple[int, int]:
        """Append a batch and checkpoint it; returns (rows written, duplicates dropped).

        On OSError nothing of the batch counts: the files are cut back to the last checkpoint and
        the error propagates, so the caller re-reads the batch once writing works again.
        """
        written = dupes = 0
        lengths = dict(self.lengths)
        added: dict[str, list[str]] = {}
        try:
            for key, rows in fields_by_key.items():
                if not rows:
                    continue
                seen, fresh, keys = self.seen[key], [], []
                batch_keys = set()
                for fields in rows:
                    k = f"{fields[0]},{fields[1]}"
                    if k in seen or k in batch_keys:
                        dupes += 1
                        continue
                    batch_keys.add(k)
                    keys.append(k)
                    fresh.append(csv_line(fields))
                if not fresh:
                    continue
                data = "".join(fresh).encode()
                with open(self.targets[key].path, "ab") as f:
                    f.write(data)
                    f.flush()
                    if self.fsync:
                        os.fsync(f.fileno())
                lengths[key] = self.lengths[key] + len(data)
                added[key] = keys
                written += len(fresh)
            merged = {**self.offsets, **offsets}
            self._write_checkpoint(merged, lengths)
        except OSError:
            self.rollback()
            raise
        self.offsets, self.lengths = merged, lengths
        for key, keys in added.items():
            self.seen[key].update(keys)
            self.rows[key] += len(keys)
        return written, dupes

    def rollback(self) -> None:
        """Cut every CSV back to the checkpointed length (best effort: restore() does it again)."""
        for key, target in self.targets.items():
            try:
                with open(target.path, "r+b") as f:
                    f.truncate(self.lengths[key])
            except OSError as exc:
                log.warning("could not cut %s back yet (%s); it is done at the next start", target.path, exc)

    def _write_checkpoint(self, offsets: dict[str, int], lengths: dict[str, int]) -> None:
        doc = {
            "version": CHECKPOINT_VERSION,
            "offsets": dict(sorted(offsets.items())),
            "lengths": {self.targets[k].path.name: n for k, n in sorted(lengths.items())},
        }
        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps(doc, indent=1))
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(tmp, self.checkpoint)
        if self.fsync:
            _fsync_dir(self.output_dir)


def _dedup_key(line: str) -> str:
    first = line.find(",")
    second = line.find(",", first + 1)
    return line[:second] if second > 0 else line.rstrip("\n")
