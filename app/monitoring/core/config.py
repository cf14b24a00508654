"""The config rules: a parsed config.yaml mapping -> a frozen, typed Config; every mistake is one clear line.

Reading the file is the shell's part (monitoring.config_file); this module only validates data, so
the rules exist once and anything that can produce the mapping (the CLI, Ansible's preflight through
`check-config`) gets the same answer.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from ..wiring import ALERTS_TOPIC_DEFAULT, ALERTS_TOPIC_KEY, CONSUMERS, STREAM_JOBS, TOPIC_KEYS

# The commands that talk to Kafka: kafka.logins may give one of them a Kafka user of its own
# (e.g. alerts: the reader of the alerts topic); the others log in as kafka.sasl_username.
KAFKA_COMMANDS = ("producer", *CONSUMERS, "wait-caught-up", *STREAM_JOBS, "alerts")


class ConfigError(ValueError):
    """A config.yaml mistake; the message names the key."""


@dataclass(frozen=True)
class Topics:
    names: Mapping[str, str]    # topic key (monitoring.wiring.TOPICS) -> Kafka topic name
    alerts: str = ALERTS_TOPIC_DEFAULT   # the live path's alerts topic

    def name(self, key: str) -> str:
        return self.names[key]


@dataclass(frozen=True)
class Hosts:
    producer: str
    broker: str
    consumer1: str
    consumer2: str


@dataclass(frozen=True)
class Thresholds:
    cpu: float
    mem: float
    net_in: float
    disk_io: float


@dataclass(frozen=True)
class Window:
    duration_seconds: int
    slide_seconds: int


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: tuple[str, ...]
    connect_timeout_seconds: float  # how long a client waits for an unreachable broker
    security_protocol: str
    sasl_mechanism: str
    sasl_username: str
    sasl_password_file: Path | None
    ssl_cafile: Path | None
    # {command: (user, password file)}: the commands that log in as another user than sasl_username.
    logins: Mapping[str, tuple[str, Path]] = None


@dataclass(frozen=True)
class ProducerSettings:
    source: str                 # file | live
    mode: str                   # fast | rate | replay
    rate: float                 # rows per second, mode rate
    speedup: float              # replay pace: 10 = ten times faster than the ts
    live_interval_seconds: float
    linger_ms: int
    batch_size: int
    compression: str
    progress_seconds: float


@dataclass(frozen=True)
class ConsumerSettings:
    max_poll_records: int
    poll_timeout_ms: int
    fsync: bool


@dataclass(frozen=True)
class SparkSettings:
    master: str
    shuffle_partitions: int
    driver_memory: str


@dataclass(frozen=True)
class LiveSettings:
    """The live path: the stream jobs (monitoring.jobs.stream_job)."""
    enabled: bool
    checkpoint_dir: Path            # Spark's checkpoints and the live sink's own, under output_dir by default
    connector_dir: Path | None      # the folder of Spark's Kafka connector jars (make spark-kafka-dist)
    allowed_lateness_seconds: int   # the watermark's delay: how late (in event time) a row may still count
    trigger_seconds: float          # one micro-batch every so many seconds
    shuffle_partitions: int         # the stream jobs' state partitions (kept by the checkpoint once started)
    flush_after_seconds: float      # no new data this long: the open windows are closed (trailing windows)


@dataclass(frozen=True)
class Config:
    path: Path
    team_number: str
    output_dir: Path
    data_file: Path
    kafka: KafkaSettings
    topics: Topics
    hosts: Hosts
    thresholds: Thresholds
    window: Window
    producer: ProducerSettings
    consumer: ConsumerSettings
    spark: SparkSettings
    live: LiveSettings

    def for_command(self, command: str) -> "Config":
        """This config as `command` uses it: its own Kafka login (kafka.logins) in place of sasl_username."""
        login = (self.kafka.logins or {}).get(command)
        if login is None:
            return self
        return replace(self, kafka=replace(self.kafka, sasl_username=login[0], sasl_password_file=login[1]))


# --- checks: each takes (key, value) and returns the typed value or raises ConfigError ----------

def _fail(key: str, why: str, value: Any = ...) -> None:
    got = "" if value is ... else f" (got {value!r})"
    raise ConfigError(f"{key}: {why}{got}")


def _number(key, v, minimum=0.0, strict=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(key, "must be a number", v)
    if v != v or v in (float("inf"), float("-inf")):
        _fail(key, "must be a finite number", v)
    if v < minimum or (strict and v == minimum):
        _fail(key, f"must be {'>' if strict else '>='} {minimum:g}", v)
    return float(v)


def _whole(key, v, minimum=1):
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(key, "must be a whole number", v)
    if v < minimum:
        _fail(key, f"must be >= {minimum}", v)
    return v


def _text(key, v, pattern=None, what="text"):
    if not isinstance(v, str) or not v.strip():
        _fail(key, f"must be a non-empty {what}", v)
    if pattern and not re.fullmatch(pattern, v):
        _fail(key, f"must be {what}", v)
    return v


def _choice(key, v, choices):
    if v not in choices:
        _fail(key, f"must be one of {', '.join(choices)}", v)
    return v


def _flag(key, v):
    if not isinstance(v, bool):
        _fail(key, "must be true or false", v)
    return v


_COUNT = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_TOPIC = r"[A-Za-z0-9._-]{1,249}"
_HOSTPORT = r"\[?[A-Za-z0-9_.:-]+\]?:[0-9]{1,5}"   # ASCII digits: Python's \d takes others


def _team(key, v):
    if isinstance(v, bool):
        _fail(key, "must be a number or a string such as \"04\"", v)
    if isinstance(v, int):
        return str(_whole(key, v, 0))
    return _text(key, v, r"[A-Za-z0-9_-]{1,32}", "letters, digits, _ or - (it names the output files)")


def _servers(key, v):
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, list) or not v:
        _fail(key, "must list at least one bootstrap server as host:port", v)
    for i, s in enumerate(v):
        _text(f"{key}[{i}]", s, _HOSTPORT, "host:port")
        port = int(s.rsplit(":", 1)[1])
        if not 1 <= port <= 65535:
            _fail(f"{key}[{i}]", "port must be 1-65535", s)
    return tuple(v)


class _Section:
    """Reads one mapping: typed values out, unknown keys and missing keys named."""

    def __init__(self, data: Any, prefix: str):
        if not isinstance(data, dict):
            _fail(prefix.rstrip(".") or "config", "must be a mapping of keys", data)
        self.data, self.prefix, self.seen = data, prefix, set()

    def get(self, name, check, *args, default=..., **kwargs):
        key = self.prefix + name
        self.seen.add(name)
        if name not in self.data or self.data[name] is None:
            if default is ...:
                _fail(key, "is missing")
            return default
        return check(key, self.data[name], *args, **kwargs)

    def section(self, name, required=True):
        self.seen.add(name)
        if name not in self.data or self.data[name] is None:
            if required:
                _fail(self.prefix + name, "is missing")
            return _Section({}, self.prefix + name + ".")
        return _Section(self.data[name], self.prefix + name + ".")

    def done(self):
        unknown = sorted(str(k) for k in self.data if k not in self.seen)
        if unknown:
            _fail(self.prefix + unknown[0], f"is not a known key (known here: {', '.join(sorted(self.seen))})")


def config_from_mapping(data: Any, path: Path, base: Path | None = None) -> Config:
    """Validate a parsed config.yaml; relative paths are relative to `base`, by default the file's folder."""
    base = path.parent if base is None else base
    root = _Section(data, "")

    def local_path(key, v):
        p = Path(_text(key, v, what="path"))
        return Path(os.path.normpath(p if p.is_absolute() else base / p))

    def optional_path(key, v):
        return local_path(key, v) if v != "" else None

    def _logins(key, v):
        if not isinstance(v, dict):
            _fail(key, "must map commands to {sasl_username, sasl_password_file}", v)
        found = {}
        for command, login in v.items():
            if command not in KAFKA_COMMANDS:
                _fail(f"{key}.{command}", f"is not a command that uses Kafka (one of {', '.join(KAFKA_COMMANDS)})")
            one = _Section(login, f"{key}.{command}.")
            found[command] = (one.get("sasl_username", _text, r"[A-Za-z0-9_.-]+", "a Kafka user name"),
                              one.get("sasl_password_file", local_path))
            one.done()
        return found

    k = root.section("kafka")
    kafka = KafkaSettings(
        bootstrap_servers=k.get("bootstrap_servers", _servers),
        connect_timeout_seconds=k.get("connect_timeout_seconds", _number, 1.0, default=30.0),
        security_protocol=k.get("security_protocol", _choice, ("PLAINTEXT", "SASL_SSL"), default="PLAINTEXT"),
        sasl_mechanism=k.get("sasl_mechanism", _choice, ("SCRAM-SHA-512",), default="SCRAM-SHA-512"),
        sasl_username=k.get("sasl_username", _text, default=""),
        sasl_password_file=k.get("sasl_password_file", optional_path, default=None),
        ssl_cafile=k.get("ssl_cafile", optional_path, default=None),
        logins=k.get("logins", _logins, default={}),
    )
    k.done()
    if kafka.security_protocol == "SASL_SSL" and not (kafka.sasl_username and kafka.sasl_password_file):
        _fail("kafka.sasl_username", "and kafka.sasl_password_file are needed with SASL_SSL")

    t = root.section("topics")
    topics = Topics({k: t.get(k, _text, _TOPIC, "a Kafka topic name") for k in TOPIC_KEYS},
                    t.get(ALERTS_TOPIC_KEY, _text, _TOPIC, "a Kafka topic name", default=ALERTS_TOPIC_DEFAULT))
    t.done()
    names = list(topics.names.values())
    if len(set(names)) != len(names):
        _fail("topics", f"must name {_COUNT.get(len(names), len(names))} different topics", names)
    if topics.alerts in names:
        _fail(f"topics.{ALERTS_TOPIC_KEY}", "must not be one of the data topics", topics.alerts)

    h = root.section("hosts")
    hosts = Hosts(*(h.get(n, _text, what="address") for n in ("producer", "broker", "consumer1", "consumer2")))
    h.done()

    th = root.section("thresholds")
    thresholds = Thresholds(*(th.get(n, _number) for n in ("cpu", "mem", "net_in", "disk_io")))
    th.done()
    for name in ("cpu", "mem"):
        if getattr(thresholds, name) > 100:
            _fail(f"thresholds.{name}", "is a percentage and must be <= 100", getattr(thresholds, name))

    w = root.section("window")
    window = Window(w.get("duration_seconds", _whole), w.get("slide_seconds", _whole))
    w.done()
    if window.slide_seconds > window.duration_seconds:
        _fail("window.slide_seconds", f"must not exceed window.duration_seconds ({window.duration_seconds})",
              window.slide_seconds)

    p = root.section("producer", required=False)
    producer = ProducerSettings(
        source=p.get("source", _choice, ("file", "live"), default="file"),
        mode=p.get("mode", _choice, ("fast", "rate", "replay"), default="fast"),
        rate=p.get("rate", _number, 0.0, True, default=1000.0),
        speedup=p.get("speedup", _number, 0.0, True, default=1.0),
        live_interval_seconds=p.get("live_interval_seconds", _number, 0.0, True, default=5.0),
        linger_ms=p.get("linger_ms", _whole, 0, default=20),
        batch_size=p.get("batch_size", _whole, 1, default=262_144),
        # gzip: the batches' CRC-32C (pure Python in kafka-python) then covers ~4x fewer bytes, on both
        # sides; it made the producer ~20% faster on the sample (bench/results.md). zlib is stdlib.
        compression=p.get("compression", _choice, ("none", "gzip", "lz4", "snappy", "zstd"), default="gzip"),
        progress_seconds=p.get("progress_seconds", _number, 0.0, True, default=10.0),
    )
    p.done()

    c = root.section("consumer", required=False)
    consumer = ConsumerSettings(
        max_poll_records=c.get("max_poll_records", _whole, default=10_000),
        poll_timeout_ms=c.get("poll_timeout_ms", _whole, default=500),
        fsync=c.get("fsync", _flag, default=True),
    )
    c.done()

    s = root.section("spark", required=False)
    spark = SparkSettings(
        master=s.get("master", _text, default="local[*]"),
        shuffle_partitions=s.get("shuffle_partitions", _whole, default=4),
        driver_memory=s.get("driver_memory", _text, r"[0-9]+[kmgKMG]", "a size such as 1g", default="1g"),
    )
    s.done()

    output_dir = root.get("output_dir", local_path)
    lv = root.section("live", required=False)

    def under_output(key, v):
        p = Path(_text(key, v, what="path"))
        return Path(os.path.normpath(p if p.is_absolute() else output_dir / p))

    live = LiveSettings(
        enabled=lv.get("enabled", _flag, default=True),
        checkpoint_dir=lv.get("checkpoint_dir", under_output, default=output_dir / ".live"),
        connector_dir=lv.get("connector_dir", optional_path, default=None),
        allowed_lateness_seconds=lv.get("allowed_lateness_seconds", _whole, 0, default=10),
        trigger_seconds=lv.get("trigger_seconds", _number, 0.1, default=0.5),
        shuffle_partitions=lv.get("shuffle_partitions", _whole, 1, default=1),
        flush_after_seconds=lv.get("flush_after_seconds", _number, 1.0, default=20.0),
    )
    lv.done()
    if live.flush_after_seconds > 50:
        # The trailing windows must appear within a minute of the last row (issue 13): the flush,
        # then a micro-batch or two.
        _fail("live.flush_after_seconds", "must be <= 50 (the last windows appear within a minute)",
              live.flush_after_seconds)
    if live.trigger_seconds > 5:
        _fail("live.trigger_seconds", "must be <= 5 (a closed window is written within seconds)",
              live.trigger_seconds)

    cfg = Config(
        path=path,
        team_number=root.get("team_number", _team),
        output_dir=output_dir,
        data_file=root.get("data_file", local_path),
        kafka=kafka, topics=topics, hosts=hosts, thresholds=thresholds, window=window,
        producer=producer, consumer=consumer, spark=spark, live=live,
    )
    root.done()
    return cfg

