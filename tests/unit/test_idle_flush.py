"""The idle flush after a restart: Spark reports no watermark until a batch of the new run has
executed, so a job restarted after its data ended (a reboot, a kill before the flush) learns from
the checkpoint's last commit whether windows are open, and flushes them without new data."""
import json
import threading
import time

from monitoring.jobs.idle_flush import LAST_MARK, IdleFlush

LATENESS, DURATION = 120, 30


class IdleQuery:
    status = {"message": "Waiting for data to arrive", "isDataAvailable": False, "isTriggerActive": False}
    lastProgress = None


class BusyQuery(IdleQuery):
    """A first micro-batch of data that takes longer than flush_after: no progress until it ends."""
    status = {"message": "Processing new data", "isDataAvailable": True, "isTriggerActive": True}


def commit(folder, batch, watermark_s):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(batch)).write_text("v1\n" + json.dumps({"nextBatchWatermarkMs": watermark_s * 1000}))


def marks_after_restart(tmp_path, wait=1.0, query=IdleQuery, batches=()):
    marks = tmp_path / "flush-marks"
    stop = threading.Event()
    flush = IdleFlush(query(), marks, 0.2, DURATION, LATENESS, stop,
                      commits_dir=tmp_path / "commits", step=0.05).start()
    for data_latest in batches:
        flush.batch(data_latest)
    time.sleep(wait)
    stop.set()
    flush.thread.join(timeout=5)
    return sorted(json.loads(f.read_text())["t"] for f in marks.iterdir())


def test_windows_left_open_by_the_last_run_are_closed_after_a_restart(tmp_path):
    commit(tmp_path / "commits", 0, 40000)
    commit(tmp_path / "commits", 1, 43225)           # the latest event time seen: 43345
    assert marks_after_restart(tmp_path) == [43345 + DURATION + LATENESS]
    assert json.loads((tmp_path / LAST_MARK).read_text()) == {"t": 43345 + DURATION + LATENESS}


def test_no_second_mark_when_the_last_one_closed_everything(tmp_path):
    (tmp_path / LAST_MARK).write_text(json.dumps({"t": 43345}))
    commit(tmp_path / "commits", 3, 43345 - LATENESS)  # the watermark the mark itself set
    assert marks_after_restart(tmp_path) == []


def test_data_after_the_last_mark_is_flushed_again(tmp_path):
    (tmp_path / LAST_MARK).write_text(json.dumps({"t": 43345}))
    commit(tmp_path / "commits", 5, 43400 - LATENESS)
    assert marks_after_restart(tmp_path) == [43400 + DURATION + LATENESS]


def test_a_new_query_waits_for_its_first_data(tmp_path):
    assert marks_after_restart(tmp_path, wait=0.5) == []


def test_no_mark_while_a_long_batch_of_data_runs(tmp_path):
    commit(tmp_path / "commits", 1, 43225)
    assert marks_after_restart(tmp_path, query=BusyQuery) == []


def test_the_data_of_this_run_is_flushed_from_the_batches_the_sink_hands_over(tmp_path):
    # A fresh query (no commit yet): two batches of data, the later one with the latest event time.
    assert marks_after_restart(tmp_path, batches=[43300, 43345]) == [43345 + DURATION + LATENESS]


def test_a_batch_without_data_after_the_flush_calls_for_no_second_mark(tmp_path):
    # The mark's own micro-batch (or duplicates, or unusable messages) comes after the flush.
    marks, stop = tmp_path / "flush-marks", threading.Event()
    flush = IdleFlush(IdleQuery(), marks, 0.2, DURATION, LATENESS, stop, step=0.05).start()
    flush.batch(43345)
    time.sleep(0.6)
    assert len(list(marks.iterdir())) == 1 and flush.pending is False
    flush.batch(None)
    time.sleep(0.6)
    stop.set()
    flush.thread.join(timeout=5)
    assert len(list(marks.iterdir())) == 1 and flush.pending is False


def test_the_latest_event_time_is_the_latest_of_all_batches(tmp_path):
    # Partitions' skew: a later batch may hold earlier event times only.
    assert marks_after_restart(tmp_path, batches=[43345, 43300]) == [43345 + DURATION + LATENESS]


def test_a_batch_of_flush_marks_alone_is_not_new_data(tmp_path):
    # The last run's mark closed everything: its own batch, re-run after the restart, opens nothing.
    commit(tmp_path / "commits", 3, 43300)              # data seen up to 43300 + LATENESS
    (tmp_path / LAST_MARK).write_text(json.dumps({"t": 43300 + LATENESS}))
    stop = threading.Event()
    flush = IdleFlush(IdleQuery(), tmp_path / "flush-marks", 0.2, DURATION, LATENESS, stop,
                      commits_dir=tmp_path / "commits", step=0.05)
    flush.latest = 43345          # as if the data's latest were known: only `pending` holds a mark back
    flush.start()
    flush.batch(None)
    time.sleep(0.6)
    stop.set()
    flush.thread.join(timeout=5)
    assert flush.pending is False and not list((tmp_path / "flush-marks").iterdir())


class Operator:
    def __init__(self, rows):
        self.numRowsTotal = rows


class ReportingQuery(IdleQuery):
    """Spark's latest progress, the fields the flush reads (pyspark's StreamingQueryProgress)."""
    calls = 0

    @property
    def lastProgress(self):
        ReportingQuery.calls += 1
        progress = type("Progress", (), {})()
        progress.batchId, progress.numInputRows = 7, 120
        progress.stateOperators = [Operator(300), Operator(45)]
        progress.durationMs = {"addBatch": 10, "triggerExecution": 12}
        return progress


class BrokenReportQuery(IdleQuery):
    @property
    def lastProgress(self):
        raise RuntimeError("py4j is gone")


def test_the_state_rows_come_from_the_latest_progress(tmp_path):
    stop = threading.Event()
    flush = IdleFlush(ReportingQuery(), tmp_path / "flush-marks", 60, DURATION, LATENESS, stop, step=0.05).start()
    time.sleep(0.3)
    stop.set()
    flush.thread.join(timeout=5)
    assert flush.state_rows == 345 and flush.reported == 7 and ReportingQuery.calls >= 2


def test_a_progress_that_cannot_be_read_does_not_stop_the_flush(tmp_path):
    assert marks_after_restart(tmp_path, query=BrokenReportQuery, batches=[43345]) == [43345 + DURATION + LATENESS]
