"""The grid's anchor read on the driver for small inputs: the earliest event time, or None (then
Spark computes it) whenever a row is not in the form the consumers and the hand-written path write."""
import pytest

from monitoring.jobs import windowed_job
from monitoring.jobs.windowed_job import driver_anchor
from monitoring.wiring import EVENT_TIME_COLUMN, JOBS

JOB2 = JOBS["spark-job2"]  # its first input has two values, only one of which the job reads


def events(tmp, job, first_rows, second_rows):
    paths = []
    for inp, rows in zip((job.first, job.second), (first_rows, second_rows)):
        path = tmp / inp.file
        path.write_text(",".join((EVENT_TIME_COLUMN, *inp.columns)) + "\n" + "".join(r + "\n" for r in rows))
        paths.append(path)
    return paths


def net(t, value="1.00", other="2.00", server="s1"):
    cols = {JOB2.first.metric: value}
    values = [cols.get(c, other) for c in JOB2.first.columns[2:]]
    return ",".join((str(t), "10:00:00", server, *values))


def disk(t, value="3.00", server="s1"):
    return f"{t},10:00:00,{server},{value}"


def test_the_earliest_time_of_both_inputs_not_the_first_row(tmp_path):
    paths = events(tmp_path, JOB2, [net(36005), net(36000), net(36010)], [disk(36020), "", disk(35999)])
    assert driver_anchor(paths, JOB2) == 35999


def test_dated_and_negative_event_times(tmp_path):
    paths = events(tmp_path, JOB2, [net(1767261600)], [disk(-5)])
    assert driver_anchor(paths, JOB2) == -5
    paths = events(tmp_path, JOB2, [net((1 << 63) - 1)], [disk(-(1 << 63))])
    assert driver_anchor(paths, JOB2) == -(1 << 63)


@pytest.mark.parametrize("row", [
    disk(""), disk("1.5"), disk("+7"), disk(" 7"), disk(7, server=""), disk(7, server=" s1"),
    disk(7, value=""), disk(7, value="NaN"), disk(7, value="1e3"), disk(7, value="9" * 40),
    disk(7) + ",extra", disk(7) + "\r", '7,10:00:00,"s1",3.00', disk(-(1 << 63) - 1), disk(1 << 63),
    disk("9" * 5000), disk(7, value="\u0663.00"), disk("\uff17"), '7,"10:00:00,s1,3.00', '7,10\\:00,s1,3.00'])
def test_a_row_spark_might_read_otherwise_leaves_the_anchor_to_spark(tmp_path, row):
    paths = events(tmp_path, JOB2, [net(10)], [row])
    assert driver_anchor(paths, JOB2) is None


def test_the_value_the_job_does_not_read_is_not_checked(tmp_path):
    paths = events(tmp_path, JOB2, [net(10, other="x")], [disk(11)])
    assert driver_anchor(paths, JOB2) == 10


def test_no_row_or_too_large_an_input_leaves_it_to_spark(tmp_path, monkeypatch):
    assert driver_anchor(events(tmp_path, JOB2, [], [""]), JOB2) is None
    paths = events(tmp_path, JOB2, [net(10)], [disk(11)])
    monkeypatch.setattr(windowed_job, "DRIVER_ANCHOR_BYTES", sum(p.stat().st_size for p in paths) - 1)
    assert driver_anchor(paths, JOB2) is None


@pytest.mark.parametrize("head", ["\n", " \n", "\ufeff\n", "ts,server_id,disk_io\n"])
def test_a_first_line_other_than_the_writers_header_leaves_it_to_spark(tmp_path, head):
    paths = events(tmp_path, JOB2, [net(10)], [disk(11)])
    paths[1].write_text(head + disk(5) + "\n" + disk(11) + "\n")
    assert driver_anchor(paths, JOB2) is None
