"""`monitoring alerts`: follow the alerts topic in a terminal, one line per alert as it comes.

A reader may see an alert twice: the stream job publishes a micro-batch's alerts before it records
the batch as written, so a job killed in between publishes them again after its restart, as the
same key and the same bytes (monitoring.core.alert_messages). This follower drops such a repeat
(it remembers the values it printed); other readers do the same by (job, server_id, window_start,
window_end) or by the whole value.
"""
from __future__ import annotations

import logging
import sys
import threading

from .core import alert_messages
from .core.config import Config
from .kafka_connection import StoppedWhileConnecting, client_options, stop_ends_connecting, unreachable_message

log = logging.getLogger("alerts")


class AlertsError(Exception):
    """Ends the command with exit code 1 and this one line."""


def follow(cfg: Config, from_beginning: bool, out=None, stop: threading.Event | None = None) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    out = out or sys.stdout
    stop = stop or threading.Event()
    topic = cfg.topics.alerts
    try:
        with stop_ends_connecting(stop):
            consumer = KafkaConsumer(**client_options(cfg), group_id=None, enable_auto_commit=False,
                                     allow_auto_create_topics=False)
    except KafkaError as exc:
        raise AlertsError(unreachable_message(cfg, exc)) from None
    except StoppedWhileConnecting:
        return 0
    printed, seen = set(), 0
    try:
        parts = None
        while not stop.is_set() and not parts:
            parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not parts:
                log.info("waiting for the topic %s to exist", topic)
                stop.wait(2.0)
        if stop.is_set():
            return 0
        consumer.assign(parts)
        (consumer.seek_to_beginning if from_beginning else consumer.seek_to_end)(*parts)
        log.info("following %s%s", topic, " from its beginning" if from_beginning else "")
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=500).values():
                for rec in records:
                    if rec.value in printed:
                        continue
                    try:
                        doc = alert_messages.decode(rec.value)
                    except ValueError:
                        log.warning("skipped %s partition %d offset %d: not an alert message", topic,
                                    rec.partition, rec.offset)
                        continue
                    printed.add(rec.value)
                    seen += 1
                    out.write(alert_messages.line(doc) + "\n")
                    out.flush()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
        log.info("%d alerts", seen)
    return 0
