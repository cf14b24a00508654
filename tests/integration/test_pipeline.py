"""The whole pipeline on loopback: sample data -> real Kafka -> consumers -> real Spark -> team CSVs.

The team CSVs must equal tests/support/reference.py, an independent pure-Python reading of the
contract, byte for byte.
"""
import pytest

from tests.support import reference
from tests.support.pipeline import (SAMPLE, Service, assert_exactly_once, expected_consumer_rows, run, team_csv,
                                    topics_of, wait_caught_up, write_config)


@pytest.fixture(scope="module")
def sample_run(kafka_broker, tmp_path_factory):
    work = tmp_path_factory.mktemp("pipeline")
    kafka_broker.create_topics(topics_of("sample"), partitions=3)
    config = write_config(work, kafka_broker.bootstrap_servers, "sample")
    consumers = [Service(config, role, work).start() for role in ("consumer1", "consumer2")]
    try:
        produced = run(config, "producer")
        for role in ("consumer1", "consumer2"):
            wait_caught_up(config, role)
    finally:
        codes = [c.stop() for c in consumers]
    return work, config, produced, codes, consumers


def test_producer_publishes_every_row_and_says_so(sample_run):
    _, _, produced, _, _ = sample_run
    assert produced.returncode == 0, produced.stderr[-2000:]
    assert "done: 28800 rows read, 0 rejected, 115200 messages acknowledged of 115200 sent" in produced.stderr


def test_consumers_write_each_message_exactly_once(sample_run):
    work, _, _, codes, consumers = sample_run
    assert codes == [0, 0], [c.text()[-2000:] for c in consumers]
    assert_exactly_once(work / "output", expected_consumer_rows(SAMPLE))
    assert "consumer1 stopped: 57600 rows written" in consumers[0].text()


@pytest.mark.parametrize("job,expected,name", [
    ("spark-job1", reference.expected_cpu_mem_file, team_csv("spark-job1")),
    ("spark-job2", reference.expected_net_disk_file, team_csv("spark-job2")),
])
def test_spark_jobs_equal_the_independent_reference(sample_run, job, expected, name):
    work, config, _, _, _ = sample_run
    res = run(config, job)
    assert res.returncode == 0, res.stderr[-3000:]
    output = work / "output"
    got = (output / name).read_text()
    want = expected(str(output))
    assert got.count("\n") == 14_401
    assert got == want
    leftovers = [p.name for p in output.iterdir() if p.name.startswith(f".{name}")]
    assert not leftovers, f"temporary Spark output left behind: {leftovers}"
    alerts = {line.rsplit(",", 1)[1] for line in got.splitlines()[1:]}
    assert len(alerts) == 4, f"the sample should trip every alert kind, got {alerts}"
