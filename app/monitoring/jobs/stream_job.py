"""The live path: a batch job's twin on Spark Structured Streaming, reading its two topics from Kafka.

The same contract as monitoring.jobs.windowed_job, built from the same definitions: the event time
the producer sent with each message (header event_time), values read as FloatType, the grid anchored
at the series' earliest event time (monitoring.jobs.stream_anchor), avg/max rounded by Spark's
round(), the window times and alert labels of windowed_job.team_columns. The query runs in update
mode with a watermark of live.allowed_lateness_seconds: each micro-batch hands the windows its rows
changed to the sink (monitoring.jobs.live_sink), which closes a window in the batch whose rows take
the latest event time `lateness` past its end (monitoring.jobs.window_closing) and writes it to the
live CSV exactly once, its alert onto the alerts topic; a flush mark (monitoring.jobs.idle_flush)
closes the last windows when no data comes.
"""
from __future__ import annotations

import json
import logging
import shutil
import signal
import threading
import time
from pathlib import Path

from ..core.config import Config
from ..core.timeline import TIME_ONLY
from ..core.records import EVENT_TIME_HEADER, MAX_EVENT_MS, ORIGIN_HEADER, PERCENT_METRICS, SERVER_PATTERN
from ..kafka_connection import StoppedWhileConnecting, client_options, spark_kafka_options, stop_ends_connecting
from ..kafka_connection import unreachable_message
from ..wiring import TEAM_CSV_LEAD, Job
from . import stream_anchor
from .idle_flush import IdleFlush
from .live_sink import LiveSink, SinkError, earlier_version, move_aside
from .message_json import message_doc, split_value
from .window_closing import Window
from .windowed_job import JobError, aggregate, measured, spark_session, team_columns

log = logging.getLogger("stream-job")

FLUSH_MARKS = "flush-marks"
SPARK_CHECKPOINT = "spark"


def drop_checksums(checkpoint: Path) -> int:
    """Remove the .crc files an earlier version's checkpoint holds (CHECKPOINT_SETTINGS writes
    none). Left there, one beside a file this version writes again would no longer match it, and a
    return to the checksummed file system would fail on it."""
    dropped = 0
    for crc in checkpoint.rglob(".*.crc") if checkpoint.is_dir() else ():
        crc.unlink(missing_ok=True)
        dropped += 1
    return dropped


def connector_jars(cfg: Config) -> list[Path]:
    folder = cfg.live.connector_dir
    if folder is None:
        raise JobError("live.connector_dir is not set: it names the folder of Spark's Kafka connector jars "
                       "(make spark-kafka-dist builds it; the spark role installs it)")
    jars = sorted(folder.glob("*.jar")) if folder.is_dir() else []
    if not any(j.name.startswith("spark-sql-kafka") for j in jars):
        raise JobError(f"live.connector_dir {folder} holds no spark-sql-kafka jar")
    return jars


FETCH_MAX_WAIT_MS = 10
# The JIT's first tier only. A stream job runs the same small micro-batch again and again, beside a
# broker and another job on a few cores: the optimising compiler (C2) kept a core busy for minutes
# after each start, and the first windows waited behind it (bench/analysis.md, "Live"). With one tier
# the JVM reserves a fifth of the tiered code cache (48 MB): Spark's code filled it during a replay,
# and the flushing of compiled code slowed both jobs for seconds; the tiered size again (memory only
# as the code uses it).
STREAM_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
# Spark pushes a filter below the projections it reads, writing each column it names out again in
# full: data_rows' filter would parse every message's JSON once per field it checks. Nothing else in
# the stream jobs' plans gains from it (Kafka's source takes no filters).
PUSH_DOWN_RULE = "org.apache.spark.sql.catalyst.optimizer.PushDownPredicates"
MARK_SERVER = ""     # a flush mark's rows have no server (SERVER_PATTERN never matches it)
# The checkpoint's files through Hadoop's FileSystem API, on the local file system without .crc
# files. pyspark ships no Hadoop native library, so Spark's default (the FileContext API over the
# checksummed local file system) starts a process, `readlink`, for both ends of every rename, and a
# `chmod` for every file it creates and for its .crc, several per micro-batch, most of the offset
# and commit logs' time (bench/analysis.md, "Live"). One `chmod` per file remains. The
# FileSystem-based manager needs an atomic rename, which rename(2) on one local file system is. The
# setting holds for the whole session: Spark's hadoopFile/textFile (FileSystem.getLocal) would fail
# in it; the stream jobs read only Kafka and Spark's file-stream sources.
CHECKPOINT_SETTINGS = {
    "spark.sql.streaming.checkpointFileManagerClass":
        "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager",
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
}


