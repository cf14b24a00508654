"""Part 3: both Spark jobs on 28,800, 288,000 and 2,880,000 input rows, beside the floor.

Inputs: `main.py generate --servers N` (N = 20, 200, 2000; 2 hours at 5 s: N x 1,440 rows; N = 20 is
the sample itself), turned into the four consumer CSVs directly (each row parsed by the app's own
parse_row, its topic's fields written with the consumers' csv_line: the bytes the consumers would
write, in file order), not through Kafka. Kept in bench/work/spark between benches.

Each run, in this order: the floor (bench/spark_floor.py: the job's own SparkSession started and
stopped), the cheapest Spark SQL jobs on the same session (spark_floor.py range-count, csv-count,
csv-aggregate: what any first action costs in a new JVM), then spark-job1 and spark-job2 (`main.py --config X spark-job1`) on each size, smallest
first. Times are the whole process's wall time, what a user waits for (the job's own log line, from
its start to the written file, is kept too), and the CPU seconds of the process tree (Python and
the JVM), which other work on a shared machine distorts much less. The 28,800-row outputs are compared with
tests/support/reference.py once, so a tuning that changed a byte would show here.
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from common import (CSV_OF, ROOT, TOPIC_KEYS, app_command, generated, log, run_measured, settings_in_force, summary,
                    write_config)

JOBS = ("spark-job1", "spark-job2")
CHEAPEST = ("range-count", "csv-count", "csv-aggregate")  # bench/spark_floor.py
OUTPUT_NAME = {"spark-job1": "team_42_CPU_MEM.csv", "spark-job2": "team_42_NET_DISK.csv"}
_JOB_LOG = re.compile(r"wrote .*: (\d+) rows in ([\d.]+) s")


def consumer_csvs(servers: int, folder: Path) -> int:
    """The four consumer CSVs of `generate --servers N` in folder/output; returns the data rows."""
    from pipeline.records import TOPIC_FIELDS, RowError, csv_line
    from producer.sources import file_rows

    output = folder / "output"
    marker = folder / "inputs.done"
    if marker.exists():
        return int(marker.read_text())
    data = generated(servers)
    log(f"spark: writing the consumer CSVs of {data.name}")
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    handles = {k: open(output / CSV_OF[k], "w", newline="") for k in TOPIC_KEYS}
    n = 0
    try:
        for k, f in handles.items():
            f.write(csv_line(TOPIC_FIELDS[k]))
        buffers = {k: [] for k in TOPIC_KEYS}
        for _, row in file_rows(data):
            if isinstance(row, RowError):
                raise RuntimeError(f"{data}: {row}")
            n += 1
            for k in TOPIC_KEYS:
                buffers[k].append(csv_line(row.fields(TOPIC_FIELDS[k])))
            if n % 50_000 == 0:
                for k in TOPIC_KEYS:
                    handles[k].write("".join(buffers[k]))
                    buffers[k].clear()
        for k in TOPIC_KEYS:
            handles[k].write("".join(buffers[k]))
    finally:
        for f in handles.values():
            f.close()
    marker.write_text(str(n))
    return n


def session_options() -> str:
    """The Spark options _session() adds beyond the config's (read from the job's source)."""
    src = (ROOT / "app" / "spark-jobs" / "windowed_job.py").read_text()
    found = re.findall(r'\.config\("(spark\.[\w.]+)", "([^"]*)"\)', src)
    return ", ".join(f"{k}={v}" for k, v in found)


def _check_reference(output: Path) -> bool:
    from tests.support import reference

    for job in JOBS:
        want = (reference.expected_cpu_mem_file if job == "spark-job1" else reference.expected_net_disk_file)(
            str(output))
        if (output / OUTPUT_NAME[job]).read_text() != want:
            raise RuntimeError(f"{job} on the sample no longer equals tests/support/reference.py")
    return True


def run(work: Path, runs: int, sizes=(20, 200, 2000)) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for servers in sizes:
        folder = work / f"servers{servers}"
        rows = consumer_csvs(servers, folder)
        config = write_config(folder, "127.0.0.1:9", "spark")  # the jobs never touch Kafka
        inputs[servers] = (rows, config)
    settings = settings_in_force(inputs[sizes[0]][1])["spark"]
    floor_cfg = inputs[sizes[0]][1]
    floor, floor_cpu = [], []
    cheapest = {what: [] for what in CHEAPEST}
    walls, cpus, own = ({(s, j): [] for s in sizes for j in JOBS} for _ in range(3))
    out_rows = {}
    log(f"spark: floor + {len(JOBS)} jobs x {len(sizes)} sizes ({', '.join(str(inputs[s][0]) for s in sizes)} rows),"
        f" {runs} runs")
    for i in range(runs):
        wall, cpu, _ = run_measured([sys.executable, str(ROOT / "bench" / "spark_floor.py"), str(floor_cfg)],
                                    timeout=600)
        floor.append(wall)
        floor_cpu.append(cpu)
        line = [f"floor {wall:.1f} s"]
        for what in CHEAPEST:
            wall, _, _ = run_measured([sys.executable, str(ROOT / "bench" / "spark_floor.py"), str(floor_cfg), what],
                                      timeout=600)
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
                line.append(f"{job}@{rows} {wall:.1f} s")
        if i == 0:
            _check_reference(inputs[sizes[0]][1].parent / "output")
        log(f"  run {i + 1}: " + ", ".join(line))
    phases = None
    try:  # where the time of one job goes, phase by phase (one extra run, not counted above)
        import json

        _, _, res = run_measured([sys.executable, str(ROOT / "bench" / "spark_phases.py"), str(floor_cfg)],
                                 timeout=600)
        phases = json.loads(res.stdout.strip().splitlines()[-1])
    except (RuntimeError, ValueError) as exc:
        log(f"spark phases failed: {exc}")
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
            "floor_cpu_s": summary(floor_cpu, 2), "cheapest_jobs": cheapest_jobs, "jobs": table, "phases_job1_smallest": phases, "targets": targets,
            "sample_equals_reference": True}
