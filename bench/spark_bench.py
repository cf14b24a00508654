"""Part 3: both Spark jobs on 28,800, 288,000 and 2,880,000 input rows, beside the floor.

Inputs: `main.py generate --servers N` (N = 20, 200, 2000; 2 hours at 5 s: N x 1,440 rows; N = 20 is
the sample itself), turned into the four consumer CSVs and their events/ copies directly (each row
parsed by the app's own parse_row, its topic's fields written with the consumers' csv_line, the event
time from the producer's SeriesClock: the bytes the consumers would write, in file order), not
through Kafka. Kept in bench/work/spark between benches.

Each run, in this order: the floor (bench.spark_floor: the job's own SparkSession started and
stopped), the cheapest Spark SQL jobs on the same session (spark_floor.py range-count, csv-count,
csv-aggregate: what any first action costs in a new JVM), then spark-job1 and spark-job2 (`main.py --config X spark-job1`) on each size, smallest
first. Where a job's time goes comes from the job's own `phases:` log line (the median of the runs on the sample). Times are the whole process's wall time, what a user waits for (the job's own log line, from
its start to the written file, is kept too), and the CPU seconds of the process tree (Python and
the JVM), which other work on a shared machine distorts much less. The 28,800-row outputs are compared with
tests/support/reference.py once, so a tuning that changed a byte would show here.
"""
from __future__ import annotations

import re
from pathlib import Path

from bench.common import (AT_APP_DEFAULTS, TOPIC_KEYS, ConsumerFiles, app_command, bench_command, generated, log,
                         run_measured, settings_in_force, summary)
from monitoring import wiring
from tests.support.pipeline import team_csv, write_config

JOBS = tuple(wiring.JOBS)
CHEAPEST = ("range-count", "csv-count", "csv-aggregate")  # bench.spark_floor
_JOB_LOG = re.compile(r"wrote .*: (\d+) rows in ([\d.]+) s")
_PHASES_LOG = re.compile(r" phases: (.*)$", re.M)


def consumer_csvs(servers: int, folder: Path) -> int:
    """The four consumer CSVs of `generate --servers N` in folder/output, and their events/ copies:
    what the consumers write, so the jobs read them as deployed. Returns the data rows."""
    from monitoring.core.records import RowError, csv_line
    from monitoring.core.timeline import SeriesClock
    from monitoring.producer.sources import file_rows
    from monitoring.wiring import TOPICS

    # Named for its contents: inputs made before the events/ copies were written are made again.
    marker = folder / "inputs-with-events.done"
    if marker.exists():
        return int(marker.read_text())
    data = generated(servers)
    log(f"spark: writing the consumer CSVs and their events/ copies of {data.name}")
    clock = SeriesClock()
    with ConsumerFiles(folder / "output") as files:
        for _, row in file_rows(data):
            if isinstance(row, RowError):
                raise RuntimeError(f"{data}: {row}")
            files.add(clock.event_time(row.stamp), [csv_line(row.fields(TOPICS[k].fields)) for k in TOPIC_KEYS])
    marker.write_text(str(files.rows))
    return files.rows


def session_options() -> str:
    """The Spark options spark_session() adds beyond the config's (read from the job's source)."""
    from monitoring.jobs import windowed_job

    src = Path(windowed_job.__file__).read_text()
    found = re.findall(r'\.config\("(spark\.[\w.]+)", "([^"]*)"\)', src)
    return ", ".join(f"{k}={v}" for k, v in found)


def job_phases(stderr: str) -> dict:
    """The job's `phases:` log line: phase -> seconds ({} when it is missing)."""
    m = _PHASES_LOG.search(stderr)
    if not m:
        return {}
    return {name: float(seconds) for name, seconds in re.findall(r"([^,]+?) ([\d.]+) s(?:, |$)", m.group(1))}


def _check_reference(output: Path) -> bool:
    from tests.support import reference

    for job in JOBS:
        want = (reference.expected_cpu_mem_file if job == "spark-job1" else reference.expected_net_disk_file)(
            str(output))
        if (output / team_csv(job)).read_text() != want:
            raise RuntimeError(f"{job} on the sample no longer equals tests/support/reference.py")
    return True


