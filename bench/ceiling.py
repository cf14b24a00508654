#!/usr/bin/env python3
"""kafka-python's own ceiling: the app's KafkaProducer (same options) sending messages made beforehand.

    python -m bench.ceiling CONFIG     prints one JSON line

The messages (topic, key, value) of the config's data file are built first, outside the timing.
Then only producer.send() for each (no parsing, no JSON, no callbacks) and flush() are timed: what
the library can do at best on this machine with the app's settings.
"""
from __future__ import annotations

import json
import sys
import time



def main(argv) -> int:
    from monitoring.config_file import load_config
    from monitoring.core.records import RowError, encode_messages
    from monitoring.producer.publisher import make_producer
    from monitoring.producer.sources import file_rows
    from monitoring.wiring import TOPIC_KEYS

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
