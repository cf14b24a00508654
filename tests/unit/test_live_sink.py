"""The live sink: each micro-batch's rows once in the live CSV, its alerts published before."""
import pytest

from monitoring.core.alert_messages import Alert
from monitoring.jobs.live_sink import LiveSink, SinkError
from monitoring.wiring import STREAM_JOBS

JOB = STREAM_JOBS["stream-job1"]
ROW = ("server_1", "10:00:00", "10:00:30", "91.00", "50.00", JOB.labels.first_only)
ALERT = Alert(JOB.stream, *ROW[:3], ROW[3], ROW[4], ROW[5])


class Broker:
    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    def __call__(self, messages):
        if self.fail:
            raise RuntimeError("broker gone")
        self.sent += [value for _, _, value in messages]


def sink(tmp_path, broker):
    s = LiveSink(tmp_path / JOB.live_csv, JOB.header, tmp_path / "ck", broker)
    s.open()
    return s


def body(tmp_path):
    return (tmp_path / JOB.live_csv).read_text().splitlines()


def test_a_batch_is_written_once_even_when_spark_runs_it_again(tmp_path):
    broker = Broker()
    s = sink(tmp_path, broker)
    assert s.write(0, [ROW], [ALERT], JOB)
    assert not s.write(0, [ROW], [ALERT], JOB)
    s = sink(tmp_path, broker)            # a restart: the checkpoint says batch 0 is written
    assert not s.write(0, [ROW], [ALERT], JOB)
    assert body(tmp_path) == [",".join(JOB.header), ",".join(ROW)]
    assert len(broker.sent) == 1


def test_a_tail_written_after_the_checkpoint_is_cut_and_the_batch_written_again(tmp_path):
    broker = Broker()
    s = sink(tmp_path, broker)
    s.write(0, [ROW], [], JOB)
    with open(tmp_path / JOB.live_csv, "a") as f:   # batch 1 half written, then SIGKILL
        f.write("server_2,10:00")
    s = sink(tmp_path, broker)
    second = ("server_2", *ROW[1:5], "")
    s.write(1, [second], [], JOB)
    assert body(tmp_path)[1:] == [",".join(ROW), "server_2,10:00:00,10:00:30,91.00,50.00,"]


def test_alerts_go_out_before_the_rows_and_a_failed_publish_writes_nothing(tmp_path):
    s = sink(tmp_path, Broker(fail=True))
    with pytest.raises(RuntimeError):
        s.write(0, [ROW], [ALERT], JOB)
    assert body(tmp_path) == [",".join(JOB.header)]
    broker = Broker()
    s = sink(tmp_path, broker)
    assert s.write(0, [ROW], [ALERT], JOB) and len(broker.sent) == 1


def test_a_live_csv_the_checkpoint_does_not_know_is_moved_aside(tmp_path):
    (tmp_path / JOB.live_csv).write_text("old\n")
    sink(tmp_path, Broker())
    assert body(tmp_path) == [",".join(JOB.header)]
    assert [p.read_text() for p in tmp_path.glob(f"{JOB.live_csv}.*.aside")] == ["old\n"]


def test_a_live_csv_shorter_than_its_checkpoint_is_refused_by_name(tmp_path):
    s = sink(tmp_path, Broker())
    s.write(0, [ROW], [], JOB)
    (tmp_path / JOB.live_csv).write_text("x\n")
    with pytest.raises(SinkError, match="shorter than its checkpoint"):
        sink(tmp_path, Broker())
