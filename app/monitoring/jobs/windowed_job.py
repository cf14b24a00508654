"""The shared shape of both Spark jobs: two metric inputs -> one windowed, alerted team CSV.

Every row carries its event time, decided where the series' order is known: by the producer
(the consumers keep it in `events/<csv>` beside each CSV), or, for CSVs written by hand without
it, by reading each CSV in its own line order on the driver (a streaming pass, constant memory).
The grid's anchor (the earliest event time) is read on the driver from small inputs, a number from
one pass, and computed by Spark on larger ones. Spark does everything that grows with the data:
reading the values as FloatType, the windows of each row, avg/max per server and window, round(), the
window times, the alerts and the sort. Spark runs one action: the write of the team CSV.
"""
from __future__ import annotations

import logging
import math
import os
import re
import shutil
import struct
import time
from pathlib import Path
from urllib.parse import unquote

from ..core.config import Config
from ..core.records import SERVER_PATTERN, RowError, csv_line, number_text, server_text
from ..core.timeline import TIME_ONLY, SeriesClock, TimestampError, nearest_day_shift, parse_ts
from ..wiring import ALERT_COLUMN, EVENT_TIME_COLUMN, EVENTS_DIR, TEAM_CSV_LEAD, Job, MetricInput
from .alert_rule import alert_column, written_value

log = logging.getLogger("spark-job")


class JobError(Exception):
    """Ends the job with exit code 1 and this one line."""


ACCEPTED_TS = "HH:MM:SS or YYYY-MM-DD HH:MM:SS"
_SERVER = re.compile(SERVER_PATTERN)


def _check_inputs(cfg: Config, job: Job) -> list[Path]:
    paths = []
    for inp in (job.first, job.second):
        path = cfg.output_dir / inp.file
        if not path.exists():
            raise JobError(f"input {path} does not exist: has the consumer run? "
                           f"(systemctl status monitoring-consumer*, journalctl -u monitoring-consumer*)")
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        if b"\r" in head and b"\n" not in head:
            raise JobError(f"input {path} has CR-only line ends: save it with LF (or CRLF) line ends")
        lines = head.splitlines()
        header = lines[0].decode("utf-8", errors="replace").lstrip("\ufeff").strip() if lines else ""
        if header != ",".join(inp.columns):
            raise JobError(f"input {path} has header {header[:200]!r}, expected {','.join(inp.columns)!r}")
        if not any(line.strip() for line in lines[1:]):
            raise JobError(f"input {path} has no rows: nothing to analyse yet (has the producer run?)")
        paths.append(path)
    return paths


