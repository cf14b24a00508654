"""Part 1: the app's producer against Kafka's own Java producer benchmark, same broker, same run.

For each data set (the sample, and a 10x copy made with `main.py generate --servers 200`), each run:
  * ours: `main.py --config C producer` (mode fast) on four fresh 3-partition topics; messages/s and
    rows/s from its own log (from its 'publishing' line to its 'done' line: every message acknowledged,
    acks=all), and the whole process's wall time (interpreter start and imports included);
  * Java: `org.apache.kafka.tools.ProducerPerformance` with as many records as we sent messages and
    --record-size = the mean key+value size of our messages, on a fresh 3-partition topic, twice:
    with Kafka's default producer settings plus acks=all (the issue's command) and with the app's
    settings (idempotence, linger, batch size, compression). Its own records/sec line.
The runs of ours and Java's alternate, so a change in the machine's load hits both alike.
The ratio is ours / the faster of the two Java settings (median over median).
"""
from __future__ import annotations

import json
import re
import time

from bench.common import (AT_APP_DEFAULTS, bench_command, Broker, DATA, ROOT, SAMPLE, app_command, generated, log,
                         mean_message_size, parse_producer_done, run_timed, settings_in_force, summary)
from tests.support.pipeline import write_config

_PERF_RE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency")


def _sizes(path) -> dict:
    cache = DATA / f"{path.stem}.msgsize.json"
    if cache.exists() and cache.stat().st_mtime >= path.stat().st_mtime:
        return json.loads(cache.read_text())
    sizes = mean_message_size(path)
    DATA.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(sizes))
    return sizes


def java_perf(broker: Broker, records: int, record_size: int, props: list[str]) -> dict:
    topic = broker.fresh_prefix("jperf")
    broker.create(topic, keys=None)
    try:
        t0 = time.monotonic()
        res = broker.kafka.run_tool(
            "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", records,
            "--record-size", record_size, "--throughput", -1,
            "--producer-props", f"bootstrap.servers={broker.bootstrap}", *props,
            timeout=600, jvm_opts=("-Xmx512m",))
        wall = time.monotonic() - t0
    finally:
        broker.delete([topic])
    m = None
    for m in _PERF_RE.finditer(res.stdout):
        pass
    if not m:
        raise RuntimeError(f"ProducerPerformance said nothing parseable:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return {"records": int(m.group(1)), "msgs_per_s": float(m.group(2)), "mb_per_s": float(m.group(3)),
            "avg_latency_ms": float(m.group(4)), "process_wall_s": wall}


def ours(broker: Broker, work, data_file) -> dict:
    prefix = broker.fresh_prefix("prod")
    topics = broker.create(prefix)
    config = write_config(work / prefix, broker.bootstrap, prefix, data_file=data_file, **AT_APP_DEFAULTS)
    try:
        wall, res = run_timed(app_command(config, "producer", "--mode", "fast"), timeout=900)
    finally:
        broker.delete(topics)
    done = parse_producer_done(res.stderr)
    return {"msgs_per_s": done["acked"] / done["seconds"], "rows_per_s": done["rows"] / done["seconds"],
            "send_s": done["seconds"], "process_wall_s": wall, "messages": done["acked"], "rows": done["rows"]}


def ceiling(broker: Broker, work, data_file) -> dict:
    """bench/ceiling.py: the library alone (messages built beforehand, no callbacks), the app's options."""
    prefix = broker.fresh_prefix("ceil")
    topics = broker.create(prefix)
    config = write_config(work / prefix, broker.bootstrap, prefix, data_file=data_file, **AT_APP_DEFAULTS)
    try:
        _, res = run_timed(bench_command("ceiling", config), timeout=900)
    finally:
        broker.delete(topics)
    return json.loads(res.stdout.strip().splitlines()[-1])


