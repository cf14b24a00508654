"""wait-caught-up: has a consumer's checkpoint reached the end of its topics?"""
from __future__ import annotations

import logging
import time

from ..core.config import Config
from ..kafka_connection import client_options, unreachable_message
from ..wiring import CONSUMERS
from .sink import checkpoint_path, data_files, read_checkpoint

log = logging.getLogger("consumer")


class NotCaughtUp(Exception):
    """The wait ended before the consumer caught up; the message says how far it got."""


def lag(end_offsets: dict[str, int], checkpointed: dict[str, int]) -> dict[str, int]:
    """Messages per partition ("topic:partition") on the broker but not yet in the CSVs."""
    return {tp: end - checkpointed.get(tp, 0) for tp, end in end_offsets.items() if end > checkpointed.get(tp, 0)}


def say_if_mixed(role: str, doc: dict) -> None:
    files = data_files(doc)
    if len(files) > 1:
        log.warning("%s: its CSVs hold the rows of %d data files (digests %s): the team CSVs will mix %d series "
                    "(to start afresh: ansible-playbook site.yml --tags reset -e reset_confirm=yes)",
                    role, len(files), ", ".join(files), len(files))


def wait(cfg: Config, role: str, timeout: float, poll: float = 2.0) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    topics = [cfg.topics.name(k) for k in CONSUMERS[role].topics]
    deadline = time.monotonic() + timeout
    # A broker that is restarting (its host rebooted) comes back within the wait: connect again
    # until the deadline; each attempt itself waits up to connect_timeout_seconds.
    while True:
        try:
            client = KafkaConsumer(**client_options(cfg), enable_auto_commit=False, allow_auto_create_topics=False)
            break
        except KafkaError as exc:
            if time.monotonic() + cfg.kafka.connect_timeout_seconds > deadline:
                raise NotCaughtUp(unreachable_message(cfg, exc)) from None
            log.warning("waiting for %s: %s", role, unreachable_message(cfg, exc))
    last_said = 0.0
    broker_error = None
    try:
        while True:
            try:
                parts = [TopicPartition(t, p) for t in topics for p in sorted(client.partitions_for_topic(t) or ())]
                ends = {f"{tp.topic}:{tp.partition}": o for tp, o in client.end_offsets(parts).items()} if parts else {}
                broker_error = None
            except KafkaError as exc:
                # A broker that has just restarted accepts connections before it serves its partitions:
                # keep asking until the deadline.
                if broker_error is None:
                    log.warning("waiting for %s: the broker does not answer yet (%s)", role, exc)
                broker_error = exc
                if time.monotonic() >= deadline:
                    raise NotCaughtUp(f"{role} has not caught up after {timeout:g} s: "
                                      f"the broker did not answer ({type(exc).__name__}: {exc})") from None
                time.sleep(poll)
                continue
            doc = read_checkpoint(checkpoint_path(cfg.output_dir, role)) or {}
            behind = lag(ends, {k: int(v) for k, v in doc.get("offsets", {}).items()})
            produced = sum(ends.values())
            if parts and produced and not behind:
                log.info("%s has caught up: all %d messages on %s are in its CSVs", role, produced, ", ".join(topics))
                say_if_mixed(role, doc)
                return 0
            now = time.monotonic()
            if now >= deadline:
                if not parts:
                    why = f"topics {', '.join(topics)} do not exist"
                elif not produced:
                    why = f"nothing has been produced to {', '.join(topics)} yet"
                else:
                    why = f"{sum(behind.values())} of {produced} messages are not in its CSVs yet " \
                          f"(is monitoring-{role}.service running? journalctl -u monitoring-{role})"
                raise NotCaughtUp(f"{role} has not caught up after {timeout:g} s: {why}")
            if now - last_said >= 15:
                last_said = now
                log.info("waiting for %s: %d of %d messages still to write", role, sum(behind.values()), produced)
            time.sleep(poll)
    finally:
        client.close()
