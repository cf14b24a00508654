"""The dashboard on a real broker: rows the producer publishes to the metric topics and an alert on
the alerts topic reach the board (/snapshot) and the page's event stream (/events), without the
dashboard joining a consumer group or committing an offset."""
from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from monitoring.core import alert_messages
from monitoring.wiring import JOBS
from tests.support.pipeline import command, run, topics_of, wait_for, write_config

JOB = JOBS["spark-job1"]
CPU = JOB.first.metric
ALERTS_TOPIC = "viewed-alerts"
HEADER = "ts,server_id,cpu_pct,mem_pct,net_in,net_out,disk_io\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _data(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text(HEADER + "".join(f"{ts},{server},{cpu},40.0,100.0,50.0,20.0\n" for ts, server, cpu in rows))
    return path


def _snapshot(url: str) -> dict:
    return json.loads(urllib.request.urlopen(url + "snapshot", timeout=5).read())


def _values(snap: dict) -> dict[str, float]:
    return {s["server"]: s["values"][CPU] for s in snap["servers"]}


class EventStream:
    """The page's server-sent events, read as a browser's EventSource does: `data:` lines."""

    def __init__(self, url: str):
        self.response = urllib.request.urlopen(url + "events", timeout=30)

    def next_board(self) -> dict:
        while True:
            line = self.response.readline()
            if not line:
                raise AssertionError("the event stream ended")
            if line.startswith(b"data: "):
                return json.loads(line[6:])

    def until(self, predicate, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            board = self.next_board()
            if predicate(board):
                return board
        raise AssertionError(f"no board in {timeout:g} s matched")


@pytest.fixture
def dashboard(kafka_broker, tmp_path):
    kafka_broker.create_topics(topics_of("viewed"), partitions=3)
    kafka_broker.create_topics([ALERTS_TOPIC], partitions=1)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "viewed", topics={"alerts": ALERTS_TOPIC})
    # Rows sent before the dashboard starts: it seeks back to the last minutes.
    res = run(config, "producer", "--data", str(_data(tmp_path / "first.csv", [
        ("10:00:00", "server_1", 20.0), ("10:00:00", "server_2", 30.0),
        ("10:00:05", "server_1", 21.5), ("10:00:05", "server_2", 31.5)])))
    assert res.returncode == 0, res.stderr
    port = _free_port()
    log = open(tmp_path / "dashboard.log", "w")
    proc = subprocess.Popen(command(config, "dashboard", "--bind", "127.0.0.1", "--port", str(port),
                                    "--poll", "0.3", "--source", "kafka"), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"

    def up():
        assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
        try:
            return _snapshot(url)
        except OSError:
            return None
    try:
        wait_for(up, 60, "the dashboard to answer")
        yield url, config, tmp_path
        assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_rows_and_alerts_from_kafka_reach_the_board_and_the_event_stream(kafka_broker, dashboard):
    url, config, work = dashboard
    # The rows sent before it started, as the last values per server.
    snap = wait_for(lambda: _values(_snapshot(url)) == {"server_1": 21.5, "server_2": 31.5} and _snapshot(url),
                    30, "the rows sent before the dashboard started")
    assert snap["source"] == "kafka" and snap["alerts_from"] == "windows" and snap["alerts"] == []

    events = EventStream(url)
    assert _values(events.next_board()) == {"server_1": 21.5, "server_2": 31.5}
    res = run(config, "producer", "--data", str(_data(work / "second.csv", [
        ("10:00:10", "server_1", 55.25), ("10:00:10", "server_3", 97.0)])))
    assert res.returncode == 0, res.stderr
    board = events.until(lambda b: _values(b).get("server_3") == 97.0, 30)
    assert _values(board) == {"server_1": 55.25, "server_2": 31.5, "server_3": 97.0}
    assert board["alerts"] == []        # with the alerts topic, a sample over 80 is a value, not an alert

    from kafka import KafkaProducer

    alert = alert_messages.Alert(JOB.name, "server_3", "10:00:00", "10:00:30", "58.50", "40.00", JOB.labels.first_only)
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    try:
        key, value = alert_messages.encode(JOB, alert)
        for _ in range(2):      # a repeat (a re-run batch) is shown once
            producer.send(ALERTS_TOPIC, key=key, value=value)
        producer.flush()
    finally:
        producer.close()
    board = events.until(lambda b: b["alerts"], 30)
    assert [(a["server"], a["time"], a["until"], a["alert"]) for a in board["alerts"]] == [
        ("server_3", "10:00:00", "10:00:30", JOB.labels.first_only)]
    time.sleep(1.0)
    assert len(_snapshot(url)["alerts"]) == 1

    # A viewer: no consumer group holds an offset of these topics.
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers)
    try:
        ours = set(topics_of("viewed")) | {ALERTS_TOPIC}
        groups = [g["group_id"] for g in admin.list_groups()]
        offsets = admin.list_group_offsets({g: None for g in groups}) if groups else {}
        committed = {g: sorted({tp.topic for tp in parts} & ours) for g, parts in offsets.items()}
        assert not any(committed.values()), committed
    finally:
        admin.close()
