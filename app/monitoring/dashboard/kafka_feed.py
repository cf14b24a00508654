"""The dashboard's Kafka reader: a viewer, never a member of a consumer group.

A daemon thread connects with the app's client options (with sasl_scram, as the dashboard's own
reader user), assigns every partition of the four metric topics and of the alerts topic, seeks each
to a recent position (state.start_offset: the records sent in the last minutes, at least the last
few; the alerts topic's last alerts) and hands each record to the web app through a queue, which the
app drains on its own loop (the board is touched by one thread only). group_id is None: no group is
joined and nothing is committed, so the consumers' offsets and lag are untouched. A topic that does
not exist yet (the alerts topic without the live path) is looked for again every REFRESH_SECONDS.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from ..core.config import Config
from ..kafka_connection import client_options, unreachable_message
from ..wiring import TOPIC_KEYS
from .state import start_offset

log = logging.getLogger("dashboard")
RETRY_SECONDS = 10        # after a failed connection
REFRESH_SECONDS = 30      # between looks for topics not there yet
ALERTS_BACK = 200         # records of each alerts partition read at the start (the latest alerts)

# What the queue carries, as tuples whose first item is one of these.
READY = "ready"           # (READY, fresh connection?, alerts topic assigned?)
METRIC = "metric"         # (METRIC, topic key, value, headers as a dict)
ALERT = "alert"           # (ALERT, value)
DOWN = "down"             # (DOWN, one line: why Kafka is not read)


class KafkaFeed:
    def __init__(self, cfg: Config, history_seconds: int):
        self.cfg = cfg
        self.history_seconds = history_seconds
        self.keys = {cfg.topics.name(k): k for k in TOPIC_KEYS}     # metric topic name -> its key
        self.alerts_topic = cfg.topics.alerts
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-kafka", daemon=True)

    def start(self) -> "KafkaFeed":
        self._thread.start()
        return self

    def _run(self) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        while not self.stop.is_set():
            try:
                consumer = KafkaConsumer(**client_options(self.cfg), group_id=None, enable_auto_commit=False,
                                         allow_auto_create_topics=False)
            except KafkaError as exc:
                self.events.put((DOWN, unreachable_message(self.cfg, exc)))
                self.stop.wait(RETRY_SECONDS)
                continue
            except OSError as exc:      # the password file
                self.events.put((DOWN, f"cannot log in to Kafka: {exc}"))
                self.stop.wait(RETRY_SECONDS)
                continue
            try:
                self._follow(consumer)
            except KafkaError as exc:
                self.events.put((DOWN, f"lost Kafka ({type(exc).__name__}: {exc}); connecting again"))
                self.stop.wait(RETRY_SECONDS)
            finally:
                consumer.close()

    def _partitions(self, consumer) -> set:
        from kafka import TopicPartition

        return {TopicPartition(topic, p) for topic in (*self.keys, self.alerts_topic)
                for p in (consumer.partitions_for_topic(topic) or ())}

    def _seek(self, consumer, parts: set) -> None:
        parts = sorted(parts)
        begin, end = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
        since = int((time.time() - self.history_seconds) * 1000)
        metric = [p for p in parts if p.topic in self.keys]
        recent = consumer.offsets_for_times({p: since for p in metric}) if metric else {}
        for p in parts:
            if p.topic in self.keys:
                found = recent.get(p)
                start = start_offset(begin[p], end[p], found.offset if found else None)
            else:
                start = max(begin[p], end[p] - ALERTS_BACK)
            consumer.seek(p, start)

    def _follow(self, consumer) -> None:
        assigned: set = set()
        look_again = 0.0
        while not self.stop.is_set():
            if time.monotonic() >= look_again:
                look_again = time.monotonic() + REFRESH_SECONDS
                new = self._partitions(consumer) - assigned
                if any(p.topic in self.keys for p in assigned | new) and new:
                    consumer.assign(sorted(assigned | new))
                    self._seek(consumer, new)
                    fresh, assigned = not assigned, assigned | new
                    has_alerts = any(p.topic == self.alerts_topic for p in assigned)
                    log.info("reading %s from Kafka (%d partitions; no group, nothing committed)",
                             ", ".join(sorted({p.topic for p in assigned})), len(assigned))
                    self.events.put((READY, fresh, has_alerts))
                elif not assigned:
                    self.events.put((DOWN, f"waiting for the topics {', '.join(self.keys)} to exist"))
                    look_again = time.monotonic() + 2
            if not assigned:
                self.stop.wait(0.5)
                continue
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                for rec in records:
                    if rec.topic in self.keys:
                        self.events.put((METRIC, self.keys[rec.topic], rec.value, dict(rec.headers or ())))
                    else:
                        self.events.put((ALERT, rec.value))
