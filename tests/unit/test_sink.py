"""The exactly-once CSV sink on real files: torn tails, lost checkpoints, duplicates, write errors."""
import errno
import json

import pytest

from monitoring.consumers.sink import CsvSink, CsvTarget, SinkError

HEADER = ("ts", "server_id", "cpu_pct")


def sink(folder, fsync=True):
    return CsvSink(folder, "consumer1", [CsvTarget("cpu", "t-cpu", folder / "cpu.csv", HEADER)], fsync)


def test_fresh_start_writes_a_header_and_a_checkpoint(tmp_path):
    s = sink(tmp_path)
    assert s.restore() == {}
    assert (tmp_path / "cpu.csv").read_text() == "ts,server_id,cpu_pct\n"
    doc = json.loads((tmp_path / ".consumer1.checkpoint.json").read_text())
    assert doc["lengths"] == {"cpu.csv": 21} and doc["offsets"] == {}


def test_batches_are_deduplicated_and_offsets_checkpointed(tmp_path):
    s = sink(tmp_path)
    s.restore()
    rows = [("10:00:00", "s1", "1.00"), ("10:00:00", "s1", "1.00"), ("10:00:05", "s1", "2.00")]
    assert s.append({"cpu": rows}, {"t-cpu:0": 3}) == (2, 1)
    assert s.append({"cpu": [("10:00:05", "s1", "9.99")]}, {"t-cpu:0": 4}) == (0, 1)
    again = sink(tmp_path)
    assert again.restore() == {"t-cpu:0": 4}
    assert again.rows["cpu"] == 2
    assert again.append({"cpu": rows}, {"t-cpu:0": 7}) == (0, 3)


def test_a_torn_tail_after_the_checkpoint_is_cut_and_read_again(tmp_path):
    s = sink(tmp_path)
    s.restore()
    s.append({"cpu": [("10:00:00", "s1", "1.00")]}, {"t-cpu:0": 1})
    with open(tmp_path / "cpu.csv", "a") as f:
        f.write("10:00:05,s1,2.00\n10:00:10,s")  # written, but killed before the checkpoint
    again = sink(tmp_path)
    assert again.restore() == {"t-cpu:0": 1}
    assert (tmp_path / "cpu.csv").read_text() == "ts,server_id,cpu_pct\n10:00:00,s1,1.00\n"


def test_without_a_checkpoint_whole_lines_are_kept_and_everything_is_read_again(tmp_path):
    (tmp_path / "cpu.csv").write_text("ts,server_id,cpu_pct\n10:00:00,s1,1.00\n10:00:05,s")
    s = sink(tmp_path)
    assert s.restore() == {}
    assert s.rows["cpu"] == 1
    assert s.append({"cpu": [("10:00:00", "s1", "1.00"), ("10:00:05", "s1", "2.00")]}, {"t-cpu:0": 2}) == (1, 1)


def test_a_csv_shorter_than_its_checkpoint_rereads_its_topic(tmp_path):
    s = sink(tmp_path)
    s.restore()
    s.append({"cpu": [("10:00:00", "s1", "1.00"), ("10:00:05", "s1", "2.00")]}, {"t-cpu:0": 2})
    (tmp_path / "cpu.csv").write_text("ts,server_id,cpu_pct\n10:00:00,s1,1.00\n")
    again = sink(tmp_path)
    assert again.restore() == {}
    assert again.rows["cpu"] == 1


def test_a_foreign_csv_is_left_alone(tmp_path):
    (tmp_path / "cpu.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SinkError, match="does not start with the header"):
        sink(tmp_path).restore()
    assert (tmp_path / "cpu.csv").read_text() == "a,b\n1,2\n"


def test_a_failed_write_changes_nothing(tmp_path, monkeypatch):
    s = sink(tmp_path)
    s.restore()
    s.append({"cpu": [("10:00:00", "s1", "1.00")]}, {"t-cpu:0": 1})
    before = (tmp_path / "cpu.csv").read_bytes(), (tmp_path / ".consumer1.checkpoint.json").read_bytes()

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("monitoring.consumers.sink.os.replace", full)
    with pytest.raises(OSError):
        s.append({"cpu": [("10:00:05", "s1", "2.00")]}, {"t-cpu:0": 2})
    monkeypatch.undo()
    after = (tmp_path / "cpu.csv").read_bytes(), (tmp_path / ".consumer1.checkpoint.json").read_bytes()
    assert after == before
    assert s.offsets == {"t-cpu:0": 1}
    assert s.append({"cpu": [("10:00:05", "s1", "2.00")]}, {"t-cpu:0": 2}) == (1, 0)
