"""The pipeline's wiring, as data: the one place that says what flows where.

data file -> producer -> four topics (each carries some of the file's columns) -> two consumers
(each reads two topics into one CSV per topic) -> two Spark jobs (each reads one consumer's two
CSVs and writes one team CSV). Everything else reads this module: the producer, the consumers, the
jobs, the CLI's texts, the tests, the bench and, through `monitoring describe` and the generated
playbooks/vars/wiring.yml, Ansible. Nothing here does anything; change a fact here and only here.
"""
from __future__ import annotations

from dataclasses import dataclass

# The data file's columns, in their usual order (a header may name them in any order).
DATA_COLUMNS = ("ts", "server_id", "cpu_pct", "mem_pct", "net_in", "net_out", "disk_io")


@dataclass(frozen=True)
class Topic:
    key: str              # what config.yaml's `topics:` section and the code call it
    default_name: str     # its Kafka topic name unless config.yaml says otherwise
    fields: tuple         # the message's fields, in the order of its consumer CSV's columns
    csv: str              # the consumer CSV it is written to, in output_dir


TOPICS = {t.key: t for t in (
    Topic("cpu", "topic-cpu", ("ts", "server_id", "cpu_pct"), "cpu_data.csv"),
    Topic("mem", "topic-mem", ("ts", "server_id", "mem_pct"), "mem_data.csv"),
    Topic("net", "topic-net", ("ts", "server_id", "net_in", "net_out"), "net_data.csv"),
    Topic("disk", "topic-disk", ("ts", "server_id", "disk_io"), "disk_data.csv"),
)}
TOPIC_KEYS = tuple(TOPICS)

# The live path's alerts: one JSON message per alert of a closed window, keyed by server_id, on this
# topic (config.yaml's `topics.alerts`; optional there, unlike the four data topics).
ALERTS_TOPIC_KEY = "alerts"
ALERTS_TOPIC_DEFAULT = "topic-alerts"
# An alert message's fields before the job's two aggregates, and after them the alert's label.
ALERT_MESSAGE_LEAD = ("job", "server_id", "window_start", "window_end")

# Beside each consumer CSV the consumers keep, in this folder of output_dir under the same name, the
# same rows with the event time the producer decided in front: what the batch jobs read (a CSV
# interleaves its topic's partitions, so its line order is not the series' order).
EVENTS_DIR = "events"
EVENT_TIME_COLUMN = "event_time"


@dataclass(frozen=True)
class Consumer:
    role: str             # the CLI subcommand, the host in the inventory, the unit's name
    topics: tuple         # topic keys it reads

    @property
    def csvs(self) -> tuple:
        return tuple(TOPICS[k].csv for k in self.topics)


CONSUMERS = {c.role: c for c in (
    Consumer("consumer1", ("cpu", "mem")),
    Consumer("consumer2", ("net", "disk")),
)}


@dataclass(frozen=True)
class MetricInput:
    topic: str            # the topic key whose consumer CSV is read
    metric: str           # the column aggregated
    aggregate: str        # "avg" or "max"
    out: str              # the team CSV's column
    threshold_key: str    # the config's `thresholds:` key its alert compares with

    @property
    def file(self) -> str:
        return TOPICS[self.topic].csv

    @property
    def columns(self) -> tuple:
        return TOPICS[self.topic].fields


@dataclass(frozen=True)
class AlertLabels:
    both: str             # first and second above their thresholds
    first_only: str
    second_only: str      # neither above: no alert, an empty field


# The team CSV's columns around the two aggregates: server, window, <first>, <second>, alert.
TEAM_CSV_LEAD = ("server_id", "window_start", "window_end")
ALERT_COLUMN = "alert"


@dataclass(frozen=True)
class Job:
    name: str             # the CLI subcommand
    consumer: str         # the consumer role whose CSVs it reads (it runs on that host)
    summary: str          # what it computes, for --help
    first: MetricInput
    second: MetricInput
    labels: AlertLabels
    suffix: str           # the team CSV is team_<N>_<suffix>.csv; the live CSV live_<suffix>.csv
    stream: str           # the CLI subcommand of its live twin (Spark Structured Streaming from Kafka)

    @property
    def header(self) -> tuple:
        return (*TEAM_CSV_LEAD, self.first.out, self.second.out, ALERT_COLUMN)

    def output_name(self, team: str) -> str:
        return team_csv_name(team, self.suffix)

    @property
    def live_csv(self) -> str:
        """The live CSV its stream job appends each closed window to, in output_dir."""
        return live_csv_name(self.suffix)

    @property
    def topics(self) -> tuple:
        return (self.first.topic, self.second.topic)

    @property
    def alert_fields(self) -> tuple:
        return (*ALERT_MESSAGE_LEAD, self.first.out, self.second.out, ALERT_COLUMN)