def kafka_source(reader, cfg: Config, job: Job):
    """Spark's Kafka source of the job's two topics (a stream's reader, or the warm-up's batch one):
    from the earliest offset, with headers, as the job's login and consumer groups (its ACLs)."""
    return (reader.format("kafka").options(**spark_kafka_options(cfg))
            .option("subscribe", ",".join(cfg.topics.name(k) for k in job.topics))
            .option("startingOffsets", "earliest")
            .option("includeHeaders", "true")
            # Segments deleted by retention, or topics re-created afresh: go on from what is there.
            .option("failOnDataLoss", "false")
            .option("groupIdPrefix", f"monitoring-{job.stream}")
            # A task's consumer finds the broker still holding its previous prefetch (a fetch past the
            # data, answered after fetch.max.wait.ms, 500 ms by default) and waits for it before it
            # can fetch its own range: half a second per task, a few per micro-batch (bench/analysis.md).
            .option("kafka.fetch.max.wait.ms", str(FETCH_MAX_WAIT_MS)))


def _rows(spark, cfg: Config, job: Job, marks_dir: Path):
    """Both topics and the flush marks as one frame: (key, t, server_id, v1, v2), t in epoch seconds."""
    from pyspark.sql import types as T

    kafka = kafka_source(spark.readStream, cfg, job).load()
    marks = (spark.readStream.schema(T.StructType([T.StructField("t", T.LongType())]))
             .option("cleanSource", "delete").json(str(marks_dir)))
    return state_columns(data_rows(kafka, cfg, job).unionByName(mark_rows(marks)))


def state_columns(rows):
    """The columns the watermark, the de-duplication and the windows keep state by, non-null by type.

    Spark checks a stateful operator's schema against its checkpoint at the first micro-batch of
    every run, and it prunes the empty side of the union first: a batch of data alone, of flush
    marks alone or of neither gives `key`, `t` and `server_id` another nullability (a restart whose
    first batch had another shape than the first run's failed with STATE_STORE_KEY_SCHEMA_NOT_COMPATIBLE).
    coalesce with a literal is non-null whatever its input; no row is null there (both sides filter)."""
    from pyspark.sql import functions as F

    return rows.select(F.coalesce("key", F.lit("")).alias("key"), F.coalesce("t", F.lit(0)).alias("t"),
                       F.coalesce("server_id", F.lit(MARK_SERVER)).alias("server_id"), "v1", "v2")


