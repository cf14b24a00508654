"""The shared shape of both Spark jobs: two metric CSVs -> one windowed, alerted team CSV.

Spark does what must scale with the data: reading the values as FloatType, avg/max per server
and window, round(), the join and the sort. What a timestamp means and which windows hold it
comes from the pure core (core.timeline, core.windows): the driver reads the distinct ts
from the files, computes their windows once each and broadcasts them, so the grid rules exist in
one place and are unit-tested there. Spark runs one action: the write of the team CSV. What each
job reads and writes is monitoring.wiring's Job; its alert expression is monitoring.jobs.alert_rule's.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from ..core.config import Config
from ..core.timeline import TIME_ONLY, TimestampError, format_seconds, parse_ts, series_start, unwrap
from ..core.windows import WindowGrid
from ..wiring import ALERT_COLUMN, TEAM_CSV_LEAD, Job, MetricInput
from .alert_rule import alert_column, written_value

log = logging.getLogger("spark-job")


class JobError(Exception):
    """Ends the job with exit code 1 and this one line."""


def _check_inputs(cfg: Config, job: Job) -> list[Path]:
    paths = []
    for inp in (job.first, job.second):
        path = cfg.output_dir / inp.file
        if not path.exists():
            raise JobError(f"input {path} does not exist: has the consumer run? "
                           f"(systemctl status monitoring-consumer*, journalctl -u monitoring-consumer*)")
        with open(path, "rb") as f:
            header = f.readline().decode(errors="replace").strip()
            has_rows = bool(f.readline().strip())
        if header != ",".join(inp.columns):
            raise JobError(f"input {path} has header {header!r}, expected {','.join(inp.columns)!r}")
        if not has_rows:
            raise JobError(f"input {path} has no rows: nothing to analyse yet (has the producer run?)")
        paths.append(path)
    return paths


def spark_session(cfg: Config, master: str):
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise JobError("Spark needs Java 17 or newer: install a JRE or set JAVA_HOME")
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName("monitoring")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               # Adaptive execution re-plans after every shuffle: on these small, fixed plans it only
               # adds planning time (bench/results.md).
               .config("spark.sql.adaptive.enabled", "false")
               .config("spark.sql.shuffle.partitions", str(cfg.spark.shuffle_partitions))
               .config("spark.driver.memory", cfg.spark.driver_memory))
    if master.startswith("local"):
        # Local mode needs no resolvable hostname: lab and laptop hostnames often are not.
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _read_both(spark, paths, job: Job):
    """Both inputs as one frame (file, ts, server_id, v1, v2): one scan, one aggregation later."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    frames = []
    for n, (path, inp) in enumerate(zip(paths, (job.first, job.second))):
        # FloatType is the contract: values are read as 32-bit floats before avg/max.
        schema = T.StructType([T.StructField(c, T.StringType() if c in ("ts", "server_id") else T.FloatType())
                               for c in inp.columns])
        df = spark.read.csv(str(path), header=True, schema=schema, mode="PERMISSIVE")
        none = F.lit(None).cast(T.FloatType())
        frames.append(df.select(F.lit(inp.file).alias("file"), "ts", "server_id",
                                (F.col(inp.metric) if n == 0 else none).alias("v1"),
                                (F.col(inp.metric) if n == 1 else none).alias("v2")))
    return frames[0].unionByName(frames[1])


def _distinct_ts(paths) -> set:
    """Every distinct ts string of the inputs: the first field of each line, read on the driver.

    A plain read of the local files takes about 0.2 s per million lines; a Spark action collecting
    the same set took 2.4 s on 28,800 rows and 4.6 s on 2,880,000 (bench/analysis.md). The strings
    are the raw fields, as Spark's CSV reader gives them, so they join with its rows.
    """
    stamps = set()
    for path in paths:
        with open(path, "rb") as f:
            f.readline()  # the header, checked by _check_inputs
            for line in f:
                stamps.add(line.split(b",", 1)[0].rstrip(b"\r\n"))
    return {ts.decode("utf-8", errors="replace") for ts in stamps}


def _timeline(stamps, cfg: Config):
    """Distinct ts strings -> (ts->windows rows, k->window times); an unreadable ts is left out."""
    parsed = {}
    for ts in stamps:
        try:
            parsed[ts] = parse_ts(ts.strip())
        except TimestampError:
            pass  # its rows find no window: counted as skipped by the job's observation
    if not parsed:
        raise JobError("no valid rows in the inputs")
    kinds = {s.kind for s in parsed.values()}
    if len(kinds) > 1:
        raise JobError("the inputs mix time-only (HH:MM:SS) and dated (YYYY-MM-DD HH:MM:SS) timestamps")
    kind = kinds.pop()
    if kind == TIME_ONLY:
        start = series_start(s.seconds for s in parsed.values())
        absolute = {ts: unwrap(s.seconds, start) for ts, s in parsed.items()}
    else:
        absolute = {ts: s.seconds for ts, s in parsed.items()}
    grid = WindowGrid(min(absolute.values()), cfg.window.duration_seconds, cfg.window.slide_seconds)
    windows = [(ts, list(grid.indices(t))) for ts, t in sorted(absolute.items())]
    last_k = max(k for _, ks in windows for k in ks)
    times = [(k, format_seconds(grid.start(k), kind), format_seconds(grid.end(k), kind)) for k in range(last_k + 1)]
    return windows, times


