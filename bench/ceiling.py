#!/usr/bin/env python3
"""kafka-python's own ceiling: the app's KafkaProducer (same options) sending messages made beforehand.

    python bench/ceiling.py CONFIG     prints one JSON line

The messages (topic, key, value) of the config's data file are built first, outside the timing.
Then only producer.send() for each (no parsing, no JSON, no callbacks) and flush() are timed: what
the library can do at best on this machine with the app's settings.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "app")]


def main(argv) -> int:
    from pipeline.config import load_config
    from pipeline.records import RowError, encode_messages
    from producer.producer import TOPIC_KEYS, make_producer
    from producer.sources import file_rows

    cfg = load_config(argv[0])
    topics = {k: cfg.topics.name(k) for k in TOPIC_KEYS}
    messages = [(topics[k], row.server_id.encode(), value)
                for _, row in file_rows(cfg.data_file) if not isinstance(row, RowError)
                for k, value in encode_messages(row).items()]
    producer = make_producer(cfg)
    for t in topics.values():          # metadata of every topic first: not part of the sending
        producer.partitions_for(t)
    t0 = time.monotonic()
    send = producer.send
    for topic, key, value in messages:
        send(topic, key=key, value=value)
    producer.flush()
    seconds = time.monotonic() - t0
    producer.close(timeout=30)
    print(json.dumps({"messages": len(messages), "seconds": seconds, "msgs_per_s": len(messages) / seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