def mark_rows(marks):
    """The flush marks ({"t": T} files) as rows without a server or values."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    none = F.lit(None).cast(T.FloatType())
    return (marks.where(F.col("t").isNotNull())
            .select(F.concat_ws("/", F.lit("flush"), F.col("t").cast("string")).alias("key"), "t",
                    F.lit(MARK_SERVER).alias("server_id"), none.alias("v1"), none.alias("v2")))


def data_rows(kafka, cfg: Config, job: Job):
    """The Kafka source's messages of the job's two topics as rows; unusable ones left out.

    Each message's JSON is read once (monitoring.jobs.message_json), in projections of its own, and
    the rest reads the parsed columns: written as one expression, every reference to a field
    repeats the reading. The session keeps the filter above it (PUSH_DOWN_RULE)."""
    from pyspark.sql import functions as F

    names = {k: cfg.topics.name(k) for k in job.topics}
    metrics = (job.first.metric, job.second.metric)

    def header(name):
        # The first header of that name; NULL when the message lacks it (the live source sends no
        # origin). Array functions, not a lambda: Spark runs its higher-order functions outside the
        # generated code, reading each element through the session's settings.
        return F.get(F.col("headers.value"), F.array_position(F.col("headers.key"), F.lit(name)) - 1).cast("string")

    pieces = kafka.select("topic", "partition", "offset", "value", "headers",
                          split_value(F.col("value")).alias("pieces"))
    parsed = pieces.select("topic", "partition", "offset",
                           message_doc(F.col("value"), F.col("pieces"), metrics).alias("doc"),
                           header(EVENT_TIME_HEADER).alias("event_ms"), header(ORIGIN_HEADER).alias("origin"))
    fields = parsed.select("topic", "partition", "offset", "event_ms", "origin", F.trim("doc.ts").alias("ts"),
                           F.trim("doc.server_id").alias("server_id"),
                           *[F.col(f"doc.{m.metric}").alias(m.metric) for m in (job.first, job.second)])

    ts = F.col("ts")
    ts_seconds = F.when(ts.rlike(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"),
                        F.substring(ts, 1, 2).cast("long") * 3600 + F.substring(ts, 4, 2).cast("long") * 60
                        + F.substring(ts, 7, 2).cast("long")) \
        .when(ts.rlike(r"^\d{4}-\d{2}-\d{2} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"),
              # try_: an impossible date (2026-02-30) is an unusable message, as for the consumers;
              # under ANSI mode (Spark's default) unix_timestamp would fail the query on it, again
              # after every restart.
              F.unix_seconds(F.try_to_timestamp(ts, F.lit("yyyy-MM-dd HH:mm:ss"))))
    # The producer's event time (epoch ms); a message without it is placed by its ts, as the consumers do.
    event_ms = F.col("event_ms")
    # A ts that is not one of the two forms makes the message unusable, as for the consumers.
    t = F.when(ts_seconds.isNotNull(), F.when(event_ms.isNull(), ts_seconds)
               .when(event_ms.rlike(r"^\d+$") & (F.expr("try_cast(event_ms as long)") <= MAX_EVENT_MS),
                     F.expr("try_cast(event_ms as long) div 1000")))

    def value(m):
        v = measured(F.col(m.metric))
        ok = (v >= 0) & ((v <= 100) if m.metric in PERCENT_METRICS else F.lit(True))
        return F.when((F.col("topic") == names[m.topic]) & ok, v)

    return (fields.select(
                # What makes a message the same message: its data file line (a producer run twice sends
                # it twice), else its place in the topic.
                F.concat_ws("/", F.col("topic"), F.coalesce("origin", F.concat_ws(
                    "/", F.col("partition").cast("string"), F.col("offset").cast("string")))).alias("key"),
                t.alias("t"), "server_id", value(job.first).alias("v1"), value(job.second).alias("v2"))
            .where(F.col("t").isNotNull() & F.col("server_id").rlike(SERVER_PATTERN)
                   & (F.col("v1").isNotNull() | F.col("v2").isNotNull())))


def _windows(rows, cfg: Config, job: Job, t0: int):
    from pyspark.sql import functions as F

    duration, slide = cfg.window.duration_seconds, cfg.window.slide_seconds
    lateness = cfg.live.allowed_lateness_seconds
    return (rows.withColumn("et", F.timestamp_seconds("t"))
            .withWatermark("et", f"{lateness} seconds")
            .dropDuplicatesWithinWatermark(["key"])
            # Spark's grid is aligned to the epoch plus startTime: t0's offset puts it on t0 + k*slide.
            .groupBy("server_id", F.window("et", f"{duration} seconds", f"{slide} seconds", f"{t0 % slide} seconds"))
            # latest: the sink's closing rule needs the latest event time each batch counted.
            .agg(aggregate(job.first, "v1"), aggregate(job.second, "v2"), F.max("t").alias("latest")))


def updated_windows(df, cfg: Config, job: Job, anchor) -> tuple[list[Window], int | None, int | None]:
    """A micro-batch's updated windows as the live CSV's rows; the latest event time of its rows,
    and of its data's rows alone (None: it had none).

    A window's `latest` is the latest event time of all its rows so far, so the latest over a
    batch's windows may be an earlier batch's: never later than the stream's latest, which is what
    the sink and the idle flush keep."""
    from pyspark.sql import functions as F

    t0, slide = anchor.t0, cfg.window.slide_seconds
    start = F.unix_seconds(F.col("window.start"))
    # Every updated window gives the batch's latest event time (the flush marks' too); windows
    # before t0 (Spark makes every window holding a row) are not on the batch grid, and the flush
    # marks' own windows have no server: neither is written.
    out = df.select(TEAM_CSV_LEAD[0], "latest", ((start - t0) / slide).cast("long").alias("k"),
                    ((F.col("server_id") != MARK_SERVER) & (start >= t0)).alias("written"),
                    *team_columns(job, cfg, anchor.kind, start))
    rows = out.collect()
    end = t0 + cfg.window.duration_seconds
    updates = [Window(r[0], r[2], end + r[2] * slide, tuple(r)[:1] + tuple(r)[4:]) for r in rows if r[3]]
    return (updates, *latest_event_times(rows))


def latest_event_times(rows) -> tuple[int | None, int | None]:
    """The latest event time over a batch's updated windows (server_id, latest, ...), and over its
    data's alone: the flush marks' windows (no server) left out, or each mark would call for the
    next one and move the watermark past the data to come."""
    latest = max((r[1] for r in rows if r[1] is not None), default=None)
    data_latest = max((r[1] for r in rows if r[1] is not None and r[0] != MARK_SERVER), default=None)
    return latest, data_latest


class _Batches:
    """foreachBatch: a micro-batch's updated windows -> the team CSV's rows -> the sink."""

    def __init__(self, cfg: Config, job: Job, anchor, sink: LiveSink, flush: IdleFlush):
        self.cfg, self.job, self.anchor, self.sink, self.flush = cfg, job, anchor, sink, flush
        self.windows = self.alerts = self.late = 0

    def __call__(self, df, batch_id: int) -> None:
        began = time.monotonic()
        updates, latest, data_latest = updated_windows(df, self.cfg, self.job, self.anchor)
        computed = time.monotonic()
        written = self.sink.write(batch_id, updates, latest, self.job)
        self.flush.batch(data_latest)
        log.debug("micro-batch %d: %d windows updated, computed in %.0f ms, written in %.0f ms", batch_id,
                  len(updates), (computed - began) * 1000, (time.monotonic() - computed) * 1000)
        if written is not None:
            self.windows += len(written.rows)
            self.alerts += len(written.alerts)
            self.late += written.late
            if written.late:
                log.warning("micro-batch %d: %d windows already closed were updated by late rows: "
                            "ignored (live.allowed_lateness_seconds is %d)", batch_id, written.late,
                            self.cfg.live.allowed_lateness_seconds)
            if written.rows:
                # The state held shows the watermark dropping what it no longer needs (it stays level).
                held = self.flush.state_rows
                log.info("micro-batch %d: %d closed windows, %d alerts%s", batch_id, len(written.rows),
                         len(written.alerts), "" if held is None else f"; {held} rows held in state")


WARM_UP = "warm-up"
WARM_UP_MESSAGES = 2000     # enough calls of each path for the JIT to compile it


def warm_up_messages(cfg: Config, job: Job) -> list[dict]:
    """The warm-up's made-up messages of the job's topics, Kafka's columns with text for bytes."""
    topics = [cfg.topics.name(k) for k in job.topics]
    fields = (job.first.metric, job.second.metric)
    return [{"topic": topics[i % 2], "partition": 0, "offset": i,
             # The producer's form (compact): message_json's way for the data's messages.
             "value": json.dumps({"ts": f"{i // 7200 % 24:02d}:{i // 120 % 60:02d}:{i // 2 % 60:02d}",
                                  "server_id": WARM_UP, fields[i % 2]: 1.5 * i}, separators=(",", ":")),
             "headers": [{"key": EVENT_TIME_HEADER, "value": str((1000 + 7 * i) * 1000)},
                         {"key": ORIGIN_HEADER, "value": f"{WARM_UP}:{i}"}]} for i in range(WARM_UP_MESSAGES)]


