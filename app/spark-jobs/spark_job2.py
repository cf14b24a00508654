"""spark-job2: net_data.csv + disk_data.csv -> team_<N>_NET_DISK.csv (window maxima, alerts).

Run it as `python app/main.py --config FILE spark-job2`, or with spark-submit:
`spark-submit app/spark-jobs/spark_job2.py --config FILE`.
"""
import os
import sys

sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

from pipeline.alerts import NET_DISK_LABELS  # noqa: E402
from windowed_job import JobError, JobSpec, MetricInput, run  # noqa: E402,F401

SPEC = JobSpec(
    name="spark-job2",
    suffix="NET_DISK",
    first=MetricInput("net_data.csv", ("ts", "server_id", "net_in", "net_out"), "net_in", "max", "max_net_in",
                      "net_in"),
    second=MetricInput("disk_data.csv", ("ts", "server_id", "disk_io"), "disk_io", "max", "max_disk_io", "disk_io"),
    labels=NET_DISK_LABELS,
)


def main(cfg, master=None) -> int:
    return run(cfg, SPEC, master)


if __name__ == "__main__":
    from main import cli

    sys.exit(cli(sys.argv[1:] + ["spark-job2"]))
