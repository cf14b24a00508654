"""The stream job's state schema is the same whichever sources a micro-batch holds.

Spark checks a stateful operator's key schema against its checkpoint at the first micro-batch of a
run and prunes the empty side of the union (a batch of data alone, of flush marks alone, or of
neither) before it plans the batch. If the nullability of a state column changed with that shape, a
restarted job failed with STATE_STORE_KEY_SCHEMA_NOT_COMPATIBLE (seen in tests/integration/
test_live_path.py). These are the job's own frames (monitoring.jobs.stream_job), on batch frames
with the Kafka source's schema (all of its columns nullable, as the connector declares them).
"""
from pyspark.sql import types as T

from monitoring.config_file import load_config
from monitoring.jobs.stream_job import data_rows, mark_rows, state_columns
from monitoring.wiring import STREAM_JOBS
from tests.support.pipeline import EXAMPLE_CONFIG

KAFKA = T.StructType([T.StructField("key", T.BinaryType()), T.StructField("value", T.BinaryType()),
                      T.StructField("topic", T.StringType()), T.StructField("partition", T.IntegerType()),
                      T.StructField("offset", T.LongType()), T.StructField("timestamp", T.TimestampType()),
                      T.StructField("timestampType", T.IntegerType()),
                      T.StructField("headers", T.ArrayType(T.StructType([T.StructField("key", T.StringType()),
                                                                           T.StructField("value", T.BinaryType())])))])
MARKS = T.StructType([T.StructField("t", T.LongType())])


def test_each_shape_of_a_micro_batch_has_one_state_schema(spark):
    cfg = load_config(EXAMPLE_CONFIG)
    for job in STREAM_JOBS.values():
        data = data_rows(spark.createDataFrame([], KAFKA), cfg, job)
        marks = mark_rows(spark.createDataFrame([], MARKS))
        shapes = {"data alone": state_columns(data), "marks alone": state_columns(marks),
                  "both": state_columns(data.unionByName(marks))}
        schemas = {name: [(f.name, f.dataType.simpleString(), f.nullable) for f in df.schema.fields]
                   for name, df in shapes.items()}
        assert schemas["data alone"] == schemas["marks alone"] == schemas["both"], schemas
        keys = {name: nullable for name, _, nullable in schemas["both"] if name in ("key", "t", "server_id")}
        assert keys == {"key": False, "t": False, "server_id": False}


def test_messages_with_any_headers_become_rows(spark):
    """The file producer's messages carry the event time and their origin, the live source's the event
    time alone, another producer's none or others: each is a row, none fails the query (ANSI mode)."""
    cfg = load_config(EXAMPLE_CONFIG)
    job = STREAM_JOBS["stream-job1"]
    topic = cfg.topics.name("cpu")
    value = b'{"ts": "2026-12-03 16:52:04", "server_id": "web1", "cpu_pct": 12.5}'
    event = ("event_time", b"1796316724000")
    msgs = [("file", [event, ("origin", b"abc:7")]), ("live", [event]), ("foreign", [("x", b"y")]),
            ("bare", []), ("null", None)]
    frame = spark.createDataFrame([(None, value, topic, 0, i, None, 0, headers) for i, (_, headers) in enumerate(msgs)],
                                  KAFKA)
    rows = data_rows(frame, cfg, job).orderBy("key").collect()
    assert [(r["key"], r["t"], r["server_id"], r["v1"]) for r in rows] == [
        (f"{topic}/0/1", 1796316724, "web1", 12.5),           # live: its place in the topic
        (f"{topic}/0/2", 1796316724, "web1", 12.5),           # foreign headers: placed by its ts
        (f"{topic}/0/3", 1796316724, "web1", 12.5),
        (f"{topic}/0/4", 1796316724, "web1", 12.5),
        (f"{topic}/abc:7", 1796316724, "web1", 12.5),         # file: its data file line
    ]


def test_an_impossible_date_or_event_time_is_an_unusable_message_not_a_failed_query(spark):
    """Under ANSI mode a ts of 2026-02-30 or an event time past a long's range (or past the timestamps')
    failed the whole query
    (and again after every restart, the message being still there): each is skipped, as the
    consumers skip a row they cannot place, and the messages around it are rows."""
    cfg = load_config(EXAMPLE_CONFIG)
    job = STREAM_JOBS["stream-job1"]
    topic = cfg.topics.name("cpu")

    msgs = [('{"ts": "2026-12-03 16:52:04", "server_id": "web1", "cpu_pct": 12.5}', [("event_time", b"1796316724000")]),
            ('{"ts": "2026-02-30 10:00:00", "server_id": "web1", "cpu_pct": 12.5}', []),
            ('{"ts": "2026-12-03 16:52:04", "server_id": "web1", "cpu_pct": 12.5}',
             [("event_time", b"123456789012345678901234567890")]),
            ('{"ts": "2026-12-03 16:52:04", "server_id": "web1", "cpu_pct": 12.5}', [("event_time", b"9000000000000000000")]),
            ('{"ts": "2026-12-03 16:52:04", "server_id": "web1", "cpu_pct": 12.5}', [("event_time", b"253402300800000")]),
            ('{"ts": "2026-12-03 16:52:09", "server_id": "web1", "cpu_pct": 13.5}', [])]
    frame = spark.createDataFrame([(None, v.encode(), topic, 0, i, None, 0, h) for i, (v, h) in enumerate(msgs)], KAFKA)
    rows = data_rows(frame, cfg, job).orderBy("key").collect()
    assert [(r["key"], r["t"], r["v1"]) for r in rows] == [(f"{topic}/0/0", 1796316724, 12.5),
                                                           (f"{topic}/0/5", 1796316729, 13.5)]
