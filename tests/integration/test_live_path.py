"""The live path on a real broker and real Spark: the stream jobs beside the batch jobs.

One replay of the sample, paced so that windows close while it runs, feeds the consumers, both
stream jobs and, afterwards, the batch jobs. stream-job1 is SIGKILLed twice mid-stream and started
again; stream-job2 runs undisturbed and shows the trailing windows appearing without new data.
Several tests read the one replay (module scope): a Spark start costs seconds on 2 cores.
"""
from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from monitoring.jobs.stream_anchor import READY_LOG as READY
from monitoring.wiring import ALERT_COLUMN, STREAM_JOBS, TEAM_CSV_LEAD
from tests.support import pipeline, reference
from tests.support.pipeline import (SAMPLE, Service, command, csv_rows, data_lines, read_topic, run,
                                    team_csv, topics_of, wait_caught_up, wait_for, write_config)

ALERTS_TOPIC = "streamed-alerts"
TRAILING_BOUND = 60          # seconds from the producer's end to the last window in the live CSV
RATE = 400                   # rows/s: 28,800 rows in 72 s, 100 s of event time (200 windows) a second
# A stream job starts its Spark session before it waits for data: ready to take the replay.
START_BOUND = 180            # seconds for the JVMs and Spark sessions of two jobs on 2 busy cores


def connector_dir() -> Path:
    try:
        return pipeline.connector_dir()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


def live_section(**changes) -> dict:
    # A micro-batch a second and a flush after 5 s keep the test short; the lateness covers the
    # partitions' skew at RATE (a fraction of a second is a minute of event time).
    return {"connector_dir": str(connector_dir()), "trigger_seconds": 1, "flush_after_seconds": 5,
            "allowed_lateness_seconds": 120, **changes}


def line_count(path: Path) -> int:
    return data_lines(path) if path.exists() else 0


def written(job: Service, path: Path, floor: int) -> bool:
    """The live CSV holds `floor` windows; a job that died says why at once."""
    assert job.proc.poll() is None, f"{job.role} exited {job.proc.returncode}:\n{job.text()[-3000:]}"
    return line_count(path) >= floor


def sorted_live(path: Path) -> str:
    """The live CSV sorted by server_id (as text), each server's windows in the order they closed."""
    lines = path.read_text().splitlines(keepends=True)
    return lines[0] + "".join(sorted(lines[1:], key=lambda line: line.split(",", 1)[0]))


