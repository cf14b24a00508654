"""What every part of the bench shares: paths, statistics, the broker, configs, data files, processes.

Nothing here times anything by itself: each part measures with time.monotonic() around what it runs.
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from monitoring.wiring import CONSUMERS, TOPIC_KEYS
from tests.support import pipeline  # the app's processes and configs, as the tests run them
from tests.support.pipeline import CSV_OF, SAMPLE  # noqa: F401 (for the bench's parts)

ROOT = pipeline.ROOT
BENCH = ROOT / "bench"
WORK = BENCH / "work"               # scratch: broker data, configs, CSVs (in .gitignore)
DATA = WORK / "data"                # generated data files, kept between runs (deterministic)
ROLE_KEYS = {role: c.topics for role, c in CONSUMERS.items()}
PARTITIONS = 3                      # as the kafka role creates the topics (kafka_topic_partitions: 3)
# The tests' config leaves these at the app's defaults when they are null: the bench measures what a
# deployment gets (monitoring/core/config.py), not the tests' small Spark.
AT_APP_DEFAULTS = {"producer": None, "consumer": None, "spark": None}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- statistics ---------------------------------------------------------------------------------

def summary(values: list[float], digits: int = 3) -> dict:
    """median, min, max, IQR (q1, q3: the 'inclusive' quartiles) and the runs themselves."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"n": 0, "median": None, "min": None, "max": None, "q1": None, "q3": None, "runs": []}
    if len(vals) >= 2:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    else:
        q1 = q3 = vals[0]
    r = lambda x: round(x, digits)  # noqa: E731
    return {"n": len(vals), "median": r(statistics.median(vals)), "min": r(min(vals)), "max": r(max(vals)),
            "q1": r(q1), "q3": r(q3), "runs": [r(v) for v in vals]}


def percentile(sorted_vals: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def load_average() -> dict:
    out = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    one, five, fifteen = os.getloadavg()
    return {"uptime": out, "load1": one, "load5": five, "load15": fifteen, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}


# --- processes ----------------------------------------------------------------------------------

# How the tests run the app: `python app/main.py [--config C] ROLE ARGS`.
app_command = pipeline.command


def bench_command(module: str, *args: str) -> list[str]:
    """Another part of the bench in its own process: `python -m bench.MODULE ARGS` (run from ROOT)."""
    return [sys.executable, "-m", f"bench.{module}", *map(str, args)]


def run_timed(cmd: list[str], timeout: float = 900, env: dict | None = None, cwd: Path | None = ROOT):
    """Run a command to its end; (wall seconds, CompletedProcess). Raises on a non-zero exit."""
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[:6]))} ... exited {res.returncode}:\n"
                           f"{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    return wall, res


