"""The alert rule as it runs: the Spark expression the jobs evaluate (monitoring.jobs.alert_rule),
on a local Spark, with generated code and interpreted. Values go in as the job's aggregates come
out of round(): doubles for an average, floats for a maximum."""
import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.jobs.alert_rule import above, alert_column, written_value
from monitoring.wiring import JOBS

CPU_MEM = JOBS["spark-job1"]
NET_DISK = JOBS["spark-job2"]


def _frame(engine, pairs, kind):
    schema = T.StructType([T.StructField("a", kind), T.StructField("b", kind)])
    rows = [(None if a in ("", None) else float(a), None if b in ("", None) else float(b)) for a, b in pairs]
    return engine.createDataFrame(rows, schema)


def alerts(engine, job, pairs, thresholds, kind=T.DoubleType()):
    """The alert field the team CSV gets for each (first, second) pair; '' for none."""
    df = _frame(engine, pairs, kind)
    col = alert_column(job.labels, written_value(F.col("a")), thresholds[0], written_value(F.col("b")), thresholds[1])
    return [r.alert or "" for r in df.select(col.alias("alert")).collect()]


@pytest.mark.parametrize("value,expected", [("80.00", False), ("80.01", True), ("79.99", False), ("", False),
                                            (None, False)])
def test_strictly_above_on_the_written_value(engine, value, expected):
    df = _frame(engine, [(value, None)], T.DoubleType())
    assert df.select(above(written_value(F.col("a")), 80.0).alias("x")).first().x is expected


CPU_MEM_CASES = [
    ("80.01", "85.01", "High CPU + Memory stress"),
    ("80.01", "85.00", "CPU spike suspected"),
    ("80.00", "85.01", "Memory saturation suspected"),
    ("80.00", "85.00", ""),
    ("", "90.00", "Memory saturation suspected"),
    ("95.00", "", "CPU spike suspected"),
    ("", "", ""),
]


def test_cpu_mem_branches_at_their_thresholds(engine):
    pairs = [(cpu, mem) for cpu, mem, _ in CPU_MEM_CASES]
    assert alerts(engine, CPU_MEM, pairs, (80.0, 85.0)) == [label for _, _, label in CPU_MEM_CASES]


NET_DISK_CASES = [
    ("5000.01", "1500.01", "Network flood + Disk thrash suspected"),
    ("5000.01", "1500.00", "Possible DDoS"),
    ("5000.00", "1500.01", "Disk thrash suspected"),
    ("5000.00", "1500.00", ""),
]


@pytest.mark.parametrize("kind", [T.FloatType(), T.DoubleType()], ids=["float", "double"])
def test_net_disk_branches_at_their_thresholds(engine, kind):
    pairs = [(net, disk) for net, disk, _ in NET_DISK_CASES]
    assert alerts(engine, NET_DISK, pairs, (5000.0, 1500.0), kind) == [label for _, _, label in NET_DISK_CASES]


def test_threshold_with_decimals_is_compared_as_written(engine):
    # 80.1 as a double is 80.0999...: the rule compares with 80.10, as the config wrote it.
    assert alerts(engine, CPU_MEM, [("80.10", "0"), ("80.11", "0")], (80.1, 85.0)) == ["", "CPU spike suspected"]
