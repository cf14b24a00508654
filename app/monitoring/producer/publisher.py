"""The producer: rows from the data file (or this machine) to the four topics, durably."""
from __future__ import annotations

import collections
import logging
import signal
import threading
import time
from dataclasses import dataclass

from ..core.config import Config
from ..core.records import RowError, encode_messages, message_headers
from ..core.timeline import SeriesClock
from ..kafka_connection import StoppedWhileConnecting, client_options, stop_ends_connecting, unreachable_message
from ..wiring import TOPIC_KEYS
from .sources import DataFileError, LiveSampler, file_digest, file_rows

log = logging.getLogger("producer")


class ProducerError(Exception):
    """Ends the run with exit code 1 and this one line."""


@dataclass
class Counts:
    read: int = 0
    rejected: int = 0
    sent: int = 0
    acked: int = 0
    failed: int = 0
    first_error: str = ""


def key_hash_partitioner():
    """Kafka's default partitioner (murmur2 of the key, as the Java client) with each key's hash
    remembered: a data file names few servers, and kafka-python's pure-Python murmur2 took about a
    seventh of the send path (bench/results.md). It picks exactly the partitions the default picks."""
    from kafka.partitioner import DefaultPartitioner
    from kafka.partitioner.default import murmur2

    class KeyHashPartitioner(DefaultPartitioner):
        MAX_KEYS = 100_000  # distinct keys remembered; the memo starts over beyond that

        def __init__(self):
            self.hashes = {}

        def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
            parts = cluster.partitions_for_topic(topic) if serialized_key is not None else None
            if not parts:  # no key, or an unknown topic: the default's own handling
                return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
            h = self.hashes.get(serialized_key)
            if h is None:
                if len(self.hashes) >= self.MAX_KEYS:
                    self.hashes.clear()
                h = self.hashes[serialized_key] = murmur2(serialized_key) & 0x7FFFFFFF
            return sorted(parts)[h % len(parts)]

    return KeyHashPartitioner()


def make_producer(cfg: Config):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    p = cfg.producer
    try:
        return KafkaProducer(
            **client_options(cfg),
            acks="all",                      # durable: every in-sync replica has it
            enable_idempotence=True,         # a retried batch is never written twice
            retries=2**31 - 1,               # bounded by delivery_timeout_ms instead
            delivery_timeout_ms=300_000,     # rides out a broker restart
            max_block_ms=int(cfg.kafka.connect_timeout_seconds * 1000),
            linger_ms=p.linger_ms,
            batch_size=p.batch_size,
            compression_type=None if p.compression == "none" else p.compression,
            max_in_flight_requests_per_connection=5,
            partitioner=key_hash_partitioner(),  # the default's partitions, each key hashed once
        )
    except KafkaError as exc:
        raise ProducerError(unreachable_message(cfg, exc)) from None


class Pacer:
    """Sleeps so rows go out as fast as possible, at a fixed rate, or at the pace of their event time."""

    def __init__(self, mode: str, rate: float, speedup: float, stop: threading.Event):
        self.mode, self.rate, self.speedup, self.stop = mode, rate, speedup, stop
        self.started = time.monotonic()
        self.first_time: int | None = None
        self.count = 0

    def wait_for(self, event_time: int) -> None:
        if self.mode == "fast":
            return
        if self.mode == "rate":
            due = self.started + self.count / self.rate
            self.count += 1
        else:
            if self.first_time is None:
                self.first_time = event_time
            due = self.started + (event_time - self.first_time) / self.speedup
        delay = due - time.monotonic()
        if delay > 0:
            self.stop.wait(delay)


def run(cfg: Config, source: str, mode: str, rate: float, speedup: float, interval: float, data_file) -> int:
    """Publish every row; return the exit code (0 all acknowledged, 1 otherwise)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    if source == "file":
        rows = _file_source(data_file)
        next(rows)  # opens the file now, so a missing file fails before connecting
        # Each message names its data file and line: a re-run of the same file adds nothing.
        digest = file_digest(data_file)
    else:
        rows = _live_source(interval, stop)
        digest = None
    clock = SeriesClock()

    try:
        with stop_ends_connecting(stop):
            producer = make_producer(cfg)
    except StoppedWhileConnecting:
        log.info("stopped before the broker answered; nothing was sent")
        return 0
    counts = Counts()
    # Futures in send order, counted once done: cheaper than two callbacks per message (the send
    # loop is the producer's bottleneck, bench/results.md).
    pending = collections.deque()

    def settle() -> None:
        while pending and pending[0].is_done:
            exc = pending.popleft().exception
            if exc is None:
                counts.acked += 1
            else:
                counts.failed += 1
                counts.first_error = counts.first_error or f"{type(exc).__name__}: {exc}"

    topics = [(k, cfg.topics.name(k)) for k in TOPIC_KEYS]
    pacer = Pacer(mode, rate, speedup, stop)
    started = last_progress = time.monotonic()
    log.info("publishing %s to %s (mode %s)", data_file if source == "file" else "live samples",
             ", ".join(cfg.kafka.bootstrap_servers), mode if source == "file" else f"every {interval:g} s")
    try:
        for line_no, row in rows:
            if stop.is_set():
                break
            counts.read += 1
            if isinstance(row, RowError):
                counts.rejected += 1
                log.warning("line %d rejected: %s", line_no, row)
                continue
            event_time = clock.event_time(row.stamp)
            pacer.wait_for(event_time)
            key = row.server_id.encode()
            values = encode_messages(row)
            headers = message_headers(event_time, (digest, line_no) if digest else None)
            for topic_key, topic in topics:
                pending.append(producer.send(topic, key=key, value=values[topic_key], headers=headers))
            counts.sent += len(topics)
            settle()
            now = time.monotonic()
            if now - last_progress >= cfg.producer.progress_seconds:
                last_progress = now
                log.info("progress: %d rows read, %d rejected, %d messages acknowledged, %.0f rows/s",
                         counts.read, counts.rejected, counts.acked, counts.read / (now - started))
    finally:
        producer.flush()
    producer.close(timeout=30)
    settle()  # every future is done after flush()

    elapsed = max(time.monotonic() - started, 1e-9)
    good = counts.read - counts.rejected
    log.info("done: %d rows read, %d rejected, %d messages acknowledged of %d sent in %.1f s (%.0f rows/s, %.0f msg/s)%s",
             counts.read, counts.rejected, counts.acked, counts.sent, elapsed, good / elapsed,
             counts.acked / elapsed, " (stopped early)" if stop.is_set() else "")
    if source == "file" and counts.read == 0:
        log.warning("the data file %s holds no data rows: nothing was sent", data_file)
    if counts.failed:
        raise ProducerError(f"{counts.failed} of {counts.sent} messages were not acknowledged "
                            f"(first: {counts.first_error}); running the producer again is safe")
    return 0


def _file_source(path):
    gen = file_rows(path)
    try:
        first = next(gen)
    except StopIteration:
        yield None  # the open succeeded and the file is empty
        return
    except DataFileError as exc:
        raise ProducerError(str(exc)) from None
    yield None
    yield first
    try:
        yield from gen
    except DataFileError as exc:
        raise ProducerError(str(exc)) from None


def _live_source(interval: float, stop: threading.Event):
    sampler = LiveSampler(interval)
    log.info("live source: sampling %s every %g s (%s)", sampler.server_id, interval, sampler.basis)
    n = 0
    while not stop.wait(interval):
        n += 1
        yield n, sampler.sample()