_TICK = os.sysconf("SC_CLK_TCK")


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _proc_table() -> dict[int, tuple[int, float, int, str]]:
    """pid -> (ppid, CPU seconds used so far: utime + stime, resident bytes, command name) of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE, name)
    return table


@dataclass
class Measured:
    wall: float            # seconds
    cpu: float             # CPU seconds of the whole process tree
    peak_rss_mib: float    # the largest resident size of the tree at once (sum of its processes)
    peak_jvm_rss_mib: float  # the largest resident size of its JVM (PySpark's driver), 0 without one
    res: subprocess.CompletedProcess


def measure(cmd: list[str], timeout: float = 900, env: dict | None = None, poll: float = 0.05) -> Measured:
    """Run cmd; its wall time, the CPU seconds and the peak memory of its whole process tree.

    The child's own CPU (and that of the descendants it waited for) comes from getrusage; a
    descendant it never waits for (PySpark's JVM) is read from /proc every `poll` s, its last reading
    kept, so up to `poll` s of its CPU at the very end can be missed. Memory is the resident size
    read at the same polls (a peak shorter than `poll` can be missed). CPU seconds are far less
    sensitive than wall time to other work on the machine: the bench reports both.
    """
    import resource
    import threading

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env, text=True, cwd=ROOT)
    seen: dict[int, float] = {}
    peak = {"tree": 0, "jvm": 0}
    done = threading.Event()

    def watch():
        while not done.is_set():
            table = _proc_table()
            family = {proc.pid}
            grew = True
            while grew:
                grew = False
                for pid, (ppid, *_rest) in table.items():
                    if ppid in family and pid not in family:
                        family.add(pid)
                        grew = True
            for pid in family - {proc.pid}:
                seen[pid] = table[pid][1]
            present = [table[pid] for pid in family if pid in table]
            peak["tree"] = max(peak["tree"], sum(p[2] for p in present))
            peak["jvm"] = max([peak["jvm"]] + [p[2] for p in present if p[3] == "java"])
            done.wait(poll)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    finally:
        done.set()
        watcher.join()
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[:6]))} ... exited {proc.returncode}:\n"
                           f"{out[-2000:]}\n{err[-3000:]}")
    return Measured(wall, own + sum(seen.values()), round(peak["tree"] / 2**20, 1), round(peak["jvm"] / 2**20, 1), res)


def run_measured(cmd: list[str], timeout: float = 900, env: dict | None = None, poll: float = 0.05):
    """measure(), as (wall, cpu, CompletedProcess)."""
    m = measure(cmd, timeout, env, poll)
    return m.wall, m.cpu, m.res


class Service(pipeline.Service):
    """A consumer in its own session (tests/support/pipeline.py), and a wait until it reads."""

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the consumer logs that it reads its partitions (assigned, positioned)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "reading " in self.text() and " partitions of " in self.text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.role} exited {self.proc.returncode}:\n{self.text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.role} not ready after {timeout:g} s:\n{self.text()[-2000:]}")


# --- the broker ---------------------------------------------------------------------------------

class Broker:
    """The tests' single-node KRaft broker (tests/support/kafka_broker.py), with topic helpers."""

    def __init__(self, work: Path):
        from tests.support.kafka_broker import KafkaBroker

        self.kafka = KafkaBroker(work)
        self._n = 0

    def __enter__(self) -> "Broker":
        self.kafka.start()
        return self

    def __exit__(self, *exc) -> None:
        self.kafka.stop()

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap_servers

    def fresh_prefix(self, what: str) -> str:
        """Topic names never used before in this broker: each run starts from empty topics."""
        self._n += 1
        return f"bench-{what}-{self._n}"

    def create(self, prefix: str, keys=TOPIC_KEYS, partitions: int = PARTITIONS) -> list[str]:
        names = [f"{prefix}-{k}" for k in keys] if keys else [prefix]
        self.kafka.create_topics(names, partitions=partitions)
        return names

    def delete(self, names: list[str]) -> None:
        """Best effort: keeps the broker's log (and page cache) small between runs."""
        admin = self.kafka.admin()
        try:
            admin.delete_topics(names, timeout_ms=30000)
        except Exception as exc:  # a leftover topic costs disk only
            log(f"could not delete topics {names}: {exc}")
        finally:
            admin.close()


def settings_in_force(config: Path) -> dict:
    """The producer, consumer and Spark knobs the app reads from this config (defaults included)."""
    from dataclasses import asdict

    from monitoring.config_file import load_config

    cfg = load_config(config)
    return {"producer": asdict(cfg.producer), "consumer": asdict(cfg.consumer), "spark": asdict(cfg.spark)}


# --- data files ---------------------------------------------------------------------------------

def generated(servers: int, hours: float = 2.0) -> Path:
    """`main.py generate --servers N --hours H` once; the file is deterministic, so it is kept."""
    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / f"generated_{servers}servers_{hours:g}h.csv"
    done = out.with_suffix(".done")
    if not done.exists():
        log(f"generating {out.name} (main.py generate --servers {servers} --hours {hours:g})")
        run_timed(app_command(None, "generate", "--out", str(out), "--servers", str(servers),
                              "--hours", str(hours)), timeout=1800)
        done.write_text("ok\n")
    return out


class ConsumerFiles:
    """The four consumer CSVs in `output`, and their events/ copies (each line with the event time
    the producer decides in front), as the consumers write them: the jobs then read the inputs as
    deployed. Rows are buffered and written in blocks; use as a context manager."""

    def __init__(self, output: Path, block: int = 50_000):
        self.output, self.block, self.rows = output, block, 0
        self._csvs, self._events, self._lines = {}, {}, {k: ([], []) for k in TOPIC_KEYS}

    def __enter__(self):
        from monitoring.core.records import csv_line
        from monitoring.wiring import EVENT_TIME_COLUMN, EVENTS_DIR, TOPICS

        shutil.rmtree(self.output, ignore_errors=True)
        (self.output / EVENTS_DIR).mkdir(parents=True)
        for k in TOPIC_KEYS:
            self._csvs[k] = open(self.output / TOPICS[k].csv, "w", newline="")
            self._events[k] = open(self.output / EVENTS_DIR / TOPICS[k].csv, "w", newline="")
            self._csvs[k].write(csv_line(TOPICS[k].fields))
            self._events[k].write(csv_line((EVENT_TIME_COLUMN, *TOPICS[k].fields)))
        return self

    def add(self, event_time: int, lines) -> None:
        """One data row: its event time and its CSV line (newline included) for each topic, in TOPIC_KEYS order."""
        for (csv, stamped), line in zip(self._lines.values(), lines):
            csv.append(line)
            stamped.append(f"{event_time},{line}")
        self.rows += 1
        if self.rows % self.block == 0:
            self._flush()

    def _flush(self) -> None:
        for k, (csv, stamped) in self._lines.items():
            self._csvs[k].write("".join(csv))
            self._events[k].write("".join(stamped))
            csv.clear()
            stamped.clear()

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self._flush()
        finally:
            # The job trusts an events file only if it is not older than its CSV: close the CSVs first.
            for f in (*self._csvs.values(), *self._events.values()):
                f.close()
        return False


def head_of(path: Path, rows: int) -> Path:
    """The header and the first `rows` data rows of a data file."""
    DATA.mkdir(parents=True, exist_ok=True)  # `--parts ingest` alone runs before anything made it
    out = DATA / f"{path.stem}_head{rows}.csv"
    if not out.exists():
        with open(path) as src, open(out.with_suffix(".tmp"), "w") as dst:
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
        os.replace(out.with_suffix(".tmp"), out)
    return out


def data_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


def mean_message_size(path: Path) -> dict:
    """Average key and value sizes of the messages the producer makes from a data file."""
    from monitoring.core.records import RowError, encode_messages
    from monitoring.producer.sources import file_rows

    n = key_bytes = value_bytes = 0
    for _, row in file_rows(path):
        if isinstance(row, RowError):
            continue
        k = len(row.server_id.encode())
        for value in encode_messages(row).values():
            value_bytes += len(value)
            key_bytes += k
            n += 1
    return {"messages": n, "key": key_bytes / n, "value": value_bytes / n, "record": (key_bytes + value_bytes) / n}


_DONE_RE = re.compile(r"done: (\d+) rows read, (\d+) rejected, (\d+) messages acknowledged of (\d+) sent "
                      r"in ([\d.]+) s")
_STAMP_RE = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO producer: "


def _stamp(stderr: str, what: str) -> float:
    import datetime

    m = re.search(_STAMP_RE + what, stderr, re.M)
    if not m:
        raise RuntimeError(f"no producer log line {what!r}:\n{stderr[-2000:]}")
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000


def parse_producer_done(stderr: str) -> dict:
    """The producer's own account: rows, messages, and the seconds from its 'publishing' line to its
    'done' line (log stamps, 1 ms resolution: the 'done' line itself rounds to 0.1 s)."""
    m = _DONE_RE.search(stderr)
    if not m:
        raise RuntimeError(f"no 'done:' line from the producer:\n{stderr[-2000:]}")
    read, rejected, acked, sent, secs = m.groups()
    seconds = _stamp(stderr, "done: ") - _stamp(stderr, "publishing ")
    return {"rows": int(read) - int(rejected), "acked": int(acked), "sent": int(sent),
            "seconds": max(seconds, 1e-3), "seconds_logged": float(secs)}