def _aggregate(rows, job: Job, ts_windows, skipped):
    """Per server and window: avg or max of each metric, rounded by Spark's round().

    The rows left out (a ts without windows, no server_id, no readable value) are counted per
    input file into the observation `skipped`, during the same action that writes the result.
    """
    from pyspark.sql import functions as F

    def agg(inp: MetricInput, col: str):
        return F.round((F.avg if inp.aggregate == "avg" else F.max)(col), 2).alias(inp.out)

    bad = F.col("ks").isNull() | F.col("server_id").isNull() | (F.col("v1").isNull() & F.col("v2").isNull())
    return (rows.join(F.broadcast(ts_windows), "ts", "left")
            .observe(skipped, *[F.count(F.when(bad & (F.col("file") == inp.file), 1)).alias(inp.file)
                                for inp in (job.first, job.second)])
            .where(~bad)
            .select("server_id", F.explode("ks").alias("k"), "v1", "v2")
            .groupBy("server_id", "k")
            .agg(agg(job.first, "v1"), agg(job.second, "v2")))


def _sql_str(text: str) -> str:
    """A Spark SQL string literal (the ts strings passed parse_ts, so they hold no quote anyway)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _values(spark, columns: str, rows):
    return spark.sql(f"SELECT * FROM VALUES {', '.join('(' + ', '.join(r) + ')' for r in rows)} AS t({columns})")


def _result_plan(spark, rows, job: Job, cfg: Config, windows, times, skipped):
    """The team CSV's rows, in order: aggregates per window, their times, the written values, alerts."""
    from pyspark.sql import functions as F

    # Inline tables (local relations): broadcast without a Spark job, unlike createDataFrame's RDD.
    ts_windows = _values(spark, "ts, ks", [(_sql_str(ts), f"array({', '.join(f'{k}L' for k in ks)})")
                                           for ts, ks in windows])
    window_times = _values(spark, "k, window_start, window_end", [(f"{k}L", _sql_str(a), _sql_str(b))
                                                                  for k, a, b in times])
    d1, d2 = written_value(F.col(job.first.out)), written_value(F.col(job.second.out))
    thresholds = (getattr(cfg.thresholds, job.first.threshold_key), getattr(cfg.thresholds, job.second.threshold_key))
    return (_aggregate(rows, job, ts_windows, skipped)
            .join(F.broadcast(window_times), "k")
            .select(*TEAM_CSV_LEAD, "k",
                    d1.cast("string").alias(job.first.out), d2.cast("string").alias(job.second.out),
                    alert_column(job.labels, d1, thresholds[0], d2, thresholds[1]).alias(ALERT_COLUMN))
            .coalesce(1)  # one output file; no extra shuffle (the sort below makes the order)
            .sortWithinPartitions("server_id", "k")
            .drop("k"))


def _write_atomically(df, final: Path) -> None:
    """Spark writes a folder of part files; the team CSV must be one file that appears whole."""
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        df.write.csv(str(tmp), header=True, nullValue="", lineSep="\n")
        parts = sorted(tmp.glob("part-*.csv"))
        if len(parts) != 1:
            raise JobError(f"Spark wrote {len(parts)} part files to {tmp}, expected one")
        os.replace(parts[0], final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Phases:
    """Wall seconds of the job's steps, logged in one line at the end (the bench reads it)."""

    def __init__(self):
        self.last, self.seconds = time.monotonic(), {}

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name], self.last = now - self.last, now

    def line(self) -> str:
        return ", ".join(f"{name} {s:.2f} s" for name, s in self.seconds.items())


def run(cfg: Config, job: Job, master: str | None = None) -> int:
    started = time.monotonic()
    phases = _Phases()
    paths = _check_inputs(cfg, job)
    master = master or cfg.spark.master
    final = cfg.output_dir / job.output_name(cfg.team_number)
    windows, times = _timeline(_distinct_ts(paths), cfg)
    phases.done("inputs and timeline")
    spark = spark_session(cfg, master)
    phases.done("session start")
    try:
        from pyspark.sql import Observation

        skipped = Observation("skipped")
        # One Spark action: each action in a fresh JVM pays seconds of fixed cost. Not cached:
        # the cache cost more than it saved, on 28,800 rows as on 2,880,000 (bench/results.md).
        rows = _read_both(spark, paths, job)
        phases.done("read plan")
        result = _result_plan(spark, rows, job, cfg, windows, times, skipped)
        phases.done("result plan")
        _write_atomically(result, final)
        phases.done("write (the one action)")
        for file, n in sorted(skipped.get.items()):
            if n:
                log.warning("%s: %d rows with a bad ts, server_id or value skipped", file, n)
    finally:
        spark.stop()
    phases.done("session stop")
    rows = sum(1 for _ in open(final)) - 1
    log.info("%s phases: %s", job.name, phases.line())
    log.info("%s wrote %s: %d rows in %.1f s", job.name, final, rows, time.monotonic() - started)
    return 0