def warm_up(spark, cfg: Config, job: Job, scratch: Path, stop: threading.Event) -> None:
    """One micro-batch of the query's own shape (the messages' parsing, watermark, de-duplication,
    windows, update mode, foreachBatch) on a few made-up messages of the job's topics, in a scratch
    folder, while the job waits for its first data: the first micro-batch of a fresh JVM loads and
    compiles most of what every later one runs, and it would otherwise be the first data's
    (bench/analysis.md)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "messages").mkdir(parents=True)
    messages = warm_up_messages(cfg, job)
    (scratch / "messages" / "messages.json").write_text("".join(json.dumps(m) + "\n" for m in messages))
    header = T.StructType([T.StructField("key", T.StringType()), T.StructField("value", T.StringType())])
    schema = T.StructType([T.StructField("topic", T.StringType()), T.StructField("partition", T.IntegerType()),
                           T.StructField("offset", T.LongType()), T.StructField("value", T.StringType()),
                           T.StructField("headers", T.ArrayType(header))])
    # Kafka's columns: value and the headers' values are bytes there.
    messages = spark.readStream.schema(schema).json(str(scratch / "messages")).select(
        "topic", "partition", "offset", F.col("value").cast("binary").alias("value"),
        F.transform("headers", lambda h: F.struct(h["key"].alias("key"), h["value"].cast("binary").alias("value")))
        .alias("headers"))
    anchor = stream_anchor.Anchor(1000, TIME_ONLY)
    began = time.monotonic()
    query = (_windows(state_columns(data_rows(messages, cfg, job)), cfg, job, anchor.t0)
             .writeStream.outputMode("update").queryName(WARM_UP)
             .option("checkpointLocation", str(scratch / "checkpoint")).trigger(availableNow=True)
             .foreachBatch(lambda df, _: updated_windows(df, cfg, job, anchor)).start())
    try:
        while query.isActive and not stop.is_set():
            query.awaitTermination(0.5)
    finally:
        query.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("warmed up in %.1f s (a micro-batch of made-up messages)", time.monotonic() - began)
    if not stop.is_set():
        warm_up_kafka(spark, cfg, job)


def warm_up_kafka(spark, cfg: Config, job: Job) -> None:
    """A batch read of one message of the job's topics (a fetch of one partition) through the same
    parsing: Kafka's client classes, the broker's metadata and the Kafka rows' code are then ready for
    the stream's first micro-batch. Short timeouts; a failure is only logged (DEBUG): the job goes on
    to wait for its data, and its stream reports what is wrong."""
    began = time.monotonic()
    try:
        (kafka_source(spark.read, cfg, job)
         .option("endingOffsets", "latest").option("fetchOffset.numRetries", "1")
         .option("kafka.default.api.timeout.ms", "5000").option("kafka.request.timeout.ms", "5000")
         .option("kafkaConsumer.pollTimeoutMs", "5000")
         # limit first: one message read, whatever the filter of data_rows would skip.
         .load().limit(1).transform(lambda messages: data_rows(messages, cfg, job)).collect())
    except Exception as exc:  # a warm-up only: the stream reports what is wrong
        why = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        log.debug("Kafka warm-up skipped after %.1f s: %s", time.monotonic() - began, why)
        return
    log.info("Kafka's client warmed up in %.1f s", time.monotonic() - began)


def _alerts_publisher(cfg: Config, stop: threading.Event):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        with stop_ends_connecting(stop):
            producer = KafkaProducer(**client_options(cfg), acks="all", enable_idempotence=True, linger_ms=5,
                                     max_block_ms=int(cfg.kafka.connect_timeout_seconds * 1000))
    except KafkaError as exc:
        raise JobError(unreachable_message(cfg, exc)) from None

    def publish(messages) -> None:
        futures = [producer.send(cfg.topics.alerts, key=key, value=value) for _, key, value in messages]
        producer.flush()
        try:
            for f in futures:
                f.get(timeout=60)
        except KafkaError as exc:
            # The batch fails; Spark stops the query, the unit restarts the job, the batch runs again.
            raise JobError(f"cannot publish alerts to {cfg.topics.alerts}: {exc}") from None

    return producer, publish


SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run(cfg: Config, job: Job, master: str | None = None) -> int:
    from kafka.errors import KafkaError

    live = cfg.live
    if not live.enabled:
        raise JobError("the live path is off (live.enabled: false in the config)")
    jars = connector_jars(cfg)
    folder = live.checkpoint_dir / job.stream
    if earlier_version(folder):
        # An upgrade: the live CSV is built again from the topics, under a checkpoint of this version.
        log.warning("the checkpoint %s is of an earlier version of the stream job: moved aside as %s",
                    folder, move_aside(folder).name)
    dropped = drop_checksums(folder / SPARK_CHECKPOINT)
    if dropped:
        log.info("%s: %d checksum files of an earlier version's checkpoint removed", job.stream, dropped)
    stop = threading.Event()
    # The JVM and the session take tens of seconds on 2 busy cores: start them before waiting for the
    # first data, so the first windows come a trigger after the data, not a JVM start later.
    # Each state partition is a task of every micro-batch, data or not: a few rows a second need one.
    spark = spark_session(cfg, master or cfg.spark.master, jars, app_name=job.stream,
                          shuffle_partitions=live.shuffle_partitions, java_options=STREAM_JAVA_OPTIONS,
                          settings=CHECKPOINT_SETTINGS)
    excluded = spark.conf.get("spark.sql.optimizer.excludedRules", "") or ""
    spark.conf.set("spark.sql.optimizer.excludedRules", ",".join(r for r in (excluded, PUSH_DOWN_RULE) if r))
    previous = [signal.signal(sig, lambda *_: stop.set()) for sig in SIGNALS]
    try:
        warm_up(spark, cfg, job, folder.with_name(f"{folder.name}.{WARM_UP}"), stop)
        topics = [cfg.topics.name(k) for k in job.topics]
        try:
            anchor = stream_anchor.anchor_for(cfg, folder, topics, stop)
        except StoppedWhileConnecting:
            log.info("%s: stopped before the broker answered; nothing was read", job.stream)
            return 0
        except KafkaError as exc:
            raise JobError(unreachable_message(cfg, exc)) from None
        if anchor is None:
            log.info("%s stopped before any data came", job.stream)
            return 0
        try:
            producer, publish = _alerts_publisher(cfg, stop)
        except StoppedWhileConnecting:
            return 0
        try:
            sink = LiveSink(cfg.output_dir / job.live_csv, job.header, folder, publish,
                            live.allowed_lateness_seconds)
            try:
                sink.open()
            except SinkError as exc:
                raise JobError(str(exc)) from None
            return _serve(cfg, job, spark, folder, anchor, sink, stop)
        finally:
            producer.close(timeout=10)
    finally:
        for sig, handler in zip(SIGNALS, previous):
            signal.signal(sig, handler)
        spark.stop()


def _serve(cfg, job, spark, folder, anchor, sink, stop) -> int:
    live = cfg.live
    marks_dir = folder / FLUSH_MARKS
    marks_dir.mkdir(parents=True, exist_ok=True)
    flush = IdleFlush(None, marks_dir, live.flush_after_seconds, cfg.window.duration_seconds,
                      live.allowed_lateness_seconds, stop, commits_dir=folder / SPARK_CHECKPOINT / "commits")
    batches = _Batches(cfg, job, anchor, sink, flush)
    # The sink closes windows in the batch that moves the latest event time past them (update mode):
    # a batch without data would change nothing but Spark's state.
    spark.conf.set("spark.sql.streaming.noDataMicroBatches.enabled", "false")
    started = time.monotonic()
    query = (_windows(_rows(spark, cfg, job, marks_dir), cfg, job, anchor.t0)
             .writeStream.outputMode("update").queryName(job.stream)
             .option("checkpointLocation", str(folder / SPARK_CHECKPOINT))
             .trigger(processingTime=f"{live.trigger_seconds:g} seconds")
             .foreachBatch(batches).start())
    log.info("%s started: %s -> %s, alerts to %s; a micro-batch every %g s, lateness %d s",
             job.stream, " and ".join(cfg.topics.name(k) for k in job.topics), sink.csv_path,
             cfg.topics.alerts, live.trigger_seconds, live.allowed_lateness_seconds)
    flush.query = query
    flush.start()
    while not stop.is_set() and query.isActive:
        stop.wait(1.0)
    failure = None if query.isActive else query.exception()
    stop.set()
    query.stop()
    flush.thread.join(timeout=5)
    if failure is not None:
        raise JobError(f"the streaming query failed: {str(failure).splitlines()[0][:500]}")
    log.info("%s stopped after %.0f s: %d closed windows, %d alerts written, %d late updates ignored",
             job.stream, time.monotonic() - started, batches.windows, batches.alerts, batches.late)
    return 0
