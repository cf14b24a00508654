"""The exactly-once CSV sink on real files: torn tails, lost checkpoints, re-sent rows, write errors."""
import errno
import json

import pytest

from monitoring.consumers.sink import CsvSink, CsvTarget, Row, SinkError
from monitoring.wiring import EVENTS_DIR, TOPICS

CPU = TOPICS["cpu"]
HEADER = CPU.fields
CSV = CPU.csv
DIGEST = "0123456789abcdef"


def sink(folder, fsync=True):
    return CsvSink(folder, "consumer1", [CsvTarget("cpu", "t-cpu", folder / CSV, HEADER)], fsync)


def row(ts, server, value, line=None, digest=DIGEST, t=None):
    h, m, s = (int(x) for x in ts.split(":"))
    return Row((ts, server, value), t if t is not None else h * 3600 + m * 60 + s,
               None if line is None else (digest, line))


def test_fresh_start_writes_headers_and_a_checkpoint(tmp_path):
    s = sink(tmp_path)
    assert s.restore() == {}
    assert (tmp_path / CSV).read_text() == "ts,server_id,cpu_pct\n"
    assert (tmp_path / EVENTS_DIR / CSV).read_text() == "event_time,ts,server_id,cpu_pct\n"
    doc = json.loads((tmp_path / ".consumer1.checkpoint.json").read_text())
    assert doc["lengths"] == {CSV: 21, f"{EVENTS_DIR}/{CSV}": 32} and doc["offsets"] == {}


def test_each_row_goes_to_the_csv_and_with_its_event_time_to_events(tmp_path):
    s = sink(tmp_path)
    s.restore()
    assert s.append({"cpu": [row("23:59:59", "s1", "1.00", 1), row("00:00:04", "s1", "2.00", 2, t=86404)]},
                    {"t-cpu:0": 2}) == (2, 0)
    assert (tmp_path / CSV).read_text().splitlines()[1:] == ["23:59:59,s1,1.00", "00:00:04,s1,2.00"]
    assert (tmp_path / EVENTS_DIR / CSV).read_text().splitlines()[1:] == [
        "86399,23:59:59,s1,1.00", "86404,00:00:04,s1,2.00"]


def test_duplicate_rows_of_the_data_are_kept_re_sent_lines_are_dropped(tmp_path):
    s = sink(tmp_path)
    s.restore()
    # the same (ts, server_id) twice in the data file: two lines, two rows
    rows = [row("10:00:00", "s1", "1.00", 2), row("10:00:00", "s1", "3.00", 3), row("10:00:05", "s2", "2.00", 4)]
    assert s.append({"cpu": rows}, {"t-cpu:0": 3}) == (3, 0)
    # the producer ran again over the same file: every line is known for its server
    assert s.append({"cpu": rows}, {"t-cpu:0": 6}) == (0, 3)
    again = sink(tmp_path)
    assert again.restore() == {"t-cpu:0": 6}
    assert again.rows["cpu"] == 3
    assert again.append({"cpu": rows + [row("10:00:10", "s1", "4.00", 5)]}, {"t-cpu:0": 10}) == (1, 3)
    # rows without an origin (the live source) are never taken for re-sent ones
    assert again.append({"cpu": [row("10:00:00", "s1", "1.00"), row("10:00:00", "s1", "1.00")]},
                        {"t-cpu:0": 12}) == (2, 0)


def test_another_data_file_is_written_and_said(tmp_path, caplog):
    s = sink(tmp_path)
    s.restore()
    s.append({"cpu": [row("10:00:00", "s1", "1.00", 2)]}, {"t-cpu:0": 1})
    caplog.set_level("WARNING")
    assert s.append({"cpu": [row("10:00:00", "s1", "9.00", 2, digest="fedcba9876543210")]}, {"t-cpu:0": 2}) == (1, 0)
    assert "rows of another data file arrived (digest fedcba9876543210; before: 0123456789abcdef)" in caplog.text
    assert "Starting afresh" in caplog.text
    assert sink(tmp_path).restore() and s.digests == [DIGEST, "fedcba9876543210"]


def test_a_torn_tail_after_the_checkpoint_is_cut_and_read_again(tmp_path):
    s = sink(tmp_path)
    s.restore()
    s.append({"cpu": [row("10:00:00", "s1", "1.00", 2)]}, {"t-cpu:0": 1})
    with open(tmp_path / CSV, "a") as f:
        f.write("10:00:05,s1,2.00\n10:00:10,s")  # written, but killed before the checkpoint
    with open(tmp_path / EVENTS_DIR / CSV, "a") as f:
        f.write("36005,10:00:05,s1,2.00\n")
    again = sink(tmp_path)
    assert again.restore() == {"t-cpu:0": 1}
    assert (tmp_path / CSV).read_text() == "ts,server_id,cpu_pct\n10:00:00,s1,1.00\n"
    assert (tmp_path / EVENTS_DIR / CSV).read_text().splitlines()[1:] == ["36000,10:00:00,s1,1.00"]
    # the line after the checkpoint is not known yet: it is written when read again
    assert again.append({"cpu": [row("10:00:05", "s1", "2.00", 3)]}, {"t-cpu:0": 2}) == (1, 0)


