"""Part spark-series: both Spark jobs by the number of distinct timestamps, at the default 1g driver.

Inputs (generator, seed 42), each turned into the consumers' files directly, as the consumers write
them: the four consumer CSVs and, beside them in events/, the same lines with the event time the
producer decides (core.timeline.SeriesClock, file order). Kept in bench/work/spark-series.

  sample     20 servers x 2 h at 5 s, time-only from 10:00:00          28,800 rows,  1,440 timestamps
  3 days     2 servers x 72 h at 1 s, dated from 2026-11-01 00:00:00    518,400 rows, 259,200 timestamps
  2.88 M     2,000 servers x 2 h at 5 s, time-only from 10:00:00     2,880,000 rows, 1,440 timestamps
  28.8 M     2,000 servers x 20 h at 5 s, time-only from 10:00:00 (crosses midnight): part spark's
             2,880,000-row input (2 h) ten times over, each copy 2 h later  28,800,000 rows, 14,400 timestamps
             (generating 20 h afresh would take the generator most of an hour here)

Each run: spark-job1 and spark-job2 (`monitoring --config X spark-jobN`) on each input, smallest first;
whole-process wall time, CPU seconds of the process tree, and the peak resident memory of the driver
(PySpark's JVM) and of the whole tree. The sample's and the 3 days' team CSVs are compared with
tests/support/reference.py once; the 28.8 M outputs by their row count (servers x windows).

Targets (issue: exact on any series at any size): 28.8 M rows in at most 10x the 2.88 M time (both
measured here, in the same runs, so the machine's load is the same for both); the 3 days in at most 3x
the sample's time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.common import AT_APP_DEFAULTS, ConsumerFiles, app_command, log, measure, summary
from monitoring import wiring
from tests.support.pipeline import team_csv, write_config

JOBS = tuple(wiring.JOBS)


@dataclass(frozen=True)
class Series:
    name: str
    servers: int
    hours: float
    interval: int
    start: str
    repeat: int = 1       # the generated hours this many times over, each copy `hours` later

    @property
    def steps(self) -> int:
        return int(self.hours * 3600 // self.interval)

    @property
    def timestamps(self) -> int:
        return self.steps * self.repeat

    @property
    def rows(self) -> int:
        return self.servers * self.timestamps


SERIES = (
    Series("sample", 20, 2, 5, "10:00:00"),
    Series("3 days", 2, 72, 1, "2026-11-01 00:00:00"),
    Series("2.88 M", 2000, 2, 5, "10:00:00"),   # part spark's largest input, here for the 10x ratio in one run
    Series("28.8 M", 2000, 2, 5, "10:00:00", repeat=10),
)


def consumer_files(series: Series, folder: Path) -> Path:
    """folder/output with the consumers' CSVs and events/ files of the series; returns the output folder."""
    from monitoring.core import generator
    from monitoring.core.records import csv_line
    from monitoring.core.timeline import SeriesClock, format_seconds, parse_ts
    from monitoring.wiring import DATA_COLUMNS, TOPICS

    output = folder / "output"
    marker = folder / "inputs.done"
    if marker.exists():
        return output
    log(f"spark-series: writing the consumers' files of {series.name} ({series.rows:,} rows)")
    index = {k: [DATA_COLUMNS.index(c) for c in t.fields] for k, t in TOPICS.items()}
    clock = SeriesClock()
    spec = generator.Spec(servers=series.servers, hours=series.hours, interval=series.interval,
                          start=series.start)
    start = parse_ts(series.start)
    fields = {k: [i for i in cols if i != 0] for k, cols in index.items()}   # all but ts
    kept = []   # with repeat > 1: the generated rows' lines without their ts, by step

    def stamped_rows():
        step_of = {}
        for row in generator.rows(spec):
            step = step_of.setdefault(row[0], len(step_of))
            rest = tuple(csv_line(tuple(row[i] for i in fields[k])) for k in index)
            if series.repeat > 1:
                kept.append((step, rest))
            yield step, rest
        for copy in range(1, series.repeat):
            for step, rest in kept:
                yield copy * series.steps + step, rest

    with ConsumerFiles(output, block=100_000) as files:
        last_step, ts, t_event = None, "", 0
        for step, rest in stamped_rows():
            if step != last_step:       # rows of one timestamp share it: work it out once
                last_step = step
                ts = format_seconds(start.seconds + step * series.interval, start.kind)
                t_event = clock.event_time(parse_ts(ts))
            files.add(t_event, [f"{ts},{line}" for line in rest])
    marker.write_text(f"{series.rows}\n")
    return output


def _windows(series: Series, slide: int = 10) -> int:
    """Windows per server of an evenly spaced series: k = 0 .. (last - first) // slide."""
    return (series.timestamps - 1) * series.interval // slide + 1


def _check(series: Series, output: Path, rows_out: dict) -> str:
    from tests.support import reference

    if series.rows <= 600_000:
        for job, expected in zip(JOBS, (reference.expected_cpu_mem_file, reference.expected_net_disk_file)):
            if (output / team_csv(job)).read_text() != expected(str(output)):
                raise RuntimeError(f"{job} on {series.name} does not equal tests/support/reference.py")
        return "equal to the reference"
    want = series.servers * _windows(series)
    for job in JOBS:
        if rows_out[job] != want:
            raise RuntimeError(f"{job} on {series.name}: {rows_out[job]} rows, {want} expected")
    return f"{want:,} rows each, as expected"


def run(work: Path, runs: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for series in SERIES:
        folder = work / series.name.replace(" ", "")   # "2.88M" and "28.8M" must not share a folder
        output = consumer_files(series, folder)
        config = write_config(folder, "127.0.0.1:9", "spark", **AT_APP_DEFAULTS)  # the jobs never touch Kafka
        inputs[series.name] = (series, output, config)
    measured = {(s.name, j): [] for s in SERIES for j in JOBS}
    checks = {}
    for i in range(runs):
        line = []
        for series, output, config in inputs.values():
            rows_out = {}
            for job in JOBS:
                m = measure(app_command(config, job), timeout=3600)
                measured[(series.name, job)].append(m)
                rows_out[job] = sum(1 for _ in open(output / team_csv(job), "rb")) - 1
                line.append(f"{job}@{series.name} {m.wall:.1f} s, driver {m.peak_jvm_rss_mib:.0f} MiB")
            if i == 0:
                checks[series.name] = _check(series, output, rows_out)
        log(f"  run {i + 1}: " + "; ".join(line))
    table = []
    for (name, job), ms in measured.items():
        series = inputs[name][0]
        table.append({"series": name, "job": job, "input_rows": series.rows, "timestamps": series.timestamps,
                      "wall_s": summary([m.wall for m in ms]), "cpu_s": summary([m.cpu for m in ms], 2),
                      "driver_peak_mib": summary([m.peak_jvm_rss_mib for m in ms], 0),
                      "tree_peak_mib": summary([m.peak_rss_mib for m in ms], 0)})
    return {"series": [s.__dict__ for s in SERIES], "checks": checks, "jobs": table}
