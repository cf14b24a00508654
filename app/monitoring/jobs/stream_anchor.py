"""The live window grid's anchor: the series' earliest event time t0, and its kind of ts.

The batch jobs anchor window 0 at the series' earliest event time; a stream must know it before its
first window, and Spark's window() takes its offset as a constant. So the stream job reads it once
from the first message of every partition of its two topics (the producer sends in file order, so a
partition's first message is its earliest) and keeps it in its checkpoint folder: a restart, a
reboot or a broker that dropped old segments never moves the grid.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.config import Config
from ..core.records import RowError, message_event_time
from ..core.timeline import TIME_ONLY, TimestampError, parse_ts
from ..kafka_connection import StoppedWhileConnecting, client_options, stop_ends_connecting

log = logging.getLogger("stream-job")

ANCHOR_FILE = "anchor.json"
# The log line a stream job writes once its Spark session is up and it waits for data (the tests and
# the bench wait for it).
READY_LOG = "waiting for the first messages"
LOOK_SECONDS = 0.25


@dataclass(frozen=True)
class Anchor:
    t0: int       # epoch seconds of window 0's start
    kind: str     # monitoring.core.timeline.TIME_ONLY or FULL: how window times are written


def load(folder: Path) -> Anchor | None:
    path = folder / ANCHOR_FILE
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    return Anchor(int(doc["t0"]), str(doc["kind"]))


def save(folder: Path, anchor: Anchor) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{ANCHOR_FILE}.tmp"
    with open(tmp, "w") as f:
        json.dump({"t0": anchor.t0, "kind": anchor.kind}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / ANCHOR_FILE)


def _first_record_time(record) -> tuple[int, str] | None:
    """(event time, kind) of one message, or None if it is not a usable one."""
    try:
        doc = json.loads(record.value)
        stamp = parse_ts(str(doc["ts"]).strip())
        t = message_event_time(dict(record.headers or ()))
    except (ValueError, KeyError, TypeError, RowError, TimestampError):
        return None
    return (stamp.seconds if t is None else t), stamp.kind


def discover(cfg: Config, topics: list[str], stop: threading.Event, settle_seconds: float = 2.0) -> Anchor | None:
    """Waits for the first messages on `topics`; None if stopped first. After the first one, waits
    up to `settle_seconds` for the other partitions' first messages (a replay fills them together;
    a partition no server's key falls in stays empty)."""
    from kafka import KafkaConsumer, TopicPartition

    with stop_ends_connecting(stop):
        consumer = KafkaConsumer(**client_options(cfg), enable_auto_commit=False, group_id=None,
                                 allow_auto_create_topics=False)
    try:
        # Said before the first look: the data may be there already (then the grid is anchored at once).
        log.info("%s on %s to anchor the window grid", READY_LOG, " and ".join(topics))
        seen_at = None
        while not stop.is_set():
            known = {t: sorted(consumer.partitions_for_topic(t) or ()) for t in topics}
            parts = [TopicPartition(t, p) for t in topics for p in known[t]]
            ends = consumer.end_offsets(parts) if parts else {}
            starts = consumer.beginning_offsets(parts) if parts else {}
            filled = [tp for tp in parts if ends[tp] > starts[tp]]
            if filled and seen_at is None:
                seen_at = time.monotonic()
            # Every partition of both topics has its first message (a topic not there yet has none).
            every = all(known.values()) and len(filled) == len(parts)
            if filled and (every or time.monotonic() - seen_at >= settle_seconds):
                firsts = _first_records(consumer, filled, starts)
                if firsts:
                    t0 = min(t for t, _ in firsts)
                    kind = next(k for t, k in firsts if t == t0)
                    return Anchor(t0, kind)
            # Every look is two offset requests; the data's first windows wait for the one that sees it.
            stop.wait(LOOK_SECONDS)
        return None
    finally:
        consumer.close()


def _first_records(consumer, parts, starts) -> list[tuple[int, str]]:
    consumer.assign(parts)
    for tp in parts:
        consumer.seek(tp, starts[tp])
    firsts, pending, deadline = [], set(parts), time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            if tp in pending and records:
                # The first usable message of the partition; foreign ones before it are skipped.
                usable = [r for r in (_first_record_time(rec) for rec in records) if r is not None]
                if usable:
                    firsts.append(usable[0])
                    pending.discard(tp)
                    consumer.pause(tp)
    return firsts


def anchor_for(cfg: Config, folder: Path, topics: list[str], stop: threading.Event) -> Anchor | None:
    """The kept anchor, or the one found on the topics (then kept)."""
    anchor = load(folder)
    if anchor is not None:
        return anchor
    try:
        anchor = discover(cfg, topics, stop)
    except StoppedWhileConnecting:
        return None
    if anchor is not None:
        save(folder, anchor)
        log.info("window grid anchored at event time %d (%s series)", anchor.t0,
                 "time-only" if anchor.kind == TIME_ONLY else "dated")
    return anchor
