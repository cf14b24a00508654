#!/usr/bin/env python3
"""make bench: the pipeline's benchmarks on this machine, one part after the other.

    .venv/bin/python -m bench.run [--runs 3] [--parts producer,ingest,spark,lab] [--lab 0|1]

Parts (see each module's docstring for the method):
  producer  bench/producer_bench.py  the app's producer vs Kafka's ProducerPerformance, same broker
  ingest    bench/ingest_bench.py    producer start -> all rows in the four CSVs; paced per-row delay
  spark     bench/spark_bench.py     both Spark jobs on 28,800 / 288,000 / 2,880,000 rows vs the floor
  spark-series bench/spark_series_bench.py  both jobs by distinct timestamps: 3 days at 1 s, 28.8 M rows
  live      bench/live_bench.py      the stream jobs: alert latency, the highest rate kept up with, memory
  lab       bench/lab_bench.py       site.yml on fresh lab hosts, then the no-change run (root; optional)

Writes bench/results.json (every run's numbers), bench/results.md (the table) and
bench/spark_scaling.png. A part left out keeps its previous results (from results.json), marked
with the time it was measured. Scratch files go to bench/work/ (ignored by git).
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time

from bench.common import BENCH, ROOT, WORK, Broker, load_average, log

PARTS = ("producer", "ingest", "spark", "spark-series", "live", "lab")
RESULTS = BENCH / "results.json"


def machine() -> dict:
    import os
    import subprocess

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return {"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "java": java[0] if java else "?", "kernel": platform.release(),
            "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (the median is reported; >= 3)")
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    ap.add_argument("--lab", type=int, default=1, help="0 skips the lab part (as BENCH_LAB=0)")
    ap.add_argument("--lab-nochange-runs", type=int, default=None, help="no-change site.yml runs (default --runs)")
    ap.add_argument("--paced-rate", type=float, default=1000.0, help="rows/s of the paced delay runs")
    ap.add_argument("--paced-rows", type=int, default=10_000, help="rows sent in each paced delay run")
    ap.add_argument("--spark-servers", default="20,200,2000", help="generator --servers for the Spark sizes")
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    lab_left_out = not args.lab and "lab" in parts
    if lab_left_out:
        parts.remove("lab")

    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results = {"generated": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": args.runs, "machine": machine(),
               "load_start": load_average(), "parts_run": parts, "parts": dict(previous.get("parts", {}))}
    if lab_left_out and "lab" not in results["parts"]:
        # Only when there is no earlier lab measurement: a bench of other parts keeps it, as it keeps theirs.
        results["parts"]["lab"] = {"skipped": "BENCH_LAB=0", "at": results["generated"]}
    log(f"load at start: {results['load_start']['uptime']}")
    t_start = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)

    def done(name: str, value: dict, seconds: float) -> None:
        value["at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        value["part_seconds"] = round(seconds, 1)
        value["runs"] = args.runs
        results["parts"][name] = value
        save(results)  # after each part: an interrupted bench keeps what it measured

    kafka_parts = [p for p in parts if p in ("producer", "ingest", "live")]
    if kafka_parts:
        broker_dir = WORK / "kafka"
        shutil.rmtree(broker_dir, ignore_errors=True)
        with Broker(broker_dir) as broker:
            log(f"broker up on {broker.bootstrap} in {broker.kafka.last_start_seconds:.1f} s")
            if "producer" in parts:
                from bench import producer_bench

                t = time.monotonic()
                done("producer", producer_bench.run(broker, WORK / "producer", args.runs), time.monotonic() - t)
            if "ingest" in parts:
                from bench import ingest_bench

                t = time.monotonic()
                done("ingest", ingest_bench.run(broker, WORK / "ingest", args.runs, rate=args.paced_rate,
                                                paced_rows=args.paced_rows), time.monotonic() - t)
            if "live" in parts:
                from bench import live_bench

                t = time.monotonic()
                done("live", live_bench.run(broker, WORK / "live", args.runs), time.monotonic() - t)
        shutil.rmtree(broker_dir, ignore_errors=True)
    if "spark" in parts:
        from bench import spark_bench

        t = time.monotonic()
        servers = [int(s) for s in args.spark_servers.split(",")]
        done("spark", spark_bench.run(WORK / "spark", args.runs, servers), time.monotonic() - t)
    if "spark-series" in parts:
        from bench import spark_series_bench

        t = time.monotonic()
        done("spark-series", spark_series_bench.run(WORK / "spark-series", args.runs), time.monotonic() - t)
    if "lab" in parts:
        from bench import lab_bench

        t = time.monotonic()
        done("lab", lab_bench.run(args.lab_nochange_runs or args.runs), time.monotonic() - t)

    results["load_end"] = load_average()
    results["bench_seconds"] = round(time.monotonic() - t_start, 1)
    save(results)
    log(f"load at end: {results['load_end']['uptime']}; {results['bench_seconds']:.0f} s in all")
    log(f"wrote {RESULTS.relative_to(ROOT)}, bench/results.md, bench/spark_scaling.png")
    return 0


def save(results: dict) -> None:
    from bench import report

    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    report.write(results)


if __name__ == "__main__":
    sys.exit(main())