def java_props(settings: dict) -> dict[str, list[str]]:
    p = settings["producer"]
    return {
        "java_defaults_acks_all": ["acks=all"],
        "java_app_settings": ["acks=all", "enable.idempotence=true", f"linger.ms={p['linger_ms']}",
                              f"batch.size={p['batch_size']}", f"compression.type={p['compression']}",
                              "max.in.flight.requests.per.connection=5"],
    }


def run(broker: Broker, work, runs: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    datasets = {"sample": SAMPLE, "10x": generated(200)}
    settings = settings_in_force(write_config(work / "settings", broker.bootstrap, "settings", **AT_APP_DEFAULTS))
    props = java_props(settings)
    out = {"settings": settings["producer"], "java_props": {k: " ".join(v) for k, v in props.items()},
           "datasets": {}}
    for name, path in datasets.items():
        sizes = _sizes(path)
        record_size = round(sizes["record"])
        log(f"producer: {name} ({sizes['messages']} messages, mean record {sizes['record']:.1f} bytes), {runs} runs")
        got = {"ours": [], "ceiling": [], **{k: [] for k in props}}
        for i in range(runs):
            got["ours"].append(ours(broker, work, path))
            got["ceiling"].append(ceiling(broker, work, path))
            for label, p in props.items():
                got[label].append(java_perf(broker, sizes["messages"], record_size, p))
            log(f"  run {i + 1}: ours {got['ours'][-1]['msgs_per_s']:.0f} msg/s; "
                f"kafka-python alone {got['ceiling'][-1]['msgs_per_s']:.0f}; java "
                + ", ".join(f"{k} {got[k][-1]['msgs_per_s']:.0f}" for k in props))
        java_best = max(props, key=lambda k: summary([r["msgs_per_s"] for r in got[k]])["median"])
        ours_med = summary([r["msgs_per_s"] for r in got["ours"]])["median"]
        java_med = summary([r["msgs_per_s"] for r in got[java_best]])["median"]
        out["datasets"][name] = {
            "data_file": str(path.relative_to(ROOT)),
            "rows": got["ours"][0]["rows"], "messages": sizes["messages"],
            "mean_key_bytes": round(sizes["key"], 2), "mean_value_bytes": round(sizes["value"], 2),
            "java_record_size": record_size,
            "ours": {
                "msgs_per_s": summary([r["msgs_per_s"] for r in got["ours"]], 0),
                "rows_per_s": summary([r["rows_per_s"] for r in got["ours"]], 0),
                "send_s": summary([r["send_s"] for r in got["ours"]]),
                "process_wall_s": summary([r["process_wall_s"] for r in got["ours"]]),
            },
            "kafka_python_ceiling": {"msgs_per_s": summary([r["msgs_per_s"] for r in got["ceiling"]], 0)},
            "ceiling_ratio": round(summary([r["msgs_per_s"] for r in got["ceiling"]])["median"] / java_med, 4),
            **{label: {"msgs_per_s": summary([r["msgs_per_s"] for r in got[label]], 0),
                       "mb_per_s": summary([r["mb_per_s"] for r in got[label]], 2),
                       "process_wall_s": summary([r["process_wall_s"] for r in got[label]])}
               for label in props},
            "java_reference": java_best,
            "ratio": round(ours_med / java_med, 4),
            "ratio_per_run": summary([o["msgs_per_s"] / j["msgs_per_s"]
                                      for o, j in zip(got["ours"], got[java_best])], 4),
            "target_ratio": 0.25,
            "met": ours_med / java_med >= 0.25,
        }
    # Where the time goes: one more run of the sample under cProfile (not counted above).
    prefix = broker.fresh_prefix("prof")
    topics = broker.create(prefix)
    config = write_config(work / prefix, broker.bootstrap, prefix, data_file=SAMPLE, **AT_APP_DEFAULTS)
    try:
        run_timed(bench_command("profile_producer", config, "--out", ROOT / "bench" / "producer_profile.txt"),
                  timeout=600)
        out["profile"] = "bench/producer_profile.txt"
    except RuntimeError as exc:
        log(f"producer profile failed: {exc}")
    finally:
        broker.delete(topics)
    return out
