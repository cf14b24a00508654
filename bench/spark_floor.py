#!/usr/bin/env python3
"""The floor under every Spark job, and the cheapest Spark SQL jobs on top of it.

    python -m bench.spark_floor CONFIG [WHAT]

WHAT (default `floor`):
  floor          start the job's own SparkSession and stop it, nothing else
  range-count    ... and one action on no data: spark.range(10).count()
  csv-count      ... and read spark-job1's first input CSV with its schema and count the rows
  csv-aggregate  ... and read it, average the metric per server, write one CSV (what a job does, least)

The session comes from the job's own spark_session() (monitoring.jobs.windowed_job), so it has
exactly the job's options (master, shuffle partitions, driver memory, ...), and the process is launched the same way
as `main.py spark-job1` (python -> pyspark -> the JVM gateway). The three small jobs show what any
first Spark SQL action costs in a new JVM, whatever the job's own plan.
"""
import shutil
import sys
import tempfile
from pathlib import Path

WHATS = ("floor", "range-count", "csv-count", "csv-aggregate")


def main(argv) -> int:
    from monitoring.config_file import load_config
    from monitoring.jobs.windowed_job import spark_session
    from monitoring.wiring import JOBS

    cfg = load_config(argv[0])
    what = argv[1] if len(argv) > 1 else "floor"
    if what not in WHATS:
        raise SystemExit(f"spark_floor.py: WHAT must be one of {', '.join(WHATS)}, got {what!r}")
    spark = spark_session(cfg, cfg.spark.master)
    try:
        if what == "range-count":
            spark.range(10).count()
        elif what in ("csv-count", "csv-aggregate"):
            from pyspark.sql import functions as F

            inp = JOBS["spark-job1"].first
            schema = ", ".join(f"{c} {'string' if c in ('ts', 'server_id') else 'float'}" for c in inp.columns)
            df = spark.read.csv(str(cfg.output_dir / inp.file), header=True, schema=schema)
            if what == "csv-count":
                df.count()
            else:
                out = Path(tempfile.mkdtemp(prefix="floor-", dir=cfg.output_dir))
                try:
                    (df.groupBy("server_id").agg(F.avg(inp.metric).alias(inp.out)).coalesce(1)
                     .write.mode("overwrite").csv(str(out / "csv"), header=True))
                finally:
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