def team_csv_name(team: str, suffix: str) -> str:
    return f"team_{team}_{suffix}.csv"


def live_csv_name(suffix: str) -> str:
    """The live path's CSV of a job: the same columns as its team CSV, windows as they close."""
    return f"live_{suffix}.csv"


# What `monitoring report` writes beside the team CSVs.
REPORT_FILE = "report.html"


JOBS = {j.name: j for j in (
    Job("spark-job1", "consumer1", "window averages of CPU and memory with alerts",
        MetricInput("cpu", "cpu_pct", "avg", "avg_cpu", "cpu"),
        MetricInput("mem", "mem_pct", "avg", "avg_mem", "mem"),
        AlertLabels("High CPU + Memory stress", "CPU spike suspected", "Memory saturation suspected"),
        "CPU_MEM", "stream-job1"),
    Job("spark-job2", "consumer2", "window maxima of network-in and disk I/O with alerts",
        MetricInput("net", "net_in", "max", "max_net_in", "net_in"),
        MetricInput("disk", "disk_io", "max", "max_disk_io", "disk_io"),
        AlertLabels("Network flood + Disk thrash suspected", "Possible DDoS", "Disk thrash suspected"),
        "NET_DISK", "stream-job2"),
)}


def consumer_summary(role: str) -> str:
    c = CONSUMERS[role]
    names = [TOPICS[k].default_name for k in c.topics]
    return f"consume {' and '.join(names)} into {' and '.join(c.csvs)}, until stopped"


# The stream jobs by their CLI subcommand.
STREAM_JOBS = {j.stream: j for j in JOBS.values()}


def job_summary(name: str) -> str:
    job = JOBS[name]
    return f"{job.summary} -> {team_csv_name('<N>', job.suffix)}"


def stream_summary(name: str) -> str:
    job = STREAM_JOBS[name]
    topics = " and ".join(TOPICS[k].default_name for k in job.topics)
    return (f"live: {job.summary} from {topics} as they arrive -> {job.live_csv}, "
            f"alerts to {ALERTS_TOPIC_DEFAULT}, until stopped")


def describe() -> dict:
    """The whole wiring as plain data (what `monitoring describe --json` prints)."""
    def metric(m: MetricInput) -> dict:
        return {"topic": m.topic, "file": m.file, "metric": m.metric, "aggregate": m.aggregate, "out": m.out,
                "threshold_key": m.threshold_key}

    return {
        "data_columns": list(DATA_COLUMNS),
        "topics": {k: {"default_name": t.default_name, "fields": list(t.fields), "csv": t.csv}
                   for k, t in TOPICS.items()},
        "consumers": {r: {"topics": list(c.topics), "csvs": list(c.csvs)} for r, c in CONSUMERS.items()},
        "jobs": {n: {"consumer": j.consumer, "summary": j.summary, "first": metric(j.first),
                     "second": metric(j.second),
                     "labels": {"both": j.labels.both, "first_only": j.labels.first_only,
                                "second_only": j.labels.second_only},
                     "suffix": j.suffix, "header": list(j.header),
                     "stream": j.stream, "live_csv": j.live_csv, "alert_fields": list(j.alert_fields)}
                 for n, j in JOBS.items()},
        "alerts_topic": {"key": ALERTS_TOPIC_KEY, "default_name": ALERTS_TOPIC_DEFAULT},
        "team_csv_name": team_csv_name("{team}", "{suffix}"),
    }


def ansible_vars() -> dict:
    """What the playbooks need of the wiring (playbooks/vars/wiring.yml is this, generated). A job's
    `result` is its team CSV's name as an Ansible template of the play's team_number."""
    return {
        "wiring_topics": {k: t.default_name for k, t in TOPICS.items()},
        "wiring_alerts_topic": ALERTS_TOPIC_DEFAULT,
        "wiring_consumers": {r: {"topics": list(c.topics), "csvs": list(c.csvs)} for r, c in CONSUMERS.items()},
        "wiring_jobs": {j.consumer: {"job": j.name, "suffix": j.suffix, "result": j.output_name("{{ team_number }}"),
                                     "header": ",".join(j.header), "stream": j.stream, "live_csv": j.live_csv,
                                     "topics": list(j.topics)}
                        for j in JOBS.values()},
    }
