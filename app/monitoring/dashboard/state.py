"""What the dashboard shows, kept as rows arrive: pure, no files, no web.

Two sources, one shape. The live CSVs (live_<suffix>.csv, the team CSVs' columns, windows as they
close) give each job's two aggregates and the window's alert. Until those exist, the consumers' CSVs
give each sample's raw values; a sample above its threshold is shown as such (an alert proper is a
window's, decided by the jobs), under the job's label for it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..core.alerts import threshold_value
from ..core.timeline import SeriesClock, TimestampError, parse_ts
from ..wiring import JOBS, TOPICS, Job

# The four metrics of the page, in the jobs' order: (job, index 0/1 in the job, its MetricInput).
METRICS = [(job, i, m) for job in JOBS.values() for i, m in enumerate((job.first, job.second))]
LIVE, CONSUMERS = "live", "consumers"


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

    def _event_time(self, server: str, ts: str) -> int | None:
        try:
            return self._clocks.setdefault(server, SeriesClock()).event_time(parse_ts(ts))
        except TimestampError:
            return None

    def _value(self, server: str, metric: str, t: int, text: str) -> float | None:
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

    def _alert(self, server: str, ts: str, label: str) -> None:
        if label:
            self.alerts.appendleft({"server": server, "time": ts, "alert": label})
            while len(self.alerts) > self.max_alerts:
                self.alerts.pop()

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

    def add_sample(self, topic_key: str, row: dict[str, str]) -> None:
        """A row of a consumer CSV: one topic's fields of one sample."""
        server, ts = row.get("server_id", ""), row.get("ts", "")
        t = self._event_time(f"{topic_key}/{server}", ts)
        if not server or t is None:
            return
        for job, index, m in METRICS:
            if m.topic == topic_key:
                value = self._value(server, m.metric, t, row.get(m.metric, ""))
                if value is not None and _above(value, self.thresholds[m.metric]):
                    labels = job.labels
                    self._alert(server, ts, labels.first_only if index == 0 else labels.second_only)
        self._seen(server, ts, t)

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
            "alerts": list(self.alerts),
        }


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
