"""Exact on any series: event time decided in file order, carried through Kafka, windows by Spark.

Each series goes producer -> real Kafka -> consumers -> real Spark, and the team CSVs must equal
tests/support/reference.py computed from the data file itself, in file order.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring.wiring import DATA_COLUMNS, EVENTS_DIR, JOBS, TOPICS
from tests.support import reference
from tests.support.pipeline import Service, csv_rows, run, team_csv, topics_of, wait_caught_up, write_config

DATA_HEADER = ",".join(DATA_COLUMNS)
TEAM_CSVS = tuple(team_csv(job) for job in JOBS)


def write_data(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DATA_HEADER + "\n" + "".join(line + "\n" for line in lines))
    return path


def generated(path: Path, **spec) -> Path:
    res = run(None, "generate", "--out", str(path), *[f"--{k}={v}" for k, v in spec.items()])
    assert res.returncode == 0, res.stderr
    return path


def replay(kafka_broker, work: Path, prefix: str, *data_files: Path, **sections):
    """Every data file in turn through the producer; returns (config, consumers, producer runs)."""
    kafka_broker.create_topics(topics_of(prefix), partitions=3)
    config = write_config(work, kafka_broker.bootstrap_servers, prefix, data_file=data_files[0], **sections)
    consumers = [Service(config, role, work).start() for role in ("consumer1", "consumer2")]
    runs = []
    try:
        for data in data_files:
            produced = run(config, "producer", "--data", str(data))
            assert produced.returncode == 0, produced.stderr[-2000:]
            runs.append(produced)
            for role in ("consumer1", "consumer2"):
                wait_caught_up(config, role)
    finally:
        codes = [c.stop() for c in consumers]
    assert codes == [0, 0], [c.text()[-2000:] for c in consumers]
    return config, consumers, runs


def team_csvs(config: Path, work: Path, jobs=("spark-job1", "spark-job2")) -> dict[str, str]:
    out = {}
    for job, name in zip(JOBS, TEAM_CSVS):
        if job in jobs:
            res = run(config, job, timeout=900)
            assert res.returncode == 0, res.stderr[-3000:]
            out[name] = (work / "output" / name).read_text()
    return out


def assert_equal_reference(got: dict[str, str], data_files, **window):
    want = dict(zip(TEAM_CSVS, reference.expected_files_from_data(data_files, None, **window)))
    for name, text in got.items():
        assert text.count("\n") == want[name].count("\n"), name
        assert text == want[name], name


def hand_written(work: Path, data: Path) -> None:
    """The consumer CSVs as a person writes them: the data file's columns, in file order, no events."""
    out = work / "output"
    out.mkdir(parents=True, exist_ok=True)
    rows = reference.data_file_rows(data)
    for topic in TOPICS.values():
        (out / topic.csv).write_text(",".join(topic.fields) + "\n" +
                                     "".join(",".join(r[c] for c in topic.fields) + "\n" for r in rows))


@pytest.fixture(scope="module")
def day_from_ten(kafka_broker, tmp_path_factory):
    work = tmp_path_factory.mktemp("day")
    data = generated(work / "day.csv", servers=3, hours=24, interval=5, start="10:00:00")
    config, _, _ = replay(kafka_broker, work, "day", data)
    return work, config, data


def test_a_24h_time_only_series_from_10_keeps_its_days(day_from_ten):
    work, config, data = day_from_ten
    got = team_csvs(config, work)
    assert_equal_reference(got, [data])
    starts = [row[1] for row in csv_rows(work / "output" / TEAM_CSVS[0])[1:] if row[0] == "server_1"]
    assert starts[0] == "10:00:00" and starts[-1] == "09:59:50"
    assert starts.index("00:00:00") > starts.index("23:59:50")