def run(work: Path, runs: int, sizes=(20, 200, 2000)) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for servers in sizes:
        folder = work / f"servers{servers}"
        rows = consumer_csvs(servers, folder)
        config = write_config(folder, "127.0.0.1:9", "spark", **AT_APP_DEFAULTS)  # the jobs never touch Kafka
        inputs[servers] = (rows, config)
    settings = settings_in_force(inputs[sizes[0]][1])["spark"]
    floor_cfg = inputs[sizes[0]][1]
    floor, floor_cpu = [], []
    cheapest = {what: [] for what in CHEAPEST}
    walls, cpus, own = ({(s, j): [] for s in sizes for j in JOBS} for _ in range(3))
    out_rows = {}
    phases = []  # the job's own phase times: spark-job1 on the smallest input, each run
    log(f"spark: floor + {len(JOBS)} jobs x {len(sizes)} sizes ({', '.join(str(inputs[s][0]) for s in sizes)} rows),"
        f" {runs} runs")
    for i in range(runs):
        wall, cpu, _ = run_measured(bench_command("spark_floor", floor_cfg), timeout=600)
        floor.append(wall)
        floor_cpu.append(cpu)
        line = [f"floor {wall:.1f} s"]
        for what in CHEAPEST:
            wall, _, _ = run_measured(bench_command("spark_floor", floor_cfg, what), timeout=600)
            cheapest[what].append(wall)
            line.append(f"{what} {wall:.1f} s")
        for servers in sizes:
            rows, config = inputs[servers]
            for job in JOBS:
                wall, cpu, res = run_measured(app_command(config, job), timeout=1800)
                m = _JOB_LOG.search(res.stderr)
                walls[(servers, job)].append(wall)
                cpus[(servers, job)].append(cpu)
                own[(servers, job)].append(float(m.group(2)) if m else None)
                out_rows[(servers, job)] = int(m.group(1)) if m else None
                if servers == sizes[0] and job == JOBS[0]:
                    phases.append(job_phases(res.stderr))
                line.append(f"{job}@{rows} {wall:.1f} s")
        if i == 0:
            _check_reference(inputs[sizes[0]][1].parent / "output")
        log(f"  run {i + 1}: " + ", ".join(line))
    phases_median = {name: summary([p[name] for p in phases if name in p], 2)["median"] for name in phases[0]} \
        if phases and phases[0] else None
    floor_s = summary(floor)
    small = {job: summary(walls[(sizes[0], job)])["median"] for job in JOBS}
    table = []
    for servers in sizes:
        rows = inputs[servers][0]
        for job in JOBS:
            s = summary(walls[(servers, job)])
            table.append({
                "job": job, "servers": servers, "input_rows": rows, "output_rows": out_rows[(servers, job)],
                "wall_s": s, "cpu_s": summary(cpus[(servers, job)], 2), "job_log_s": summary(own[(servers, job)], 1),
                "cpu_ratio_to_floor": round(summary(cpus[(servers, job)])["median"] / summary(floor_cpu)["median"], 3),
                "ratio_to_floor": round(s["median"] / floor_s["median"], 3),
                "ratio_to_smallest": round(s["median"] / small[job], 3),
            })
    targets = {}
    for job in JOBS:
        first = next(r for r in table if r["job"] == job and r["servers"] == sizes[0])
        last = next(r for r in table if r["job"] == job and r["servers"] == sizes[-1])
        targets[job] = {
            "small_vs_floor": first["ratio_to_floor"], "small_vs_floor_target": 1.5,
            "small_vs_floor_met": first["ratio_to_floor"] <= 1.5,
            "large_vs_small": last["ratio_to_smallest"], "large_vs_small_target": 4.0,
            "large_vs_small_met": last["ratio_to_smallest"] <= 4.0,
        }
    cheapest_jobs = [{"what": what, "wall_s": summary(cheapest[what]),
                      "ratio_to_floor": round(summary(cheapest[what])["median"] / floor_s["median"], 3)}
                     for what in CHEAPEST]
    return {"settings": settings, "session_options": session_options(), "floor_s": floor_s,
            "floor_cpu_s": summary(floor_cpu, 2), "cheapest_jobs": cheapest_jobs, "jobs": table, "phases_job1_smallest": phases_median, "targets": targets,
            "sample_equals_reference": True}
