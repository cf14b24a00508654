"""The live sink: the windows each micro-batch closes once in the live CSV, their alerts published before."""
import json

import pytest

from monitoring.core.alert_messages import Alert
from monitoring.jobs.live_sink import LiveSink, SinkError, earlier_version
from monitoring.jobs.window_closing import Window
from monitoring.wiring import STREAM_JOBS

JOB = STREAM_JOBS["stream-job1"]
LATENESS = 10
ROW = ("server_1", "10:00:00", "10:00:30", "91.00", "50.00", JOB.labels.first_only)
ALERT = Alert(JOB.stream, *ROW[:3], ROW[3], ROW[4], ROW[5])
END = 36030         # 10:00:30
CLOSES = END + LATENESS


def update(row=ROW, k=0, end=END):
    return Window(row[0], k, end, row)


class Broker:
    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    def __call__(self, messages):
        if self.fail:
            raise RuntimeError("broker gone")
        self.sent += [value for _, _, value in messages]


def sink(tmp_path, broker):
    s = LiveSink(tmp_path / JOB.live_csv, JOB.header, tmp_path / "ck", broker, LATENESS)
    s.open()
    return s


def body(tmp_path):
    return (tmp_path / JOB.live_csv).read_text().splitlines()


def test_a_batch_is_written_once_even_when_spark_runs_it_again(tmp_path):
    broker = Broker()
    s = sink(tmp_path, broker)
    assert s.write(0, [update()], CLOSES, JOB).alerts == [ALERT]
    assert s.write(0, [update()], CLOSES, JOB) is None
    s = sink(tmp_path, broker)            # a restart: the checkpoint says batch 0 is written
    assert s.write(0, [update()], CLOSES, JOB) is None
    assert body(tmp_path) == [",".join(JOB.header), ",".join(ROW)]
    assert len(broker.sent) == 1


def test_a_tail_written_after_the_checkpoint_is_cut_and_the_batch_written_again(tmp_path):
    broker = Broker()
    s = sink(tmp_path, broker)
    s.write(0, [update(ROW[:5] + ('',))], CLOSES, JOB)
    with open(tmp_path / JOB.live_csv, "a") as f:   # batch 1 half written, then SIGKILL
        f.write("server_2,10:00")
    s = sink(tmp_path, broker)
    second = ("server_2", "10:00:10", "10:00:40", *ROW[3:5], "")
    s.write(1, [update(second, k=1, end=END + 10)], CLOSES + 10, JOB)
    assert body(tmp_path)[1:] == ["server_1,10:00:00,10:00:30,91.00,50.00,", "server_2,10:00:10,10:00:40,91.00,50.00,"]


def test_alerts_go_out_before_the_rows_and_a_failed_publish_writes_nothing(tmp_path):
    s = sink(tmp_path, Broker(fail=True))
    with pytest.raises(RuntimeError):
        s.write(0, [update()], CLOSES, JOB)
    assert body(tmp_path) == [",".join(JOB.header)]
    broker = Broker()
    s = sink(tmp_path, broker)
    assert s.write(0, [update()], CLOSES, JOB) and len(broker.sent) == 1


def test_a_live_csv_the_checkpoint_does_not_know_is_moved_aside(tmp_path):
    (tmp_path / JOB.live_csv).write_text("old\n")
    sink(tmp_path, Broker())
    assert body(tmp_path) == [",".join(JOB.header)]
    assert [p.read_text() for p in tmp_path.glob(f"{JOB.live_csv}.*.aside")] == ["old\n"]


def test_a_live_csv_shorter_than_its_checkpoint_is_refused_by_name(tmp_path):
    s = sink(tmp_path, Broker())
    s.write(0, [update(ROW[:5] + ('',))], CLOSES, JOB)
    (tmp_path / JOB.live_csv).write_text("x\n")
    with pytest.raises(SinkError, match="shorter than its checkpoint"):
        sink(tmp_path, Broker())


def test_a_window_is_written_in_the_batch_that_takes_the_latest_time_lateness_past_its_end(tmp_path):
    broker = Broker()
    s = sink(tmp_path, broker)
    early = ROW[:3] + ("20.00", "50.00", "")
    assert s.write(0, [update(early)], END - 1, JOB).rows == []        # open: its last value kept
    assert s.write(1, [update()], CLOSES - 1, JOB).rows == []          # updated, still open
    s = sink(tmp_path, broker)            # a restart keeps the open window and its latest value
    written = s.write(2, [], CLOSES, JOB)  # a batch of later rows (or a flush mark) closes it
    assert written.rows == [ROW] and written.alerts == [ALERT]
    assert body(tmp_path)[1:] == [",".join(ROW)]
    late = s.write(3, [update(early)], CLOSES + 5, JOB)     # Spark still counted a late row in it
    assert late.rows == [] and late.late == 1
    assert body(tmp_path)[1:] == [",".join(ROW)] and len(broker.sent) == 1


def test_a_checkpoint_of_the_append_mode_job_is_known_and_refused_by_name(tmp_path):
    sink(tmp_path, Broker())
    assert not earlier_version(tmp_path / "ck") and not earlier_version(tmp_path / "none")
    (tmp_path / "ck" / "sink.json").write_text(json.dumps({"batch_id": 4, "csv_bytes": 60}))
    assert earlier_version(tmp_path / "ck")      # the job moves such a folder aside before it starts
    with pytest.raises(SinkError, match="earlier version of the stream job: remove that folder"):
        sink(tmp_path, Broker())
