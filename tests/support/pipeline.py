"""Run the app's roles as a user would (subprocesses of app/main.py) against a test broker.

What goes where (topics, CSV names, fields) comes from monitoring.wiring, as in the app."""
from __future__ import annotations

import csv
import os
import re
from collections import Counter
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from monitoring.wiring import CONSUMERS, JOBS, TOPIC_KEYS, TOPICS

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
MAIN = APP / "main.py"
EXAMPLE_CONFIG = APP / "config" / "config.yaml"
SAMPLE = APP / "data" / "sample_data.csv"
# The seed's scripts, one per role: thin entry points into the installed package.
SCRIPTS = {"producer": APP / "producer" / "producer.py",
           **{role: APP / "consumers" / f"{role}.py" for role in CONSUMERS},
           **{job: APP / "spark-jobs" / f"{job.replace('-', '_')}.py" for job in JOBS}}
CSV_FILES = {role: c.csvs for role, c in CONSUMERS.items()}
CSV_OF = {key: t.csv for key, t in TOPICS.items()}           # topic key -> its consumer CSV


def connector_dir() -> Path:
    """Spark's Kafka connector for the pinned PySpark, as `make spark-kafka-dist` builds it."""
    version = re.search(r"(?m)^pyspark==(\S+)$", (APP / "requirements-spark.txt").read_text()).group(1)
    folder = ROOT / "build" / "spark-kafka" / f"spark-kafka-{version}"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is missing: run `make spark-kafka-dist`")
    return folder


def write_config(folder: Path, bootstrap: str, prefix: str, data_file: Path = SAMPLE, **sections) -> Path:
    """A config.yaml in `folder` whose topics are `<prefix>-cpu` etc., so tests share one broker."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data.update(output_dir=str(folder / "output"), data_file=str(data_file))
    data["kafka"] = {"bootstrap_servers": [bootstrap], "connect_timeout_seconds": 20}
    data["topics"] = dict(zip(TOPIC_KEYS, topics_of(prefix)))
    data["spark"] = {"master": "local[2]", "shuffle_partitions": 2}
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def topics_of(prefix: str) -> list[str]:
    return [f"{prefix}-{k}" for k in TOPIC_KEYS]


def team_csv(job: str, team: str = "42") -> str:
    """The name of a job's team CSV (the example config's team is 42)."""
    return JOBS[job].output_name(team)


def command(config: Path | None, role: str, *args: str, script: bool = False) -> list[str]:
    """`python app/main.py --config C ROLE ARGS`, or with script=True the role's own seed script:
    `python app/consumers/consumer1.py --config C ARGS`."""
    config_args = ["--config", str(config)] if config else []
    if script:
        return [sys.executable, str(SCRIPTS[role]), *config_args, *args]
    return [sys.executable, str(MAIN), *config_args, role, *args]


def run(config: Path | None, role: str, *args: str, timeout: float = 300, script: bool = False,
        ) -> subprocess.CompletedProcess:
    return subprocess.run(command(config, role, *args, script=script), capture_output=True, text=True,
                          timeout=timeout)


class Service:
    """A long-running role (a consumer) in its own process group, its log kept in a file."""

    def __init__(self, config: Path, role: str, log_dir: Path, *args: str, script: bool = False):
        self.config, self.role, self.args, self.script = config, role, args, script
        self.log = log_dir / f"{role}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        handle = open(self.log, "a")
        self.proc = subprocess.Popen(command(self.config, self.role, *self.args, script=self.script), stdout=handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        return self

    def stop(self, timeout: float = 30) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else 0

    def kill(self) -> None:
        """SIGKILL to the whole process group (a stream job's JVM too): no chance to finish a write
        or a checkpoint, and no old JVM still writing beside the next start."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def wait_caught_up(config: Path, role: str, timeout: float = 120) -> None:
    res = run(config, "wait-caught-up", role, "--timeout", str(timeout), timeout=timeout + 60)
    assert res.returncode == 0, f"{role} did not catch up:\n{res.stderr[-3000:]}"


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def data_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def expected_consumer_rows(data_file: Path) -> dict[str, Counter]:
    """What each consumer CSV must hold, as counts of field tuples, from a clean data file (a row
    that is twice in the data file is data twice)."""
    rows = data_rows(data_file)
    return {t.csv: Counter(tuple(r[f] for f in t.fields) for r in rows) for t in TOPICS.values()}


def assert_exactly_once(output: Path, expected: dict[str, Counter], files=None) -> None:
    """Each expected row as often as expected, nothing else, whole lines, one header."""
    for name in files or expected:
        raw = (output / name).read_bytes()
        assert raw.endswith(b"\n"), f"{name} ends in a torn line"
        rows = csv_rows(output / name)
        body = Counter(tuple(r) for r in rows[1:])
        assert rows[0] and rows[0][0] == "ts", f"{name}: header missing"
        want = Counter(expected[name])
        missing, extra = want - body, body - want
        doubled = sum(n for r, n in extra.items() if r in want)
        assert not doubled, f"{name}: {doubled} rows written more often than sent"
        assert not missing and not extra, f"{name}: {sum(missing.values())} rows missing, " \
                                          f"{sum(extra.values())} unexpected (e.g. {sorted(missing)[:2]} {sorted(extra)[:2]})"


def wait_for(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def data_lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return max(0, sum(1 for _ in f) - 1)
    except FileNotFoundError:
        return 0


def read_topic(bootstrap: str, topic: str) -> list:
    """Every record on a topic's partitions, from the beginning to their end offsets now."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        records = []
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()

