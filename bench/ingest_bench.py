"""Part 2: ingest end to end (producer start -> last row in all four CSVs) and per-row delay when paced.

Throughput. Both consumers are started on fresh topics and a fresh output folder and left idle (they
have logged that they read their partitions, then 1 s more). The clock starts just before the
producer process is started (`main.py producer --mode fast`: interpreter start, imports and
connecting count). The final size of each CSV is known beforehand (header + one line per row, the
bytes are the same whatever the order), so the bench only stat()s the four CSVs and the two
checkpoints every POLL_S: 'visible' is when all four CSVs have reached their final size, 'committed'
when both checkpoints also record those lengths (fsynced: what survives a crash). Then the
consumers are stopped and every CSV is checked to hold each expected row exactly once.

Delay. bench/sendloop.py (the app's send loop plus a clock) sends a prefix of the sample at a fixed
rate; the bench tails the four CSVs (new bytes only, every POLL_S) and the checkpoints. For each
message: delay to visible = when its row's line was first seen complete in the CSV minus when
send() was called for it; delay to committed = when a checkpoint first recorded a length covering
that line, minus the same. Both processes read CLOCK_MONOTONIC. The resolution is the polling
period (its measured mean and max are reported); a row written between two polls is seen at the
second one, so the delays are overstated by half a period on average.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench.common import (AT_APP_DEFAULTS, bench_command, Broker, CSV_OF, ROLE_KEYS, ROOT, SAMPLE, Service, TOPIC_KEYS,
                         app_command, head_of, log, percentile, settings_in_force, summary)
from tests.support.pipeline import write_config

POLL_S = 0.002


def expected_sizes(data_file: Path) -> tuple[dict[str, int], dict[str, set], int]:
    """Final byte size of each consumer CSV, its rows, and the number of data rows."""
    from monitoring.core.records import RowError, csv_line
    from monitoring.producer.sources import file_rows
    from monitoring.wiring import TOPICS

    sizes = {k: len(csv_line(TOPICS[k].fields).encode()) for k in TOPIC_KEYS}
    rows = {k: set() for k in TOPIC_KEYS}
    n = 0
    for _, row in file_rows(data_file):
        if isinstance(row, RowError):
            continue
        n += 1
        for k in TOPIC_KEYS:
            fields = row.fields(TOPICS[k].fields)
            sizes[k] += len(csv_line(fields).encode())
            rows[k].add(fields)
    return sizes, rows, n


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return -1


def _checkpoint_lengths(output: Path, role: str) -> dict[str, int]:
    try:
        return json.loads((output / f".{role}.checkpoint.json").read_text()).get("lengths", {})
    except (FileNotFoundError, ValueError):
        return {}


def check_exactly_once(output: Path, rows: dict[str, set]) -> None:
    from monitoring.wiring import TOPICS

    for k in TOPIC_KEYS:
        lines = (output / CSV_OF[k]).read_text().splitlines()
        assert lines[0] == ",".join(TOPICS[k].fields), f"{CSV_OF[k]}: header {lines[0]!r}"
        body = [tuple(line.split(",")) for line in lines[1:]]
        assert len(body) == len(set(body)) == len(rows[k]) and set(body) == rows[k], \
            f"{CSV_OF[k]}: {len(body)} rows, {len(set(body))} distinct, {len(rows[k])} expected"


class Pipeline:
    """Fresh topics, a fresh output folder, both consumers running and idle."""

    def __init__(self, broker: Broker, work: Path, what: str, data_file: Path):
        self.broker = broker
        self.prefix = broker.fresh_prefix(what)
        self.topics = broker.create(self.prefix)
        self.folder = work / self.prefix
        # Topic names restart with each bench: an earlier bench's output and checkpoints must go.
        shutil.rmtree(self.folder, ignore_errors=True)
        self.config = write_config(self.folder, broker.bootstrap, self.prefix, data_file=data_file, **AT_APP_DEFAULTS)
        self.output = self.folder / "output"
        self.consumers = []

    def __enter__(self) -> "Pipeline":
        self.consumers = [Service(self.config, role, self.folder).start() for role in ROLE_KEYS]
        for c in self.consumers:
            c.wait_ready()
        time.sleep(1.0)  # idle: assigned, positioned, polling an empty topic
        return self

    def __exit__(self, *exc) -> None:
        codes = [c.stop() for c in self.consumers]
        self.broker.delete(self.topics)
        if exc[0] is None and codes != [0, 0]:
            raise RuntimeError(f"consumers exited {codes}: " + " | ".join(c.text()[-1500:] for c in self.consumers))


def throughput_run(broker: Broker, work: Path, data_file: Path, final: dict[str, int], rows: dict[str, set],
                   n_rows: int, timeout: float = 300) -> dict:
    with Pipeline(broker, work, "ingest", data_file) as pipe:
        csvs = {k: pipe.output / CSV_OF[k] for k in TOPIC_KEYS}
        t0 = time.monotonic()
        proc = subprocess.Popen(app_command(pipe.config, "producer", "--mode", "fast"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        visible = committed = producer_exit = None
        ticks = 0
        while committed is None:
            now = time.monotonic()
            if now - t0 > timeout:
                proc.kill()
                raise RuntimeError(f"ingest not complete after {timeout:g} s: "
                                   + ", ".join(f"{k} {_size(p)}/{final[k]} bytes" for k, p in csvs.items()))
            if producer_exit is None and proc.poll() is not None:
                producer_exit = now - t0
            if visible is None and all(_size(csvs[k]) >= final[k] for k in TOPIC_KEYS):
                visible = now - t0
            if visible is not None:
                lengths = {**_checkpoint_lengths(pipe.output, "consumer1"),
                           **_checkpoint_lengths(pipe.output, "consumer2")}
                if all(lengths.get(CSV_OF[k], -1) >= final[k] for k in TOPIC_KEYS):
                    committed = now - t0
            ticks += 1
            time.sleep(POLL_S)
        _, err = proc.communicate(timeout=120)
        if producer_exit is None:
            producer_exit = time.monotonic() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"producer exited {proc.returncode}: {err[-2000:]}")
    check_exactly_once(pipe.output, rows)
    return {"visible_s": visible, "committed_s": committed, "producer_exit_s": producer_exit,
            "rows_per_s": n_rows / committed, "polls": ticks}


class Tailer:
    """Follows the four CSVs (complete lines only) and the two checkpoints; stamps each row."""

    def __init__(self, output: Path):
        self.output = output
        self.pos = {k: None for k in TOPIC_KEYS}        # byte offset read so far (None: not opened yet)
        self.partial = {k: b"" for k in TOPIC_KEYS}
        self.ends = {k: [] for k in TOPIC_KEYS}         # per file: [(end offset, (ts, server_id))] in order
        self.seen = {}                                  # (key, ts, server_id) -> monotonic seconds visible
        self.done_upto = {k: 0 for k in TOPIC_KEYS}     # index into ends[k] already committed
        self.committed = {}                             # (key, ts, server_id) -> monotonic seconds committed
        self.cp_stat = {}
        self.periods = []

    def poll(self) -> None:
        now = time.monotonic()
        for k in TOPIC_KEYS:
            path = self.output / CSV_OF[k]
            size = _size(path)
            if size < 0:
                continue
            if self.pos[k] is None:
                with open(path, "rb") as f:
                    header = f.readline()
                if not header.endswith(b"\n"):
                    continue
                self.pos[k] = len(header)
            if size <= self.pos[k]:
                continue
            with open(path, "rb") as f:
                f.seek(self.pos[k])
                chunk = f.read(size - self.pos[k])
            offset = self.pos[k] - len(self.partial[k])
            self.pos[k] += len(chunk)
            data = self.partial[k] + chunk
            lines = data.split(b"\n")
            self.partial[k] = lines.pop()
            for line in lines:
                offset += len(line) + 1
                ts, server, _ = line.decode().split(",", 2)
                self.ends[k].append((offset, (ts, server)))
                self.seen.setdefault((k, ts, server), now)
        for role, keys in ROLE_KEYS.items():
            path = self.output / f".{role}.checkpoint.json"
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            sig = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self.cp_stat.get(role) == sig:
                continue
            self.cp_stat[role] = sig
            lengths = _checkpoint_lengths(self.output, role)
            for k in keys:
                length = lengths.get(CSV_OF[k], 0)
                ends, i = self.ends[k], self.done_upto[k]
                while i < len(ends) and ends[i][0] <= length:
                    self.committed.setdefault((k, *ends[i][1]), now)
                    i += 1
                self.done_upto[k] = i


def latency_run(broker: Broker, work: Path, data_file: Path, rate: float, n_rows: int, timeout: float = 300) -> dict:
    with Pipeline(broker, work, "delay", data_file) as pipe:
        stamps_file = pipe.folder / "stamps.json"
        tail = Tailer(pipe.output)
        proc = subprocess.Popen(bench_command("sendloop", pipe.config, "--mode", "rate", "--rate", rate,
                                              "--stamps", stamps_file),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                cwd=ROOT)
        t0 = last = time.monotonic()
        expected = 4 * n_rows
        while len(tail.committed) < expected:
            now = time.monotonic()
            if now - t0 > timeout:
                proc.kill()
                raise RuntimeError(f"paced run not complete after {timeout:g} s: {len(tail.seen)} rows seen")
            tail.poll()
            tail.periods.append(now - last)
            last = now
            time.sleep(POLL_S)
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"sendloop exited {proc.returncode}: {err[-2000:]}")
    doc = json.loads(stamps_file.read_text())
    sent = {(k, ts, s): t for k, ts, s, t in doc["stamps"]}
    vis = sorted(tail.seen[m] - t for m, t in sent.items())
    com = sorted(tail.committed[m] - t for m, t in sent.items())
    periods = sorted(tail.periods[1:])
    return {"messages": len(sent), "send_elapsed_s": doc["elapsed"],
            "visible_ms": {"p50": 1000 * percentile(vis, 50), "p99": 1000 * percentile(vis, 99),
                           "max": 1000 * vis[-1]},
            "committed_ms": {"p50": 1000 * percentile(com, 50), "p99": 1000 * percentile(com, 99),
                             "max": 1000 * com[-1]},
            "poll_period_ms": {"mean": 1000 * sum(periods) / len(periods), "p99": 1000 * percentile(periods, 99),
                               "max": 1000 * periods[-1]}}


def run(broker: Broker, work: Path, runs: int, rate: float = 1000.0, paced_rows: int = 10_000) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    final, rows, n_rows = expected_sizes(SAMPLE)
    settings = settings_in_force(write_config(work / "settings", broker.bootstrap, "settings", **AT_APP_DEFAULTS))
    log(f"ingest: {n_rows} rows of {SAMPLE.name} through both consumers, {runs} runs")
    through = []
    for i in range(runs):
        through.append(throughput_run(broker, work, SAMPLE, final, rows, n_rows))
        r = through[-1]
        log(f"  run {i + 1}: all rows visible after {r['visible_s']:.2f} s, committed after {r['committed_s']:.2f} s "
            f"(producer exited at {r['producer_exit_s']:.2f} s)")
    paced_file = head_of(SAMPLE, paced_rows)
    log(f"ingest delay: {paced_rows} rows at {rate:g} rows/s ({4 * rate:g} messages/s), {runs} runs")
    delays = []
    for i in range(runs):
        delays.append(latency_run(broker, work, paced_file, rate, paced_rows))
        d = delays[-1]
        log(f"  run {i + 1}: visible p50 {d['visible_ms']['p50']:.0f} ms p99 {d['visible_ms']['p99']:.0f} ms; "
            f"committed p50 {d['committed_ms']['p50']:.0f} ms p99 {d['committed_ms']['p99']:.0f} ms")
    committed = summary([r["committed_s"] for r in through])
    return {
        "settings": {"producer": settings["producer"], "consumer": settings["consumer"]},
        "rows": n_rows, "messages": 4 * n_rows,
        "throughput": {
            "visible_s": summary([r["visible_s"] for r in through]),
            "committed_s": committed,
            "producer_exit_s": summary([r["producer_exit_s"] for r in through]),
            "rows_per_s": summary([r["rows_per_s"] for r in through], 0),
            "poll_s": POLL_S, "target_s": 10.0, "met": committed["median"] <= 10.0,
        },
        "delay": {
            "rate_rows_per_s": rate, "rows": paced_rows, "messages": 4 * paced_rows, "runs": delays,
            **{f"{what}_{p}_ms": summary([d[f"{what}_ms"][p] for d in delays], 1)
               for what in ("visible", "committed") for p in ("p50", "p99", "max")},
            "poll_period_ms": summary([d["poll_period_ms"]["mean"] for d in delays], 2),
            "poll_period_max_ms": summary([d["poll_period_ms"]["max"] for d in delays], 2),
        },
    }