def _line_count(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def _consumer_events(path: Path) -> Path | None:
    """The consumer's events file of a CSV if it holds the CSV's rows: the same number of lines,
    and not older than the CSV (an edit of the CSV by hand makes it newer)."""
    events = path.parent / EVENTS_DIR / path.name
    if not events.exists():
        return None
    if _line_count(events) == _line_count(path) and events.stat().st_mtime >= path.stat().st_mtime:
        return events
    log.warning("%s and %s disagree (edited by hand?): reading %s in its own line order", path.name,
                f"{EVENTS_DIR}/{path.name}", path.name)
    return None


def _first_row(events: Path):
    """(stamp, event time) of an events file's first row: the same shape _HandWritten.write returns."""
    with open(events, "rb") as f:
        f.readline()
        first = f.readline().decode("utf-8", errors="replace").split(",")
    return parse_ts(first[1]), int(first[0])


class _HandWritten:
    """Writes the event-time copy of a CSV without one, reading it in its own line order."""

    def __init__(self, inp: MetricInput, path: Path, out: Path):
        self.inp, self.path, self.out = inp, path, out
        self.bad, self.first_bad = 0, ""

    def write(self, shift_to: int | None):
        """Writes the copy; returns (the first row's stamp, its event time), or None if no row is good.
        `shift_to`: the other input's first time-only event time, which this file's first is put near."""
        clock, kind, first, lines = SeriesClock(), None, None, []
        value_columns = self.inp.columns[2:]
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as src, \
                open(self.out, "w", newline="") as dst:
            src.readline()
            dst.write(csv_line((EVENT_TIME_COLUMN, *self.inp.columns)))
            for line_no, line in enumerate(src, start=2):
                fields = line.rstrip("\r\n").split(",")
                if len(fields) == 1 and not fields[0].strip():
                    continue
                try:
                    if len(fields) != len(self.inp.columns):
                        raise RowError(f"{len(fields)} fields where {len(self.inp.columns)} are expected")
                    stamp = parse_ts(fields[0].strip())
                    if kind is not None and stamp.kind != kind:
                        raise RowError(f"ts {fields[0].strip()!r} is not in the same form as the first row's")
                    values = [number_text(name, raw) for name, raw in zip(value_columns, fields[2:])]
                    row = [fields[0].strip(), server_text(fields[1]), *values]
                except (RowError, TimestampError) as exc:
                    self.bad += 1
                    self.first_bad = self.first_bad or f"line {line_no}: {exc}"
                    continue
                kind = stamp.kind
                t = clock.event_time(stamp)
                if first is None:
                    first = (stamp, t)
                lines.append(f"{t}," + ",".join(row) + "\n")
                if len(lines) >= 10_000:
                    dst.write("".join(lines))
                    lines.clear()
            dst.write("".join(lines))
        if first is None:
            raise JobError(f"input {self.path} has no usable row ({self.first_bad}); a ts must be {ACCEPTED_TS}")
        if first[0].kind == TIME_ONLY and shift_to is not None:
            shift = nearest_day_shift(shift_to, first[1])
            if shift:
                self._shift(shift)
                first = (first[0], first[1] + shift)
        return first

    def _shift(self, seconds: int) -> None:
        tmp = self.out.with_suffix(".shift")
        with open(self.out) as src, open(tmp, "w") as dst:
            dst.write(src.readline())
            for line in src:
                t, rest = line.split(",", 1)
                dst.write(f"{int(t) + seconds},{rest}")
        os.replace(tmp, self.out)


def _event_inputs(paths, job: Job, workdir: Path):
    """(the events file of each input, the series' kind); hand-written CSVs get one made."""
    chosen, kinds, first_time = [], set(), None
    for path, inp in zip(paths, (job.first, job.second)):
        events = _consumer_events(path)
        if events is not None:
            stamp, t = _first_row(events)
        else:
            workdir.mkdir(parents=True, exist_ok=True)
            events = workdir / path.name
            writer = _HandWritten(inp, path, events)
            stamp, t = writer.write(first_time)
            if writer.bad:
                log.warning("%s: %d rows with a bad ts, server_id or value skipped (first: %s)", path.name,
                            writer.bad, writer.first_bad)
        kinds.add(stamp.kind)
        first_time = t if first_time is None else first_time
        chosen.append(events)
    if len(kinds) > 1:
        raise JobError("the inputs mix time-only (HH:MM:SS) and dated (YYYY-MM-DD HH:MM:SS) timestamps")
    return chosen, kinds.pop()


# Up to this much input, the driver reads the grid's anchor off the events files (one pass, constant
# memory) and Spark runs no job of its own for it: on small inputs that job is a large part of the
# time beyond Spark's fixed cost (bench/results.md). Above it, Spark computes the anchor.
DRIVER_ANCHOR_BYTES = 32 << 20

# ASCII digits only: Java parses no others.
_EVENT_TIME = re.compile(r"^-?[0-9]{1,19}$")
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def _float32_finite(text: str) -> bool:
    """Whether Spark's FloatType reads the text as a finite number (a larger one reads as Infinity)."""
    return math.isfinite(struct.unpack("f", struct.pack("f", float(text)))[0])


def driver_anchor(events, job: Job) -> int | None:
    """The earliest event time of the inputs' rows, read on the driver, or None: the inputs are
    larger than DRIVER_ANCHOR_BYTES, or a row is not in the form the consumers and _HandWritten
    write (Spark might read it differently), or no row is there. Then Spark computes the anchor."""
    if sum(p.stat().st_size for p in events) > DRIVER_ANCHOR_BYTES:
        return None
    t0 = None
    for path, inp in zip(events, (job.first, job.second)):
        width, value_at = 1 + len(inp.columns), 1 + inp.columns.index(inp.metric)
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            if f.readline() != csv_line((EVENT_TIME_COLUMN, *inp.columns)):
                return None  # Spark takes the first non-blank line as the header
            for line in f:
                if '"' in line or "\\" in line:
                    return None  # quoting: Spark's parser would split the line otherwise
                fields = line.rstrip("\n").split(",")
                if fields == [""]:
                    continue  # Spark skips blank lines too
                if (len(fields) != width or not _EVENT_TIME.match(fields[0]) or not _SERVER.match(fields[2])
                        or not _NUMBER.match(fields[value_at]) or not _float32_finite(fields[value_at])):
                    return None
                t = int(fields[0])
                if not -(1 << 63) <= t < (1 << 63):
                    return None  # beyond LongType: Spark reads null
                t0 = t if t0 is None or t < t0 else t0
    return t0


def spark_session(cfg: Config, master: str, jars: list[Path] | None = None, app_name: str = "monitoring",
                  shuffle_partitions: int | None = None, java_options: str | None = None,
                  settings: dict[str, str] | None = None):
    """The jobs' session; `jars`: extra jars on its class path (the stream jobs' Kafka connector,
    installed beside the app, never fetched at run time); `shuffle_partitions`: instead of
    spark.shuffle_partitions (the stream jobs' own); `java_options`: the JVMs' own flags;
    `settings`: a job's own Spark settings, set when the session starts."""
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise JobError("Spark needs Java 17 or newer: install a JRE or set JAVA_HOME")
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", "false")
               # The stage progress bar is for a terminal: in a unit's journal it is a line of noise.
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               # Adaptive execution re-plans after every shuffle: on these small, fixed plans it only
               # adds planning time (bench/results.md).
               .config("spark.sql.adaptive.enabled", "false")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions or cfg.spark.shuffle_partitions))
               .config("spark.driver.memory", cfg.spark.driver_memory))
    if jars:
        builder = builder.config("spark.jars", ",".join(str(j) for j in jars))
    if java_options:
        builder = (builder.config("spark.driver.extraJavaOptions", java_options)
                   .config("spark.executor.extraJavaOptions", java_options))
    for key, value in (settings or {}).items():
        builder = builder.config(key, value)
    if master.startswith("local"):
        # Local mode needs no resolvable hostname: lab and laptop hostnames often are not.
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def measured(value):
    """A value read as a float, or null: NaN and infinities are not measurements (such a row is
    skipped like an unreadable one)."""
    from pyspark.sql import functions as F

    return F.when(~F.isnan(value) & (F.abs(value) != float("inf")), value)


