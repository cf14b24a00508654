"""A consumer: its topics into CSVs, each message exactly once, until SIGTERM."""
from __future__ import annotations

import logging
import signal
import threading
import time

from ..core.config import Config
from ..core.records import RowError, decode_message
from ..kafka_connection import StoppedWhileConnecting, client_options, stop_ends_connecting, unreachable_message
from ..wiring import CONSUMERS, TOPICS
from .sink import CsvSink, CsvTarget, SinkError

log = logging.getLogger("consumer")

RETRY_SECONDS = 5.0
STATS_SECONDS = 30.0
COMMIT_TIMEOUT_MS = 2000  # the commit to Kafka is for lag tools only; the checkpoint is the truth


class ConsumerError(Exception):
    """Ends the consumer with exit code 1 and this one line."""


def targets_for(cfg: Config, role: str) -> list[CsvTarget]:
    return [CsvTarget(key, cfg.topics.name(key), cfg.output_dir / TOPICS[key].csv, TOPICS[key].fields)
            for key in CONSUMERS[role].topics]


def _open_sink(sink: CsvSink, stop: threading.Event) -> dict | None:
    """Restore the sink, waiting out an unwritable or full output folder."""
    while not stop.is_set():
        try:
            return sink.restore()
        except SinkError as exc:
            raise ConsumerError(str(exc)) from None
        except OSError as exc:
            log.error("cannot prepare %s: %s; retrying every %g s", exc.filename or sink.output_dir,
                      exc.strerror or exc, RETRY_SECONDS)
            stop.wait(RETRY_SECONDS)
    return None


def _partitions(consumer, topics: list[str], stop: threading.Event) -> list:
    """All partitions of the topics, waiting (and saying so) until the topics exist."""
    from kafka import TopicPartition

    waited = 0.0
    while not stop.is_set():
        found = {t: consumer.partitions_for_topic(t) for t in topics}
        missing = [t for t, parts in found.items() if not parts]
        if not missing:
            return [TopicPartition(t, p) for t in topics for p in sorted(found[t])]
        if waited % 30 == 0:
            log.info("waiting for topic%s %s to exist on the broker", "s" if len(missing) > 1 else "",
                     ", ".join(missing))
        stop.wait(1.0)
        waited += 1
    return []


def _seek(consumer, partitions, offsets: dict[str, int]) -> None:
    fresh = []
    for tp in partitions:
        offset = offsets.get(f"{tp.topic}:{tp.partition}")
        if offset is None:
            fresh.append(tp)
        else:
            consumer.seek(tp, offset)
    if fresh:
        consumer.seek_to_beginning(*fresh)


def run(cfg: Config, role: str) -> int:
    from kafka import KafkaConsumer, OffsetAndMetadata
    from kafka.errors import KafkaError

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    targets = targets_for(cfg, role)
    key_of = {t.topic: t.key for t in targets}
    sink = CsvSink(cfg.output_dir, role, targets, fsync=cfg.consumer.fsync)
    offsets = _open_sink(sink, stop)
    if offsets is None:
        return 0
    log.info("%s: %s", role, ", ".join(f"{t.path.name} holds {sink.rows[t.key]} rows" for t in targets))

    try:
        with stop_ends_connecting(stop):
            consumer = KafkaConsumer(
                **client_options(cfg),
                group_id=f"monitoring-{role}",   # offsets are also committed here, for lag tools to see
                enable_auto_commit=False,        # the checkpoint beside the CSVs is the truth
                auto_offset_reset="earliest",
                allow_auto_create_topics=False,  # topics come from the kafka role, with their partitions
                max_poll_records=cfg.consumer.max_poll_records,
                fetch_max_wait_ms=200,
                max_partition_fetch_bytes=4 * 1024 * 1024,
            )
    except KafkaError as exc:
        raise ConsumerError(unreachable_message(cfg, exc)) from None
    except StoppedWhileConnecting:
        log.info("%s: stopped before the broker answered; nothing was read", role)
        return 0

    partitions = _partitions(consumer, [t.topic for t in targets], stop)
    if partitions:
        consumer.assign(partitions)
        _seek(consumer, partitions, offsets)
        log.info("%s: reading %d partitions of %s", role, len(partitions), ", ".join(key_of))

    bad = dupes = written = 0
    paused = False
    last_stats = last_commit = time.monotonic()
    tp_by_name = {f"{tp.topic}:{tp.partition}": tp for tp in partitions}
    while partitions and not stop.is_set():
        batch = consumer.poll(timeout_ms=cfg.consumer.poll_timeout_ms)
        fields_by_key = {t.key: [] for t in targets}
        new_offsets = {}
        for tp, records in batch.items():
            key = key_of[tp.topic]
            for rec in records:
                new_offsets[f"{tp.topic}:{tp.partition}"] = rec.offset + 1
                try:
                    fields_by_key[key].append(decode_message(key, rec.value))
                except RowError as exc:
                    bad += 1
                    if bad <= 20 or bad % 1000 == 0:
                        log.warning("skipped %s partition %d offset %d: %s (%d bad so far)",
                                    tp.topic, tp.partition, rec.offset, exc, bad)
        if new_offsets:
            try:
                w, d = sink.append(fields_by_key, new_offsets)
                written, dupes = written + w, dupes + d
                if paused:
                    paused = False
                    log.info("writing to %s again; nothing was lost", cfg.output_dir)
            except OSError as exc:
                paused = True
                log.error("cannot write %s: %s; consumption paused, nothing committed; retrying in %g s",
                          exc.filename or cfg.output_dir, exc.strerror or exc, RETRY_SECONDS)
                _seek(consumer, partitions, sink.offsets)
                stop.wait(RETRY_SECONDS)
                continue
        now = time.monotonic()
        if now - last_commit >= 5 and sink.offsets:
            last_commit = now
            _commit(consumer, OffsetAndMetadata, tp_by_name, sink.offsets)
        if now - last_stats >= STATS_SECONDS and (written or bad or dupes):
            last_stats = now
            log.info("%s: %d rows written, %d duplicates dropped, %d bad messages skipped; %s", role, written,
                     dupes, bad, ", ".join(f"{t.path.name} {sink.rows[t.key]} rows" for t in targets))

    if partitions:
        _commit(consumer, OffsetAndMetadata, tp_by_name, sink.offsets)
    consumer.close(autocommit=False)
    log.info("%s stopped: %d rows written, %d duplicates dropped, %d bad messages skipped; %s", role, written,
             dupes, bad, ", ".join(f"{t.path.name} {sink.rows[t.key]} rows" for t in targets))
    return 0


def _commit(consumer, offset_and_metadata, tp_by_name, offsets) -> None:
    try:
        # Bounded: with the broker gone (a stop, a reboot of the lab) an unbounded commit held the
        # shutdown for the whole request timeout.
        consumer.commit({tp_by_name[name]: offset_and_metadata(off, "", -1)
                         for name, off in offsets.items() if name in tp_by_name}, timeout_ms=COMMIT_TIMEOUT_MS)
    except Exception as exc:  # only for lag tools; the checkpoint already holds the truth
        log.debug("offset commit to Kafka failed: %s", exc)