def test_a_series_with_a_14h_gap_in_file_order(kafka_broker, tmp_path):
    lines = [f"07:0{m}:{s:02d},s{n},{30 + s}.00,60.00,100.00,10.00,200.00"
             for m in range(3) for s in range(0, 60, 5) for n in (1, 2)]
    lines += [f"21:0{m}:{s:02d},s{n},{85 + s % 10}.00,90.00,6000.00,10.00,2000.00"
              for m in range(3) for s in range(0, 60, 5) for n in (1, 2)]
    data = write_data(tmp_path / "gap.csv", lines)
    config, consumers, _ = replay(kafka_broker, tmp_path, "gap", data)
    got = team_csvs(config, tmp_path)
    assert_equal_reference(got, [data])
    first = csv_rows(tmp_path / "output" / TEAM_CSVS[0])[1]
    assert first[:2] == ["s1", "07:00:00"], "the 07:00 rows come first, on the series' first day"

    # The same file again (a producer restart, a second site.yml): nothing is added.
    consumer_csvs = [tmp_path / "output" / t.csv for t in TOPICS.values()]
    before = [p.read_bytes() for p in consumer_csvs]
    config, consumers, _ = replay(kafka_broker, tmp_path, "gap", data)
    assert [p.read_bytes() for p in consumer_csvs] == before
    assert "288 re-sent rows dropped" in consumers[0].text()  # 144 rows, two topics

    # Another data file into the same pipeline is said, not mixed in silently.
    other = write_data(tmp_path / "other.csv", ["08:00:00,s1,1.00,1.00,1.00,1.00,1.00"])
    config, consumers, _ = replay(kafka_broker, tmp_path, "gap", other)
    for c in consumers:
        assert "rows of another data file arrived" in c.text() and "Starting afresh" in c.text()


def test_a_three_day_time_only_series(kafka_broker, tmp_path):
    data = generated(tmp_path / "days.csv", servers=2, hours=72, interval=30, start="00:00:00")
    config, _, _ = replay(kafka_broker, tmp_path, "days", data)
    got = team_csvs(config, tmp_path, jobs=("spark-job1",))
    assert_equal_reference(got, [data])
    starts = [row[1] for row in csv_rows(tmp_path / "output" / TEAM_CSVS[0])[1:] if row[0] == "server_1"]
    assert starts.count("12:00:00") == 3, "each day's 12:00:00 window, in the days' order"


def test_duplicated_rows_are_data_and_bad_numbers_are_rejected(kafka_broker, tmp_path):
    lines = ["10:00:00,s1,70.00,50.00,100.00,1.00,100.00",
             "10:00:00,s1,99.00,50.00,9000.00,1.00,100.00",   # the same (ts, server_id): it counts
             "10:00:05,s1,NaN,50.00,100.00,1.00,100.00",
             "10:00:05,s2,10.00,Infinity,100.00,1.00,100.00",
             "10:00:10,s2,10.00,50.00,inf,1.00,100.00",
             "10:00:10,s1,10.00,50.00,100.00,1.00,-inf",
             "10:00:15,s2,20.00,60.00,200.00,1.00,300.00"]
    data = write_data(tmp_path / "dupes.csv", lines)
    config, _, (produced,) = replay(kafka_broker, tmp_path, "dupes", data)
    for line_no in (4, 5, 6, 7):
        assert f"line {line_no} rejected:" in produced.stderr
    assert "7 rows read, 4 rejected" in produced.stderr
    got = team_csvs(config, tmp_path)
    assert_equal_reference(got, [data])
    assert "s1,10:00:00,10:00:30,84.50,50.00,CPU spike suspected" in got[TEAM_CSVS[0]]
    assert "s1,10:00:00,10:00:30,9000.00,100.00,Possible DDoS" in got[TEAM_CSVS[1]]