def aggregate(inp: MetricInput, col: str):
    """The input's aggregate (avg or max) of a column, rounded as Spark's round(x, 2) does."""
    from pyspark.sql import functions as F

    return F.round((F.avg if inp.aggregate == "avg" else F.max)(col), 2).alias(inp.out)


def window_time(seconds, kind: str):
    """A window's start or end (epoch seconds) as the team CSV writes it; the session is in UTC."""
    from pyspark.sql import functions as F

    pattern = "HH:mm:ss" if kind == TIME_ONLY else "yyyy-MM-dd HH:mm:ss"
    return F.date_format(F.timestamp_seconds(seconds), pattern)


def team_columns(job: Job, cfg: Config, kind: str, start) -> list:
    """The team CSV's columns after server_id, from a window's start (epoch seconds) and the two
    rounded aggregates (columns named as the job's outputs): what the batch and stream jobs write."""
    from pyspark.sql import functions as F

    d1, d2 = written_value(F.col(job.first.out)), written_value(F.col(job.second.out))
    thresholds = (getattr(cfg.thresholds, job.first.threshold_key), getattr(cfg.thresholds, job.second.threshold_key))
    _, window_start, window_end = TEAM_CSV_LEAD
    return [window_time(start, kind).alias(window_start),
            window_time(start + cfg.window.duration_seconds, kind).alias(window_end),
            d1.cast("string").alias(job.first.out), d2.cast("string").alias(job.second.out),
            alert_column(job.labels, d1, thresholds[0], d2, thresholds[1]).alias(ALERT_COLUMN)]


