#!/usr/bin/env python3
"""Where a Spark job's time goes: spark-job1's steps, one after the other, each timed.

    python bench/spark_phases.py CONFIG      prints one JSON line: phase -> seconds

It calls the job's own functions from app/spark-jobs/windowed_job.py (_check_inputs, _distinct_ts,
_timeline, _session, _read_both, _result_plan, _write_atomically) in the order run() does, so the
driver's steps and the one Spark action are timed apart. The few lines of run() that only build the plan are repeated here; if
run() changes, change them too (the bench compares the output with the real job's).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "app"), str(ROOT / "app" / "spark-jobs")]
T0 = time.monotonic()


def main(argv) -> int:
    phases = {}
    last = [T0]

    def mark(name):
        now = time.monotonic()
        phases[name] = round(now - last[0], 3)
        last[0] = now

    from pipeline.config import load_config

    import spark_job1
    import windowed_job as w

    cfg = load_config(argv[0])
    spec = spark_job1.SPEC
    mark("python start and imports")
    paths = w._check_inputs(cfg, spec)
    windows, times = w._timeline(w._distinct_ts(paths), cfg)
    mark("distinct ts read by the driver, timeline")
    spark = w._session(cfg, cfg.spark.master)
    mark("session start (JVM, SparkContext)")
    try:
        from pyspark.sql import Observation

        rows = w._read_both(spark, paths, spec)
        mark("read plan (schema, file listing)")
        result = w._result_plan(spark, rows, spec, cfg, windows, times, Observation("skipped"))
        mark("plan of the result (inline tables of the timeline)")
        out = cfg.output_dir / ".phases_out.csv"
        w._write_atomically(result, out)
        out.unlink()
        mark("the action: aggregate, join, sort, write one CSV")
    finally:
        spark.stop()
    mark("session stop")
    phases["total"] = round(time.monotonic() - T0, 3)
    print(json.dumps(phases))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