@pytest.fixture(scope="module")
def live_replay(kafka_broker, tmp_path_factory):
    work = tmp_path_factory.mktemp("live")
    kafka_broker.create_topics(topics_of("streamed"), partitions=3)
    kafka_broker.create_topics([ALERTS_TOPIC], partitions=1)
    config = write_config(work, kafka_broker.bootstrap_servers, "streamed",
                          topics={"alerts": ALERTS_TOPIC},
                          live=live_section())
    out = work / "output"
    live = {name: out / job.live_csv for name, job in STREAM_JOBS.items()}
    consumers = [Service(config, role, work).start() for role in ("consumer1", "consumer2")]
    streams = {name: Service(config, name, work).start() for name in STREAM_JOBS}
    kills, timing = [], {}
    try:
        # The replay starts once both sessions are up, so the kills below come while rows still arrive.
        wait_for(lambda: all(READY in s.text() for s in streams.values()), START_BOUND, "the stream jobs' sessions")
        producer = subprocess.Popen(command(config, "producer", "--mode", "rate", "--rate", str(RATE)),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # SIGKILL stream-job1 twice while rows still arrive, each time once it has written more windows.
        job1 = streams["stream-job1"]
        for _ in range(2):
            floor = line_count(live["stream-job1"]) + 200
            wait_for(lambda: written(job1, live["stream-job1"], floor), 240, "stream-job1 writing windows")
            job1.kill()
            kills.append(line_count(live["stream-job1"]))
            job1.start()
        _, err = producer.communicate(timeout=300)
        assert producer.returncode == 0, err[-2000:]
        done = time.monotonic()
        want = dict(zip(STREAM_JOBS, reference.expected_files_from_data([SAMPLE])))
        rows = {name: want[name].count("\n") - 1 for name in live}

        def complete():
            for name, path in live.items():
                if name not in timing and line_count(path) >= rows[name]:
                    timing[name] = time.monotonic() - done
            return len(timing) == len(live)
        wait_for(complete, 240, "the stream jobs' last windows")
        for role in ("consumer1", "consumer2"):
            wait_caught_up(config, role)
    finally:
        stream_codes = {name: s.stop(timeout=60) for name, s in streams.items()}
        codes = [c.stop() for c in consumers]
    assert codes == [0, 0], [c.text()[-2000:] for c in consumers]
    team = {}
    for name, job in STREAM_JOBS.items():
        res = run(config, job.name, timeout=900)
        assert res.returncode == 0, res.stderr[-3000:]
        team[name] = (out / team_csv(job.name)).read_text()
    return dict(work=work, config=config, live=live, team=team, want=want, kills=kills, timing=timing,
                streams=streams, stream_codes=stream_codes, bootstrap=kafka_broker.bootstrap_servers)


def test_the_live_csvs_equal_the_team_csvs_and_the_reference(live_replay):
    for name, path in live_replay["live"].items():
        got = sorted_live(path)
        assert got.count("\n") == live_replay["want"][name].count("\n"), name
        assert got == live_replay["team"][name], f"{name}: live CSV != {team_csv(STREAM_JOBS[name].name)}"
        assert got == live_replay["want"][name], f"{name}: live CSV != reference"


def test_two_sigkills_of_a_stream_job_lose_and_double_nothing(live_replay):
    kills, job1 = live_replay["kills"], live_replay["streams"]["stream-job1"]
    assert len(kills) == 2 and 0 < kills[0] < kills[1], kills
    rows = live_replay["want"]["stream-job1"].count("\n") - 1
    assert kills[1] < rows, "the second kill came after the last window: not mid-stream"
    lines = live_replay["live"]["stream-job1"].read_text().splitlines()[1:]
    keys = [tuple(line.split(",")[:3]) for line in lines]
    assert len(keys) == len(set(keys)), "a window written twice"
    assert job1.text().count("started:") == 3
    assert live_replay["stream_codes"] == {name: 0 for name in STREAM_JOBS}, "SIGTERM ends a stream job with 0"


def test_every_alert_of_the_team_csvs_is_on_the_alerts_topic(live_replay):
    by_window = defaultdict(set)
    for rec in read_topic(live_replay["bootstrap"], ALERTS_TOPIC):
        doc = json.loads(rec.value)
        by_window[(doc["job"], doc["server_id"], doc["window_start"], doc["window_end"])].add(rec.value)
        assert rec.key.decode() == doc["server_id"]
    repeats = {w: v for w, v in by_window.items() if len(v) > 1}
    assert not repeats, f"a re-published alert differs from the first: {list(repeats.items())[:1]}"
    want = {}
    for name, job in STREAM_JOBS.items():
        rows = csv_rows(live_replay["work"] / "output" / team_csv(job.name))
        header = rows[0]
        for row in rows[1:]:
            r = dict(zip(header, row))
            if r[ALERT_COLUMN]:
                want[(name, *(r[c] for c in TEAM_CSV_LEAD))] = (r[job.first.out], r[job.second.out], r[ALERT_COLUMN])
    assert want, "the sample raises alerts"
    got = {}
    for window, values in by_window.items():
        doc = json.loads(next(iter(values)), parse_float=str)
        job = STREAM_JOBS[doc["job"]]
        got[window] = (doc[job.first.out] or "", doc[job.second.out] or "", doc[ALERT_COLUMN])
    assert got == want


def test_one_journal_line_per_alert(live_replay):
    job2 = live_replay["streams"]["stream-job2"]
    rows = csv_rows(live_replay["live"]["stream-job2"])
    alerts = sum(1 for r in rows[1:] if r[-1])
    assert alerts and job2.text().count(" INFO stream-job: alert: stream-job2 ") == alerts


def test_the_last_windows_appear_without_new_data(live_replay):
    job2 = live_replay["streams"]["stream-job2"]
    assert "closing the open windows" in job2.text(), "the trailing windows came without the flush"
    assert live_replay["timing"]["stream-job2"] <= TRAILING_BOUND, live_replay["timing"]


def test_a_24h_series_replayed_before_the_job_starts_gives_the_reference(kafka_broker, tmp_path):
    """Midnight in a time-only series, and a backlog: the whole day waits on the topics when the
    stream job starts (a job started late, or after a long outage), and is windowed exactly. The job
    is stopped after the windows the watermark closed and before its flush (a reboot after the data
    ended); started again without new data, it closes the last windows from what its checkpoint
    says, in a first micro-batch of a flush mark alone (the first run began with data)."""
    data = tmp_path / "day.csv"
    res = run(None, "generate", "--out", str(data), "--servers=3", "--hours=24", "--interval=5", "--start=10:00:00")
    assert res.returncode == 0, res.stderr
    kafka_broker.create_topics(topics_of("liveday"), partitions=3)
    kafka_broker.create_topics(["liveday-alerts"], partitions=1)

    def config(flush_after):
        return write_config(tmp_path, kafka_broker.bootstrap_servers, "liveday", data_file=data,
                            topics={"alerts": "liveday-alerts"}, live=live_section(flush_after_seconds=flush_after))
    produced = run(config(5), "producer")
    assert produced.returncode == 0, produced.stderr[-2000:]
    want = reference.expected_files_from_data([data])[0]
    rows = want.count("\n") - 1
    path = tmp_path / "output" / STREAM_JOBS["stream-job1"].live_csv
    job = Service(config(50), "stream-job1", tmp_path).start()
    try:
        wait_for(lambda: written(job, path, 1), 240, "the day's closed windows")
        time.sleep(3)           # the batch that closed them is written whole; the flush is 50 s away
        before = line_count(path)
        assert 0 < before < rows and "closing the open windows" not in job.text()
    finally:
        assert job.stop(timeout=60) == 0, job.text()[-3000:]
    config(5)
    job.start()
    try:
        wait_for(lambda: written(job, path, rows), 120, "the last windows after the restart")
    finally:
        assert job.stop(timeout=60) == 0, job.text()[-3000:]
    assert job.text().count("closing the open windows") == 1
    got = sorted_live(path)
    assert got == want
    starts = [line.split(",")[1] for line in got.splitlines()[1:] if line.startswith("server_1,")]
    assert starts[0] == "10:00:00" and starts[-1] == "09:59:50"


def test_an_unreachable_broker_is_a_clear_error(tmp_path):
    """A stream job started while the broker is down says so in one line and exits 1 (it was a
    traceback of kafka-python's NoBrokersAvailable), after its warm-up's short wait."""
    config = write_config(tmp_path, "127.0.0.1:9", "nobroker", kafka={"connect_timeout_seconds": 3},
                          live={"connector_dir": str(connector_dir())})
    res = run(config, "stream-job1", timeout=240)
    assert res.returncode == 1, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert "cannot reach the Kafka broker at 127.0.0.1:9 within 3 s" in last, res.stderr[-3000:]


def test_the_checkpoints_are_written_by_the_file_system_api_without_crc_files(live_replay):
    # stream_job.CHECKPOINT_SETTINGS: the checksummed FileContext default would leave a .crc beside
    # every offset, commit and state file (and start processes to write them).
    checkpoints = [p for p in (live_replay["work"] / "output").rglob("*") if "spark" in p.parts]
    assert any(p.parent.name == "commits" for p in checkpoints), "no stream checkpoint found"
    assert not [p for p in checkpoints if p.name.endswith(".crc")]