def test_rows_no_checkpoint_counts_are_moved_aside_and_read_again(tmp_path, caplog):
    (tmp_path / CSV).write_text("ts,server_id,cpu_pct\n10:00:00,s1,1.00\n10:00:05,s")
    s = sink(tmp_path)
    caplog.set_level("WARNING")
    assert s.restore() == {}
    assert s.rows["cpu"] == 0
    assert "no checkpoint counts them; moved aside" in caplog.text
    aside = list(tmp_path.glob(f"{CSV}.*.aside"))
    assert len(aside) == 1 and aside[0].read_text().endswith("10:00:05,s")


def test_a_csv_shorter_than_its_checkpoint_rereads_its_topic(tmp_path):
    s = sink(tmp_path)
    s.restore()
    s.append({"cpu": [row("10:00:00", "s1", "1.00", 2), row("10:00:05", "s1", "2.00", 3)]}, {"t-cpu:0": 2})
    (tmp_path / CSV).write_text("ts,server_id,cpu_pct\n10:00:00,s1,1.00\n")
    again = sink(tmp_path)
    assert again.restore() == {}
    assert again.rows["cpu"] == 0
    # read again from the start, every line is written again, once
    assert again.append({"cpu": [row("10:00:00", "s1", "1.00", 2), row("10:00:05", "s1", "2.00", 3)]},
                        {"t-cpu:0": 2}) == (2, 0)


def test_a_foreign_csv_is_left_alone(tmp_path):
    (tmp_path / CSV).write_text("a,b\n1,2\n")
    with pytest.raises(SinkError, match="does not start with the header"):
        sink(tmp_path).restore()
    assert (tmp_path / CSV).read_text() == "a,b\n1,2\n"


def test_an_old_checkpoint_starts_over_with_the_old_files_kept(tmp_path, caplog):
    (tmp_path / CSV).write_text("ts,server_id,cpu_pct\n10:00:00,s1,1.00\n")
    (tmp_path / ".consumer1.checkpoint.json").write_text(
        json.dumps({"version": 1, "offsets": {"t-cpu:0": 1}, "lengths": {CSV: 39}}))
    caplog.set_level("WARNING")
    assert sink(tmp_path).restore() == {}
    assert "of another version: starting over" in caplog.text
    assert list(tmp_path.glob(f"{CSV}.*.aside"))


def test_a_failed_write_changes_nothing(tmp_path, monkeypatch):
    s = sink(tmp_path)
    s.restore()
    s.append({"cpu": [row("10:00:00", "s1", "1.00", 2)]}, {"t-cpu:0": 1})
    files = (tmp_path / CSV, tmp_path / EVENTS_DIR / CSV, tmp_path / ".consumer1.checkpoint.json")
    before = [f.read_bytes() for f in files]

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("monitoring.consumers.sink.os.replace", full)
    with pytest.raises(OSError):
        s.append({"cpu": [row("10:00:05", "s1", "2.00", 3)]}, {"t-cpu:0": 2})
    monkeypatch.undo()
    assert [f.read_bytes() for f in files] == before
    assert s.offsets == {"t-cpu:0": 1}
    assert s.append({"cpu": [row("10:00:05", "s1", "2.00", 3)]}, {"t-cpu:0": 2}) == (1, 0)


def test_the_broker_watch_says_lost_once_and_back_once(caplog):
    from types import SimpleNamespace

    from monitoring.consumers.consumer import BrokerWatch

    now = [0.0]
    cfg = SimpleNamespace(kafka=SimpleNamespace(bootstrap_servers=("10.0.0.2:9092",)))
    watch = BrokerWatch(cfg, "consumer1", clock=lambda: now[0])
    caplog.set_level("INFO")
    for t, up in [(0, True), (1, False), (3, False), (5.5, False), (7, False), (20, False), (21, True), (22, True)]:
        now[0] = t
        watch.check(up)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["consumer1: lost the broker at 10.0.0.2:9092; the rows wait in Kafka, reading on when it is back",
                     "consumer1: the broker at 10.0.0.2:9092 is back after 20 s; reading on, nothing was lost"]
    caplog.clear()
    now[0] = 23
    watch.check(False)
    now[0] = 26
    watch.check(True)  # a short blink is no news
    assert caplog.records == []
