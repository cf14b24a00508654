"""Run the app's roles as a user would (subprocesses of app/main.py) against a test broker."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "app" / "main.py"
EXAMPLE_CONFIG = ROOT / "app" / "config" / "config.yaml"
SAMPLE = ROOT / "app" / "data" / "sample_data.csv"
CSV_FILES = {"consumer1": ("cpu_data.csv", "mem_data.csv"), "consumer2": ("net_data.csv", "disk_data.csv")}


def write_config(folder: Path, bootstrap: str, prefix: str, data_file: Path = SAMPLE, **sections) -> Path:
    """A config.yaml in `folder` whose topics are `<prefix>-cpu` etc., so tests share one broker."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data.update(output_dir=str(folder / "output"), data_file=str(data_file))
    data["kafka"] = {"bootstrap_servers": [bootstrap], "connect_timeout_seconds": 20}
    data["topics"] = {k: f"{prefix}-{k}" for k in ("cpu", "mem", "net", "disk")}
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
    return [f"{prefix}-{k}" for k in ("cpu", "mem", "net", "disk")]


def command(config: Path | None, role: str, *args: str) -> list[str]:
    base = [sys.executable, str(MAIN)]
    return base + (["--config", str(config)] if config else []) + [role, *args]


def run(config: Path | None, role: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command(config, role, *args), capture_output=True, text=True, timeout=timeout)


class Service:
    """A long-running role (a consumer) in its own process group, its log kept in a file."""

    def __init__(self, config: Path, role: str, log_dir: Path, *args: str):
        self.config, self.role, self.args = config, role, args
        self.log = log_dir / f"{role}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        handle = open(self.log, "a")
        self.proc = subprocess.Popen(command(self.config, self.role, *self.args), stdout=handle, stderr=subprocess.STDOUT,
                                     start_new_session=True)
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
        """SIGKILL: no chance to finish a write or a checkpoint."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
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


def expected_consumer_rows(data_file: Path) -> dict[str, set]:
    """What each consumer CSV must hold, as sets of field tuples, from a clean data file."""
    rows = data_rows(data_file)
    return {
        "cpu_data.csv": {(r["ts"], r["server_id"], r["cpu_pct"]) for r in rows},
        "mem_data.csv": {(r["ts"], r["server_id"], r["mem_pct"]) for r in rows},
        "net_data.csv": {(r["ts"], r["server_id"], r["net_in"], r["net_out"]) for r in rows},
        "disk_data.csv": {(r["ts"], r["server_id"], r["disk_io"]) for r in rows},
    }


def assert_exactly_once(output: Path, expected: dict[str, set], files=None) -> None:
    """Each expected row once, nothing else, whole lines, one header."""
    for name in files or expected:
        raw = (output / name).read_bytes()
        assert raw.endswith(b"\n"), f"{name} ends in a torn line"
        rows = csv_rows(output / name)
        body = [tuple(r) for r in rows[1:]]
        assert rows[0] and rows[0][0] == "ts", f"{name}: header missing"
        dupes = len(body) - len(set(body))
        assert dupes == 0, f"{name}: {dupes} duplicated rows"
        missing, extra = expected[name] - set(body), set(body) - expected[name]
        assert not missing and not extra, f"{name}: {len(missing)} rows missing, {len(extra)} unexpected " \
                                          f"(e.g. {sorted(missing)[:2]} {sorted(extra)[:2]})"


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