@pytest.mark.parametrize("split", [True, False], ids=["split-by-server", "one-task"])
def test_spark_computes_the_anchor_of_large_inputs_and_may_split_them_by_server(day_from_ten, split):
    """Large inputs get their grid's anchor from Spark (not read on the driver), and above a size
    are aggregated in several tasks, a file per server, then joined in order: both forced here on
    the 24 h series (3 servers, across midnight) by small limits."""
    work, config, data = day_from_ten
    job = "spark-job1"
    limits = "windowed_job.ONE_TASK_BYTES = windowed_job.TASK_INPUT_BYTES = 1 << 20; " if split else ""
    script = ("import sys; from monitoring.jobs import windowed_job; from monitoring.cli import main; "
              f"{limits}windowed_job.DRIVER_ANCHOR_BYTES = 0; "
              f"sys.exit(main(['--config', {str(config)!r}, {job!r}]))")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    tasks = r"in ([2-9]|\d\d+) tasks \(split by server\)" if split else r"in 1 task"
    assert re.search(tasks + "; the grid's anchor computed by Spark", res.stderr), res.stderr[-3000:]
    name = team_csv(job)
    assert_equal_reference({name: (work / "output" / name).read_text()}, [data])


@pytest.mark.parametrize("case", ["day", "gap"])
def test_hand_written_consumer_csvs_give_the_reference(tmp_path, case, day_from_ten):
    if case == "day":
        data = day_from_ten[2]
    else:
        data = write_data(tmp_path / "gap.csv", [f"{h}:00:{s:02d},s1,{s}.00,1.00,1.00,1.00,1.00"
                                                 for h in ("07", "21", "03") for s in range(0, 60, 5)])
    config = write_config(tmp_path, "127.0.0.1:9", "unused")
    hand_written(tmp_path, data)
    got = team_csvs(config, tmp_path, jobs=("spark-job1",))
    assert_equal_reference(got, [data])
    assert not (tmp_path / "output" / EVENTS_DIR).exists()


def test_hand_written_csv_with_bom_crlf_nan_and_bad_forms(tmp_path):
    config = write_config(tmp_path, "127.0.0.1:9", "unused")
    out = tmp_path / "output"
    out.mkdir(parents=True)
    cpu, mem = (out / TOPICS[k].csv for k in ("cpu", "mem"))
    cpu.write_bytes("\ufeffts,server_id,cpu_pct\r\n10:00:00,s1,10.00\r\n10:00:05,s1,NaN\r\n"
                                       "10:00:05,s1,Infinity\r\n10:00:10,s1,30.00\r\n".encode())
    mem.write_text("ts,server_id,mem_pct\n10:00:00,s1,inf\n10:00:10,s1,40.00\n")
    res = run(config, "spark-job1")
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"{cpu.name}: 2 rows with a bad ts, server_id or value skipped (first: line 3: cpu_pct is not a number" \
        in res.stderr
    assert (out / TEAM_CSVS[0]).read_text().splitlines()[1:] == [
        "s1,10:00:00,10:00:30,20.00,40.00,", "s1,10:00:10,10:00:40,30.00,40.00,"]

    cpu.write_bytes(b"ts,server_id,cpu_pct\r10:00:00,s1,10.00\r" * 3)
    res = run(config, "spark-job1")
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 1 and "CR-only line ends" in last and len(last) < 300

    cpu.write_text("ts,server_id,cpu_pct\n2026-01-01T10:00:00Z,s1,1.00\n1767261600000,s1,1.00\n")
    res = run(config, "spark-job1")
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 1 and "HH:MM:SS or YYYY-MM-DD HH:MM:SS" in last, last


def test_one_day_at_one_second_for_two_servers_is_exact(kafka_broker, tmp_path):
    """The scale test of make test: 172,800 rows, 86,400 distinct timestamps, through the pipeline."""
    data = generated(tmp_path / "seconds.csv", servers=2, hours=24, interval=1, start="00:00:00")
    config, _, _ = replay(kafka_broker, tmp_path, "seconds", data)
    got = team_csvs(config, tmp_path)
    assert_equal_reference(got, [data])
