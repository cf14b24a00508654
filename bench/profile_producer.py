#!/usr/bin/env python3
"""Where the producer's time goes: the app's producer run in-process under cProfile, both threads.

    python -m bench.profile_producer CONFIG [--out FILE]

kafka-python works in two threads: the caller's (the app's loop: parse, encode, KafkaProducer.send,
which partitions and appends to the batch) and its own sender thread (closes batches: varints and
CRC-32C, then the socket). cProfile follows one thread, so the sender's run() gets a profiler of
its own. Both are printed (top functions by own time) and summed into a few groups. cProfile adds
its own cost to every Python call, so the absolute seconds are inflated; the shares are what count.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import re
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GROUPS = [  # first match wins: (group, substring of "file:function")
    ("idle: the sender thread waiting in epoll", "select.epoll"),
    ("network: selector, sockets, protocol", "_socket.socket"),
    ("locks and waits", "_thread.lock"),
    ("CRC-32C (pure Python: no crc32c C module)", "_crc32c.py"),
    ("murmur2 partitioning (pure Python)", "partitioner/"),
    ("record batch encoding (varints, headers)", "kafka/record/"),
    ("accumulator, batches, futures", "kafka/producer/record_accumulator.py"),
    ("accumulator, batches, futures", "kafka/producer/producer_batch.py"),
    ("accumulator, batches, futures", "kafka/producer/future.py"),
    ("accumulator, batches, futures", "kafka/future.py"),
    ("KafkaProducer.send bookkeeping", "kafka/producer/kafka.py"),
    ("network: selector, sockets, protocol", "kafka/net/"),
    ("network: selector, sockets, protocol", "kafka/protocol/"),
    ("network: selector, sockets, protocol", "selectors.py"),
    ("network: selector, sockets, protocol", "socket"),
    ("sender loop, metadata, other kafka", "kafka/"),
    ("the app: read and parse the CSV", "producer/sources.py"),
    ("the app: read and parse the CSV", "csv"),
    ("the app: JSON messages", "json/"),
    ("the app: JSON messages, row checks", "pipeline/"),
    ("the app: send loop and callbacks", "monitoring/producer/publisher.py"),
    ("locks and waits", "threading.py"),
    ("locks and waits", "acquire"),
    ("locks and waits", "wait"),
]


def _group(stats: pstats.Stats) -> dict[str, float]:
    out: dict[str, float] = {}
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        name = f"{file}:{func}"
        group = next((g for g, s in GROUPS if s in name), "other (interpreter, builtins)")
        out[group] = out.get(group, 0.0) + tt
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import logging

    logging.basicConfig(level=logging.WARNING)
    from kafka.producer import sender as sender_mod
    from monitoring.config_file import load_config
    from monitoring.producer import publisher as app_producer

    profiles: dict[str, cProfile.Profile] = {}
    original_run = sender_mod.Sender.run

    def profiled_run(self):
        prof = profiles.setdefault("sender thread (kafka-python)", cProfile.Profile())
        prof.enable()
        try:
            return original_run(self)
        finally:
            prof.disable()

    sender_mod.Sender.run = profiled_run
    cfg = load_config(args.config)
    p = cfg.producer
    main_prof = profiles.setdefault("main thread (the app's loop, KafkaProducer.send)", cProfile.Profile())
    t0 = time.monotonic()
    main_prof.enable()
    app_producer.run(cfg, source="file", mode="fast", rate=p.rate, speedup=p.speedup,
                     interval=p.live_interval_seconds, data_file=cfg.data_file)
    main_prof.disable()
    wall = time.monotonic() - t0

    text = io.StringIO()
    text.write(f"# producer profile: {cfg.data_file.name}, {wall:.2f} s wall under cProfile "
               f"(linger_ms={p.linger_ms}, batch_size={p.batch_size}, compression={p.compression})\n\n")
    shares = {}
    for name, prof in profiles.items():
        stats = pstats.Stats(prof)
        groups = _group(stats)
        total = sum(groups.values()) or 1.0
        shares[name] = {g: round(v / total, 3) for g, v in sorted(groups.items(), key=lambda kv: -kv[1])}
        text.write(f"## {name}: {total:.2f} s of own time\n\n")
        for g, v in sorted(groups.items(), key=lambda kv: -kv[1]):
            text.write(f"  {100 * v / total:5.1f}%  {v:6.2f} s  {g}\n")
        text.write("\n")
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(18)
        body = buf.getvalue()
        text.write(body[body.find("   ncalls"):] + "\n")
    # Paths as the reader's checkout has them: the repository's relative, the libraries' from site-packages.
    result = re.sub(r"\S*/site-packages/", "site-packages/", text.getvalue().replace(str(ROOT) + "/", ""))
    if args.out:
        Path(args.out).write_text(result)
        import json

        Path(args.out).with_suffix(".json").write_text(json.dumps({"wall_s": wall, "shares": shares}, indent=1))
    else:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
