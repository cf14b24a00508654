"""spark-job1: cpu_data.csv + mem_data.csv -> team_<N>_CPU_MEM.csv (window averages, alerts).

Run it as `python app/main.py --config FILE spark-job1`, or with spark-submit:
`spark-submit app/spark-jobs/spark_job1.py --config FILE`.
"""
import os
import sys

sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

from pipeline.alerts import CPU_MEM_LABELS  # noqa: E402
from windowed_job import JobError, JobSpec, MetricInput, run  # noqa: E402,F401

SPEC = JobSpec(
    name="spark-job1",
    suffix="CPU_MEM",
    first=MetricInput("cpu_data.csv", ("ts", "server_id", "cpu_pct"), "cpu_pct", "avg", "avg_cpu", "cpu"),
    second=MetricInput("mem_data.csv", ("ts", "server_id", "mem_pct"), "mem_pct", "avg", "avg_mem", "mem"),
    labels=CPU_MEM_LABELS,
)


def main(cfg, master=None) -> int:
    return run(cfg, SPEC, master)


if __name__ == "__main__":
    from main import cli

    sys.exit(cli(sys.argv[1:] + ["spark-job1"]))
