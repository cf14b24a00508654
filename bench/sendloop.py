#!/usr/bin/env python3
"""An instrumented copy of the app's send loop: the same producer, pacing and messages, plus a clock.

    python -m bench.sendloop CONFIG --mode rate --rate 1000 --stamps OUT.json

It imports everything from the app (make_producer, Pacer, SeriesClock, file_rows, encode_messages,
message_headers) and repeats only the loop of producer.run(), adding one time.monotonic() just
before each send(). The stamps (topic key, ts, server_id -> seconds on CLOCK_MONOTONIC, which every
process on the machine shares) and, per row, (event time, the first send()'s seconds) are written
to OUT.json at the end, so the bench can subtract them from the moment a row appears in a consumer
CSV, or a window in a live CSV. The messages are the app's own, headers included.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path



def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--mode", default="rate", choices=("fast", "rate", "replay"))
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--speedup", type=float, default=1.0)
    ap.add_argument("--stamps", required=True)
    args = ap.parse_args(argv)

    from monitoring.config_file import load_config
    from monitoring.core.records import RowError, encode_messages, message_headers
    from monitoring.core.timeline import SeriesClock
    from monitoring.producer.publisher import Pacer, make_producer
    from monitoring.producer.sources import file_digest, file_rows
    from monitoring.wiring import TOPIC_KEYS

    cfg = load_config(args.config)
    rows = file_rows(cfg.data_file)
    digest, series = file_digest(cfg.data_file), SeriesClock()
    producer = make_producer(cfg)
    for key in TOPIC_KEYS:            # as the app's first sends do, but before the clock starts
        producer.partitions_for(cfg.topics.name(key))
    stop = threading.Event()
    acked = failed = 0
    lock = threading.Lock()

    def on_ack(_meta):
        nonlocal acked
        with lock:
            acked += 1

    def on_error(_exc):
        nonlocal failed
        with lock:
            failed += 1

    stamps = []                       # (topic key, ts, server_id, monotonic seconds at send())
    sent_rows = []                    # (event time, monotonic seconds at the row's first send())
    clock = time.monotonic
    pacer = Pacer(args.mode, args.rate, args.speedup, stop)
    started = clock()
    try:
        for line_no, row in rows:
            if isinstance(row, RowError):
                continue
            event_time = series.event_time(row.stamp)
            pacer.wait_for(event_time)
            key = row.server_id.encode()
            values = encode_messages(row)
            headers = message_headers(event_time, (digest, line_no))
            sent_rows.append((event_time, clock()))
            for topic_key in TOPIC_KEYS:
                value = values[topic_key]
                stamps.append((topic_key, row.ts, row.server_id, clock()))
                future = producer.send(cfg.topics.name(topic_key), key=key, value=value, headers=headers)
                future.add_callback(on_ack)
                future.add_errback(on_error)
    finally:
        producer.flush()
    producer.close(timeout=30)
    elapsed = clock() - started
    Path(args.stamps).write_text(json.dumps({"started": started, "elapsed": elapsed, "acked": acked,
                                             "failed": failed, "stamps": stamps,
                                             "rows": sent_rows}))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
