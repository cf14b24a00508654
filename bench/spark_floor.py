#!/usr/bin/env python3
"""The floor under every Spark job: start the job's own SparkSession and stop it, nothing else.

    python bench/spark_floor.py CONFIG

The session comes from app/spark-jobs/windowed_job.py's _session(), so it has exactly the job's
options (master, shuffle partitions, driver memory, ...), and the process is launched the same way
as `main.py spark-job1` (python -> pyspark -> the JVM gateway).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "app"), str(ROOT / "app" / "spark-jobs")]


def main(argv) -> int:
    from pipeline.config import load_config
    from windowed_job import _session

    cfg = load_config(argv[0])
    spark = _session(cfg, cfg.spark.master)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