def _read_both(spark, events, job: Job):
    """Both inputs as one frame (file, t: the event time, server_id, v1, v2): one scan, one aggregation."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    frames = []
    for n, (path, inp) in enumerate(zip(events, (job.first, job.second))):
        # FloatType is the contract: values are read as 32-bit floats before avg/max.
        fields = [T.StructField(EVENT_TIME_COLUMN, T.LongType())] + [
            T.StructField(c, T.StringType() if c in ("ts", "server_id") else T.FloatType()) for c in inp.columns]
        df = spark.read.csv(str(path), header=True, schema=T.StructType(fields), mode="PERMISSIVE")
        value = measured(F.col(inp.metric))
        none = F.lit(None).cast(T.FloatType())
        frames.append(df.select(F.lit(inp.file).alias("file"), F.col(EVENT_TIME_COLUMN).alias("t"), "server_id",
                                (value if n == 0 else none).alias("v1"), (value if n == 1 else none).alias("v2")))
    return frames[0].unionByName(frames[1])


def _windows(rows, cfg: Config, job: Job, skipped, tasks: int, t0: int | None = None):
    """Per server and window k: avg or max of each metric, rounded by Spark's round().

    The grid starts at the series' earliest event time t0 (given, or computed by Spark);
    window k is [t0 + k*slide, + duration).
    A row at t lies in the windows k with t - duration < t0 + k*slide <= t. The rows left out (no
    event time, no server_id, no usable value) are counted per input file into `skipped`, during
    the same action that writes the result. With `tasks` > 1 the rows are first spread by server
    over that many tasks, each of which then aggregates and sorts its own servers whole.
    """
    from pyspark.sql import functions as F

    duration, slide = cfg.window.duration_seconds, cfg.window.slide_seconds

    bad = F.col("t").isNull() | F.col("server_id").isNull() | (F.col("v1").isNull() & F.col("v2").isNull())
    good = (rows.observe(skipped, *[F.count(F.when(bad & (F.col("file") == inp.file), 1)).alias(inp.file)
                                    for inp in (job.first, job.second)])
            .where(~bad))
    if tasks > 1:
        # Partitioned by server_id alone, the rows need no other shuffle: the aggregation by
        # (server_id, t0, k) and the sort by (server_id, k) both run inside each task.
        good = good.select("server_id", "t", "v1", "v2").repartition(tasks, "server_id")
    offset = F.col("t") - F.col("t0")
    first_k = F.greatest(F.lit(0).cast("long"), F.floor((offset - duration) / slide) + 1)
    if t0 is None:
        # The anchor as a second, small branch of the plan; only the main one counts the skipped rows.
        good = good.crossJoin(F.broadcast(rows.where(~bad).agg(F.min("t").alias("t0"))))
    else:
        good = good.withColumn("t0", F.lit(t0).cast("long"))
    return (good
            .select("server_id", "t0", "v1", "v2", F.explode(F.sequence(first_k, F.floor(offset / slide))).alias("k"))
            .groupBy("server_id", "t0", "k")
            .agg(aggregate(job.first, "v1"), aggregate(job.second, "v2")))


# Up to ONE_TASK_BYTES of input, one task aggregates, sorts and writes the whole team CSV: the
# cheapest plan while that task's sort fits in memory. Above it, the rows are split by server into
# tasks of about TASK_INPUT_BYTES each (bench/results.md, part spark-series).
ONE_TASK_BYTES = 512 << 20
TASK_INPUT_BYTES = 128 << 20

# The partition column of a split write: a copy of server_id, so that each server's rows land in a
# file of their own (Spark leaves partition columns out of the files it writes).
_SERVER_PART = "_server"


def tasks_for(input_bytes: int) -> int:
    """How many tasks compute the team CSV: one up to ONE_TASK_BYTES, else one per TASK_INPUT_BYTES."""
    return 1 if input_bytes <= ONE_TASK_BYTES else -(-input_bytes // TASK_INPUT_BYTES)


def _result_plan(rows, job: Job, cfg: Config, kind: str, skipped, tasks: int = 1, t0: int | None = None):
    """The team CSV's rows, in order: aggregates per window, their times, the written values, alerts.
    With several tasks, each server's rows are in order, and _write_atomically puts the servers in order."""
    from pyspark.sql import functions as F

    start = F.col("t0") + F.col("k") * cfg.window.slide_seconds
    rows = (_windows(rows, cfg, job, skipped, tasks, t0)
            .select(TEAM_CSV_LEAD[0], "k", *team_columns(job, cfg, kind, start)))
    if tasks == 1:
        # One output file; no extra shuffle (the sort below makes the order).
        return rows.coalesce(1).sortWithinPartitions(TEAM_CSV_LEAD[0], "k").drop("k")
    return (rows.withColumn(_SERVER_PART, F.col(TEAM_CSV_LEAD[0]))
            .sortWithinPartitions(_SERVER_PART, "k").drop("k"))


