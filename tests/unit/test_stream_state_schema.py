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
