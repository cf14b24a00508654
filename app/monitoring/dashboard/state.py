"""What the dashboard shows, kept as rows arrive: pure, no files, no web, no Kafka.

Three sources, one shape. Kafka (the default): the four metric topics' messages give each sample's
raw values, placed by the producer's event_time header; the alerts topic gives the live path's
alerts (a window's, decided by the stream jobs), a repeat dropped by job, server and window. The live CSVs (live_<suffix>.csv, the team CSVs' columns, windows as they
close) give each job's two aggregates and the window's alert. Until those exist, the consumers' CSVs
give each sample's raw values; a sample above its threshold is shown as such (an alert proper is a
window's, decided by the jobs), under the job's label for it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..core import alert_messages
from ..core.alerts import threshold_value
from ..core.records import RowError, decode_message, message_event_time
from ..core.timeline import SeriesClock, TimestampError, parse_ts
from ..wiring import ALERT_COLUMN, JOBS, TOPICS, Job

# The four metrics of the page, in the jobs' order: (job, index 0/1 in the job, its MetricInput).
METRICS = [(job, i, m) for job in JOBS.values() for i, m in enumerate((job.first, job.second))]
LIVE, CONSUMERS, KAFKA = "live", "consumers", "kafka"
# Where a partition of a topic is read from (start_offset): at least its last TAIL records, at most
# its last BACKLOG.
TAIL, BACKLOG = 200, 20000


def metric_names(source: str) -> list[str]:
    """The columns the page shows: the live CSVs' aggregates, or the consumers' raw metrics."""
    return [m.out if source == LIVE else m.metric for _, _, m in METRICS]


@dataclass
class Board:
    source: str
    thresholds: dict[str, float]            # metric name (of this source) -> threshold
    history_seconds: int = 600
    max_alerts: int = 50
    version: int = 0
    current: dict[str, dict[str, float | None]] = field(default_factory=dict)    # server -> metric -> value
    times: dict[str, str] = field(default_factory=dict)                          # server -> its last ts
    history: dict[str, dict[str, deque]] = field(default_factory=dict)           # metric -> server -> (t, value)
    alerts: deque = field(default_factory=deque)                                 # newest first
    _clocks: dict[str, SeriesClock] = field(default_factory=dict)
    latest: int | None = None                                                    # the latest event time seen
    # Samples over their threshold are listed as alerts (the CSVs, or Kafka without an alerts topic);
    # False: the alerts are the live path's windows only.
    sample_alerts: bool = True
    notice: str = ""                                                             # what the page says of its source
    _alert_keys: set = field(default_factory=set)                                # the alerts-topic alerts held

    def _event_time(self, server: str, ts: str) -> int | None:
        try:
            return self._clocks.setdefault(server, SeriesClock()).event_time(parse_ts(ts))
        except TimestampError:
            return None

    def _value(self, server: str, metric: str, t: int, text: str) -> float | None:
        if not isinstance(text, str):
            return None
        try:
            value = float(text) if text.strip() else None
        except ValueError:
            return None
        self.current.setdefault(server, {})[metric] = value
        if value is not None:
            series = self.history.setdefault(metric, {}).setdefault(server, deque())
            series.append((t, value))
            while series and series[0][0] < t - self.history_seconds:
                series.popleft()
        return value

    def _alert(self, server: str, ts: str, label: str, **more) -> None:
        if label:
            self.alerts.appendleft({"server": server, "time": ts, "alert": label, **more})
            while len(self.alerts) > self.max_alerts:
                self._alert_keys.discard(self.alerts.pop().get("key"))

    def add_window(self, job: Job, row: dict[str, str]) -> None:
        """A row of a live CSV (the job's team CSV columns)."""
        server, ts = row.get("server_id", ""), row.get("window_start", "")
        t = self._event_time(server, ts)
        if not server or t is None:
            return
        for m in (job.first, job.second):
            self._value(server, m.out, t, row.get(m.out, ""))
        self._alert(server, ts, row.get("alert", "").strip())
        self._seen(server, ts, t)

    def add_sample(self, topic_key: str, row: dict[str, str], event_time: int | None = None) -> None:
        """One topic's fields of one sample: a row of a consumer CSV, or a message of a metric topic
        (its numbers as text) with the producer's event time in seconds (else placed by its ts)."""
        server, ts = row.get("server_id", ""), row.get("ts", "")
        if not isinstance(server, str) or not isinstance(ts, str):
            return
        t = self._event_time(f"{topic_key}/{server}", ts) if event_time is None else event_time
        if not server or t is None:
            return
        for job, index, m in METRICS:
            if m.topic == topic_key:
                value = self._value(server, m.metric, t, row.get(m.metric, ""))
                if self.sample_alerts and value is not None and _above(value, self.thresholds[m.metric]):
                    labels = job.labels
                    self._alert(server, ts, labels.first_only if index == 0 else labels.second_only)
        self._seen(server, ts, t)

    def add_alert(self, doc: dict) -> bool:
        """An alert of the alerts topic (monitoring.core.alert_messages.decode's fields); a repeat of
        one held (the same job, server and window) is dropped. True when it was added."""
        key = (doc.get("job"), doc.get("server_id"), doc.get("window_start"), doc.get("window_end"))
        label = doc.get(ALERT_COLUMN)
        if not all(isinstance(v, str) and v for v in (*key, label)) or key in self._alert_keys:
            return False
        self._alert_keys.add(key)
        self._alert(key[1], key[2], label, until=key[3], job=key[0], key=key)
        self.version += 1
        return True

    def add_message(self, topic_key: str, value: bytes | None, headers: dict) -> bool:
        """A message of a metric topic, checked by the consumers' rules; a bad one is skipped (False)."""
        try:
            fields = decode_message(topic_key, value)
            t = message_event_time(headers)
        except RowError:
            return False
        self.add_sample(topic_key, dict(zip(TOPICS[topic_key].fields, fields)), t)
        return True

    def add_alert_message(self, value: bytes | None) -> bool:
        """A message of the alerts topic; one that is not an alert, or a repeat, is skipped (False)."""
        try:
            return self.add_alert(alert_messages.decode(value or b""))
        except ValueError:
            return False

    def _seen(self, server: str, ts: str, t: int) -> None:
        self.times[server] = ts
        self.latest = t if self.latest is None else max(self.latest, t)
        self.version += 1

    def snapshot(self) -> dict:
        """What the page needs, as JSON-able data."""
        metrics = metric_names(self.source)
        return {
            "version": self.version, "source": self.source, "metrics": metrics,
            "thresholds": self.thresholds,
            "servers": [{"server": s, "time": self.times.get(s, ""),
                         "values": {m: self.current[s].get(m) for m in metrics}} for s in sorted(self.current)],
            "alerts": [{k: v for k, v in a.items() if k != "key"} for a in self.alerts],
            "alerts_from": "samples" if self.sample_alerts else "windows",
            "notice": self.notice,
        }


def start_offset(beginning: int, end: int, recent: int | None, tail: int = TAIL, backlog: int = BACKLOG) -> int:
    """Where to start reading a partition: at its first record sent in the last minutes (`recent`:
    offsets_for_times' answer, None when no record is that recent), but no later than its last
    `tail` records (the current values after a quiet spell) and no earlier than its last `backlog`
    (a fast replay of millions) nor its beginning."""
    start = end if recent is None else recent
    return max(beginning, end - backlog, min(start, end - tail))


def _above(value: float, threshold: float) -> bool:
    try:
        return Decimal(f"{value:.2f}") > threshold_value(threshold)
    except InvalidOperation:
        return False


def thresholds_for(source: str, cfg_thresholds) -> dict[str, float]:
    return {name: getattr(cfg_thresholds, m.threshold_key) for name, (_, _, m) in zip(metric_names(source), METRICS)}


def consumer_csvs() -> dict[str, str]:
    """topic key -> its consumer CSV's file name."""
    return {k: t.csv for k, t in TOPICS.items()}