def _server_of(folder: Path) -> str:
    """The server_id of a partition folder `_server=<value>`, which Spark writes %XX-escaped."""
    return unquote(folder.name.split("=", 1)[1])


def _concatenate(tmp: Path, final_tmp: Path, header: str) -> None:
    """One file of the header and each server's part file, servers sorted as Spark sorts text
    (by UTF-8 bytes: the same order as Python's by code point)."""
    folders = sorted(tmp.glob(f"{_SERVER_PART}=*"), key=_server_of)
    with open(final_tmp, "wb") as out:
        out.write(header.encode() + b"\n")
        for folder in folders:
            parts = list(folder.glob("part-*.csv"))
            if len(parts) != 1:
                raise JobError(f"Spark wrote {len(parts)} part files to {folder}, expected one")
            with open(parts[0], "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)


def _write_atomically(df, final: Path) -> None:
    """Spark writes a folder of part files; the team CSV must be one file that appears whole."""
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    final_tmp = final.with_name(f".{final.name}.whole-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if _SERVER_PART in df.columns:
            header = ",".join(c for c in df.columns if c != _SERVER_PART)
            df.write.partitionBy(_SERVER_PART).csv(str(tmp), header=False, nullValue="", lineSep="\n")
            _concatenate(tmp, final_tmp, header)
            os.replace(final_tmp, final)
            return
        df.write.csv(str(tmp), header=True, nullValue="", lineSep="\n")
        parts = sorted(tmp.glob("part-*.csv"))
        if len(parts) != 1:
            raise JobError(f"Spark wrote {len(parts)} part files to {tmp}, expected one")
        os.replace(parts[0], final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        final_tmp.unlink(missing_ok=True)


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
    workdir = cfg.output_dir / f".{job.name}-inputs-{os.getpid()}"
    try:
        events, kind = _event_inputs(paths, job, workdir)
        phases.done("inputs")
        spark = spark_session(cfg, master)
        phases.done("session start")
        try:
            from pyspark.sql import Observation

            skipped = Observation("skipped")
            # One Spark action: each action in a fresh JVM pays seconds of fixed cost. Not cached:
            # the cache cost more than it saved (bench/results.md).
            input_bytes = sum(p.stat().st_size for p in events)
            tasks = tasks_for(input_bytes)
            t0 = driver_anchor(events, job)
            log.info("%s: %.1f MiB of input, in %d task%s; the grid's anchor %s", job.name,
                     input_bytes / (1 << 20), tasks, "" if tasks == 1 else "s (split by server)",
                     "computed by Spark" if t0 is None else "read on the driver")
            result = _result_plan(_read_both(spark, events, job), job, cfg, kind, skipped, tasks, t0)
            phases.done("plan")
            _write_atomically(result, final)
            phases.done("write (the one action)")
            for file, n in sorted(skipped.get.items()):
                if n:
                    log.warning("%s: %d rows with a bad ts, server_id or value skipped", file, n)
        finally:
            spark.stop()
            phases.done("session stop")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = _line_count(final) - 1
    log.info("%s phases: %s", job.name, phases.line())
    log.info("%s wrote %s: %d rows in %.1f s", job.name, final, rows, time.monotonic() - started)
    return 0
