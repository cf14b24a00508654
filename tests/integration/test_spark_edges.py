"""Spark jobs on hand-made consumer CSVs: midnight, dated ts, missing metrics, odd thresholds, bad input."""
from pathlib import Path

import pytest

from tests.support import reference
from tests.support.pipeline import CSV_OF, run, team_csv, write_config


def write(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))


@pytest.fixture
def folder(tmp_path):
    return tmp_path


def test_time_only_series_past_midnight_and_a_missing_metric(folder):
    config = write_config(folder, "127.0.0.1:9", "unused", team_number="07",
                          thresholds={"cpu": 50.5, "mem": 60.0, "net_in": 5000.0, "disk_io": 1500.0},
                          window={"duration_seconds": 20, "slide_seconds": 5})
    out = folder / "output"
    # Written by hand in file order (time order, past midnight); 1.01 and 1.02 average to a float32 tie.
    cpu = ["23:59:50,server_10,50.50", "23:59:55,server_10,50.51", "23:59:55,b_2,1.02", "00:00:00,server_2,0.00",
           "00:00:05,server_10,99.99", "00:00:10,b_2,1.01", "00:00:20,b_2,1.01"]
    mem = ["23:59:50,server_10,60.01", "23:59:58,b_2,61.25", "00:00:00,server_2,60.00", "00:00:05,server_10,59.99"]
    write(out / CSV_OF["cpu"], "ts,server_id,cpu_pct", cpu)
    write(out / CSV_OF["mem"], "ts,server_id,mem_pct", mem)
    res = run(config, "spark-job1")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "the grid's anchor read on the driver" in res.stderr  # a small input; Spark's path: test_time_model
    got = (out / team_csv("spark-job1", "07")).read_text()
    assert got == reference.expected_cpu_mem_file(str(out), {"cpu": 50.5, "mem": 60.0}, 20, 5)
    assert got.splitlines()[1].startswith("b_2,23:59:50,00:00:10,")


def test_dated_timestamps_and_maxima(folder):
    config = write_config(folder, "127.0.0.1:9", "unused")
    out = folder / "output"
    net = ["2026-03-01 23:59:59,s1,5000.00,1.00", "2026-03-02 00:00:09,s1,5000.01,1.00",
           "2026-03-02 00:00:30,s2,131072.55,2.00", "2026-03-02 00:00:31,s2,7.50,2.00",
           "2026-03-02 00:01:30,s3,150000.13,2.00"]
    disk = ["2026-03-01 23:59:59,s1,1500.00", "2026-03-02 00:00:15,s2,1500.01", "2026-03-02 00:00:20,s1,0.10"]
    write(out / CSV_OF["net"], "ts,server_id,net_in,net_out", net)
    write(out / CSV_OF["disk"], "ts,server_id,disk_io", disk)
    res = run(config, "spark-job2")
    assert res.returncode == 0, res.stderr[-3000:]
    got = (out / team_csv("spark-job2")).read_text()
    assert got == reference.expected_net_disk_file(str(out))
    assert "s1,2026-03-01 23:59:59,2026-03-02 00:00:29,5000.01,1500.00,Possible DDoS" in got


def test_bad_rows_are_counted_per_file_and_left_out(folder):
    """A consumer CSV edited by hand: rows with a bad ts, no server_id or no readable value."""
    config = write_config(folder, "127.0.0.1:9", "unused")
    out = folder / "output"
    good_cpu = ["10:00:00,s1,10.00", "10:00:05,s1,20.00", "10:00:10,s2,30.00"]
    good_mem = ["10:00:00,s1,40.00", "10:00:10,s2,50.00"]
    write(out / CSV_OF["cpu"], "ts,server_id,cpu_pct",
          good_cpu + ["25:00:00,s1,99.00", "10:00:05,,99.00", "nonsense,s1,1.00", ",s1,1.00"])
    write(out / CSV_OF["mem"], "ts,server_id,mem_pct", good_mem + ["10:00:05,s1,lots"])
    res = run(config, "spark-job1")
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"{CSV_OF['cpu']}: 4 rows with a bad ts, server_id or value skipped" in res.stderr
    assert f"{CSV_OF['mem']}: 1 rows with a bad ts, server_id or value skipped" in res.stderr
    got = (out / team_csv("spark-job1")).read_text()
    write(out / CSV_OF["cpu"], "ts,server_id,cpu_pct", good_cpu)
    write(out / CSV_OF["mem"], "ts,server_id,mem_pct", good_mem)
    assert got == reference.expected_cpu_mem_file(str(out))
    assert "99.00" not in got


@pytest.mark.parametrize("setup,message", [
    ("none", f"{CSV_OF['cpu']} does not exist"),
    ("header-only", f"{CSV_OF['cpu']} has no rows"),
    ("wrong-header", "has header 'a,b,c'"),
])
def test_missing_or_empty_input_ends_the_job_clearly(folder, setup, message):
    config = write_config(folder, "127.0.0.1:9", "unused")
    out = folder / "output"
    if setup != "none":
        write(out / CSV_OF["cpu"], "a,b,c" if setup == "wrong-header" else "ts,server_id,cpu_pct", [])
        write(out / CSV_OF["mem"], "ts,server_id,mem_pct", ["10:00:00,s,1.00"])
    res = run(config, "spark-job1", timeout=60)
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert message in last and last.startswith("main.py spark-job1: error:")
    assert "Traceback" not in res.stderr
