"""The wiring holds together: every topic is read by one consumer, every job reads its consumer's
CSVs, every field and threshold it names exists; `describe` prints all of it."""
import dataclasses
import json

from monitoring.cli import main
from monitoring.core.config import Thresholds
from monitoring.wiring import CONSUMERS, DATA_COLUMNS, JOBS, TOPICS, describe


def test_every_topic_carries_the_row_key_and_columns_of_the_data_file():
    for t in TOPICS.values():
        assert t.fields[:2] == ("ts", "server_id") and set(t.fields) <= set(DATA_COLUMNS), t.key
    assert len({t.default_name for t in TOPICS.values()}) == len({t.csv for t in TOPICS.values()}) == len(TOPICS)


def test_every_topic_is_read_by_exactly_one_consumer():
    read = [k for c in CONSUMERS.values() for k in c.topics]
    assert sorted(read) == sorted(TOPICS)


def test_every_job_reads_its_consumers_csvs_and_names_real_columns_and_thresholds():
    thresholds = {f.name for f in dataclasses.fields(Thresholds)}
    assert sorted(j.consumer for j in JOBS.values()) == sorted(CONSUMERS)
    for job in JOBS.values():
        assert (job.first.file, job.second.file) == CONSUMERS[job.consumer].csvs, job.name
        for m in (job.first, job.second):
            assert m.metric in m.columns and m.aggregate in ("avg", "max") and m.threshold_key in thresholds
        assert len(set(job.header)) == len(job.header)
    assert len({j.suffix for j in JOBS.values()}) == len(JOBS)


def test_describe_json_prints_the_wiring(capsys):
    assert main(["describe", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == describe()
    assert printed["consumers"]["consumer2"]["csvs"] == list(CONSUMERS["consumer2"].csvs)
    assert printed["jobs"]["spark-job1"]["header"] == list(JOBS["spark-job1"].header)
