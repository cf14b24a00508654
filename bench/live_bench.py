"""Part live: the stream jobs' alert latency, the highest replay rate they keep up with, and their memory.

Each run starts both stream jobs (`main.py stream-job1`, `stream-job2`, the app's defaults: a
micro-batch a second, 10 s of allowed lateness) on fresh topics of the bench's broker, waits until
both sessions wait for data, then sends a data file with bench/sendloop.py (the app's send loop and
messages, plus a clock). Meanwhile the bench follows both live CSVs (complete lines, every POLL_S)
and the alerts topic, and stamps each window row and each alert when it first sees it.

Latency of a window: from the send() of the first row whose event time is at or past the window's
end plus the allowed lateness (the row that closes the window: the stream job closes a window in
the micro-batch whose rows take the latest event time the lateness past its end) to
that window's row in the live CSV and, for a window with an alert, to its alert on the topic; the
later of the two. Windows closed only by the idle flush after the data (no row closes them) are left
out. Every process reads CLOCK_MONOTONIC; the polling adds up to POLL_S.

- real pace: the first REAL_PACE_ROWS rows of the sample in mode replay (its own 5 s steps);
- at 1000 rows/s: the whole sample, `runs` times;
- the highest rate: rates of RATE_STEPS rows/s, each for about RATE_SECONDS of sending, on a 20-server
  series at 1 s steps; a rate is kept up with when the sender reached 95% of it and the p99 latency
  of its windows stayed within KEPT_UP_P99_S (a job that falls behind adds its backlog to every
  later window);
- catch-up: the highest rate the jobs themselves reach, without the sender on the same cores: a
  series of CATCH_UP_ROWS rows is in the topics before both jobs start, and the rate is its rows over
  the seconds from both jobs waiting for data to the last window the data closes (an upper bound of
  the rate they keep up with when the producer runs on its own host, as the lab deploys it);
- memory: the resident size of each stream job's process tree (its Python driver and its JVM),
  read every second while a series of MEMORY_HOURS hours of event time is replayed, at 10 min, 60 min
  and the end of its event time (state kept longer than the watermark would make it grow).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import (DATA, ROOT, SAMPLE, Broker, Service, _proc_table, app_command, bench_command, head_of, log,
                          percentile, run_timed, summary)
from monitoring.jobs.stream_anchor import READY_LOG as READY
from tests.support.pipeline import connector_dir, write_config

POLL_S = 0.02
START_TIMEOUT = 240
REAL_PACE_ROWS = 720                           # 36 timestamps of 20 servers: 180 s at the sample's pace
RATE_STEPS = (1000, 1500, 2000, 2500, 5000, 10000, 20000)
RATE_SECONDS = 20
KEPT_UP_P99_S = 5.0
SETTLE_S = 3.0                                  # no new closed window this long after the data: all in
DRAIN_TIMEOUT = 180
LATENCY_TARGET_P99_S = 2.0
RATE_TARGET = 10_000
MEMORY_HOURS = 3
HELD = re.compile(r"; (\d+) rows held in state")   # the stream job's line of each micro-batch that closes windows
CATCH_UP_ROWS = 120_000


def series_1s(servers: int, hours: float) -> Path:
    """A generated dated series at 1 s steps (kept: the generator is deterministic)."""
    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / f"generated_{servers}servers_{hours:g}h_1s.csv"
    done = out.with_suffix(".done")
    if not done.exists():
        log(f"generating {out.name}")
        run_timed(app_command(None, "generate", "--out", str(out), "--servers", str(servers), "--hours", str(hours),
                              "--interval", "1", "--start", "2026-01-05 10:00:00"), timeout=1800)
        done.write_text("ok\n")
    return out


def event_seconds(text: str) -> int:
    """A window time of the live CSV as event time: dated stamps are UTC epoch seconds; a time-only
    one is its second of day 0 (the bench's time-only series stay within one day)."""
    if len(text) > 8:
        return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


class Follower:
    """The live CSVs' new complete lines and the alerts topic's records, each stamped when first seen."""

    def __init__(self, csvs: dict[str, Path], bootstrap: str, alerts_topic: str):
        self.csvs, self.pos = csvs, {job: 0 for job in csvs}
        self.rows = {}        # (stream job, server_id, window_start) -> (seen, window_end, alert)
        self.alerts = {}      # (stream job, server_id, window_start) -> seen
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._csvs, daemon=True),
                        threading.Thread(target=self._alerts, args=(bootstrap, alerts_topic), daemon=True)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _csvs(self) -> None:
        while not self.stop.is_set():
            now = time.monotonic()
            for job, path in self.csvs.items():
                try:
                    with open(path, "rb") as f:
                        f.seek(self.pos[job])
                        chunk = f.read()
                except FileNotFoundError:
                    continue
                end = chunk.rfind(b"\n")
                if end < 0:
                    continue
                self.pos[job] += end + 1
                for line in chunk[:end].decode().splitlines():
                    fields = line.split(",")
                    if fields[0] == "server_id":
                        continue
                    self.rows.setdefault((job, fields[0], fields[1]), (now, fields[2], fields[-1]))
            self.stop.wait(POLL_S)

    def _alerts(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from monitoring.core.alert_messages import decode

        # A viewer (no group), as the dashboard reads the topic: its one partition from the start.
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        part = TopicPartition(topic, 0)
        consumer.assign([part])
        consumer.seek_to_beginning(part)
        try:
            while not self.stop.is_set():
                for batch in consumer.poll(timeout_ms=int(POLL_S * 1000)).values():
                    now = time.monotonic()
                    for rec in batch:
                        doc = decode(rec.value)
                        self.alerts.setdefault((doc["job"], doc["server_id"], doc["window_start"]), now)
        finally:
            consumer.close()


def tree_rss_mib(pid: int) -> float:
    table = _proc_table()
    tree, grew = {pid}, True
    while grew:
        more = {p for p, (ppid, *_rest) in table.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(table[p][2] for p in tree if p in table) / 2**20


def sample_memory(jobs: dict, rss: dict, held: dict) -> None:
    """Each job's resident MiB now, and the rows its last micro-batch line says Spark's state held."""
    for job, j in jobs.items():
        rss[job].append((time.monotonic(), tree_rss_mib(j.proc.pid)))
        state = HELD.findall(j.text())
        if state:
            held[job].append((time.monotonic(), int(state[-1])))


def wait_drained(follow: Follower, name: str, last_et: int, lateness: int, slide: int) -> bool:
    """Until the windows the data closes (end + lateness within its reach) are all in: the latest such
    end has come, no new row for SETTLE_S, and every alert of those rows is on the topic. False when
    they are still missing after DRAIN_TIMEOUT (fallen behind)."""
    wait_until, count, steady = time.monotonic() + DRAIN_TIMEOUT, -1, time.monotonic()
    while True:
        # A copy first: the follower's thread adds rows meanwhile (thousands at once after a big batch).
        closed = {k: v for k, v in dict(follow.rows).items() if event_seconds(v[1]) + lateness <= last_et}
        reach = max((event_seconds(v[1]) for v in closed.values()), default=0)
        if len(closed) != count:
            count, steady = len(closed), time.monotonic()
        alerts_in = all(k in follow.alerts for k, v in closed.items() if v[2])
        if reach + lateness > last_et - slide and alerts_in and time.monotonic() - steady >= SETTLE_S:
            return True
        if time.monotonic() > wait_until:
            log(f"  {name}: windows closed by the data still missing after {DRAIN_TIMEOUT} s "
                f"(latest end {reach}, data to {last_et})")
            return False
        time.sleep(0.2)


def wait_ready(jobs: dict) -> float:
    """Until both stream jobs' sessions wait for data; the monotonic time the first of them did
    (seen within 0.2 s: with data already there, that one starts its work before the other is up)."""
    deadline, seen = time.monotonic() + START_TIMEOUT, {}
    while len(seen) < len(jobs):
        for name, j in jobs.items():
            if name not in seen and READY in j.text():
                seen[name] = time.monotonic()
            if j.proc.poll() is not None:
                raise RuntimeError(f"{j.role} exited {j.proc.returncode}:\n{j.text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stream jobs' sessions not up after {START_TIMEOUT} s")
        time.sleep(0.2)
    return min(seen.values())


def _prepare(broker: Broker, work: Path, name: str, data: Path):
    """Fresh topics, an empty folder and a config for one run; the live CSVs it will write."""
    from monitoring.config_file import load_config
    from monitoring.wiring import STREAM_JOBS

    prefix = broker.fresh_prefix("live")
    topics = broker.create(prefix)
    alerts_topic = broker.create(f"{prefix}-alerts", keys=None, partitions=1)[0]
    folder = work / name
    # A folder of an earlier bench holds its live CSVs and checkpoints: read as this run's, its rows
    # came "before" their data (negative latencies). Each run starts from nothing.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = write_config(folder, broker.bootstrap, prefix, data_file=data, producer=None, consumer=None, spark=None,
                          topics={"alerts": alerts_topic}, live={"connector_dir": str(connector_dir())})
    cfg = load_config(config)
    csvs = {job: folder / "output" / spec.live_csv for job, spec in STREAM_JOBS.items()}
    return topics, alerts_topic, folder, config, cfg, csvs


def catch_up_run(broker: Broker, work: Path, data: Path) -> dict:
    """Both jobs started on topics that already hold `data`: its rows over the seconds from both
    waiting for data to the last window the data closes."""
    topics, alerts_topic, folder, config, cfg, csvs = _prepare(broker, work, "catch-up", data)
    stamps_file = folder / "stamps.json"
    run_timed(bench_command("sendloop", config, "--mode", "rate", "--rate", "1000000", "--stamps", str(stamps_file)),
              timeout=1800)
    doc = json.loads(stamps_file.read_text())
    rows_sent, last_et = len(doc["rows"]), max(et for et, _ in doc["rows"])
    jobs = {job: Service(config, job, folder).start() for job in csvs}
    try:
        with Follower(csvs, broker.bootstrap, alerts_topic) as follow:
            ready = wait_ready(jobs)
            complete = wait_drained(follow, "catch-up", last_et, cfg.live.allowed_lateness_seconds,
                                    cfg.window.slide_seconds)
            lateness = cfg.live.allowed_lateness_seconds
            last_seen = max((seen for seen, end, _ in dict(follow.rows).values()
                             if event_seconds(end) + lateness <= last_et), default=ready)
    finally:
        for j in jobs.values():
            j.stop(60)
        broker.delete([*topics, alerts_topic])
    seconds = last_seen - ready
    return {"rows": rows_sent, "complete": complete, "seconds": round(seconds, 2),
            "rows_per_s": round(rows_sent / seconds) if complete else 0}


def one_run(broker: Broker, work: Path, name: str, data: Path, send_args: list[str], memory: bool = False,
            timeout: float = 900) -> dict:
    topics, alerts_topic, folder, config, cfg, csvs = _prepare(broker, work, name, data)
    lateness, duration, slide = cfg.live.allowed_lateness_seconds, cfg.window.duration_seconds, cfg.window.slide_seconds
    jobs = {job: Service(config, job, folder).start() for job in csvs}
    rss, stamps_file = {job: [] for job in jobs}, folder / "stamps.json"
    held = {job: [] for job in jobs}
    try:
        wait_ready(jobs)
        with Follower(csvs, broker.bootstrap, alerts_topic) as follow:
            sender = subprocess.Popen(bench_command("sendloop", config, *send_args, "--stamps", stamps_file),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                      text=True, cwd=ROOT)
            t0 = time.monotonic()
            while sender.poll() is None:
                if memory:
                    sample_memory(jobs, rss, held)
                time.sleep(1.0 if memory else 0.2)
                if time.monotonic() - t0 > timeout:
                    sender.kill()
                    raise RuntimeError(f"{name}: the sender did not finish in {timeout:g} s")
            if sender.returncode != 0:
                raise RuntimeError(f"sendloop exited {sender.returncode}: {sender.stderr.read()[-2000:]}")
            doc = json.loads(stamps_file.read_text())
            sent = doc["rows"]
            last_et = max(et for et, _ in sent)
            complete = wait_drained(follow, name, last_et, lateness, slide)
            if memory:
                sample_memory(jobs, rss, held)
            rows, alerts = dict(follow.rows), dict(follow.alerts)
    finally:
        for j in jobs.values():
            j.stop(60)
        broker.delete([*topics, alerts_topic])
    result = latencies(sent, rows, alerts, lateness, last_et, complete)
    result.update(complete=complete, rows_sent=len(sent), send_s=round(doc["elapsed"], 2),
                  send_rate=round(len(sent) / max(doc["elapsed"], 1e-9)), lateness_s=lateness, window_s=duration)
    if memory:
        result["rss_mib"] = rss_at(rss, sent)
        result["state_rows"] = rss_at({job: v for job, v in held.items() if v}, sent)
    return result


def latencies(sent: list, rows: dict, alerts: dict, lateness: int, last_et: int, complete: bool = True) -> dict:
    """Per window closed by the data: seconds from its closing row's send() to its row (and alert)."""
    import bisect

    # The first send at or past each event time: sends are in file order, event times non-decreasing.
    firsts, best = [], None
    for et, t in sorted(sent, key=lambda r: (r[0], r[1])):
        if not firsts or firsts[-1][0] != et:
            firsts.append((et, t))
    first_ets = [et for et, _ in firsts]
    # A later event time may have been sent earlier (a late row): the earliest send at or past.
    suffix_min = [0.0] * len(firsts)
    for i in range(len(firsts) - 1, -1, -1):
        best = firsts[i][1] if best is None else min(best, firsts[i][1])
        suffix_min[i] = best
    row_lat, alert_lat, both = [], [], []
    for key, (seen, end, alert) in rows.items():
        close_at = event_seconds(end) + lateness
        if close_at > last_et:
            continue          # closed by the idle flush, not by a row
        i = bisect.bisect_left(first_ets, close_at)
        sent_at = suffix_min[i]
        lat = seen - sent_at
        row_lat.append(lat)
        worst = lat
        if alert:
            if key not in alerts:
                if complete:
                    raise RuntimeError(f"the alert of {key} never came on the alerts topic")
                continue
            a = alerts[key] - sent_at
            alert_lat.append(a)
            worst = max(worst, a)
        both.append(worst)
    if not both:
        raise RuntimeError("no window was closed by the data")

    def dist(values):
        v = sorted(values)
        return {"p50": round(percentile(v, 50), 3), "p99": round(percentile(v, 99), 3), "max": round(v[-1], 3),
                "n": len(v)} if v else {"n": 0}

    return {"window_and_alert_s": dist(both), "window_row_s": dist(row_lat), "alert_s": dist(alert_lat),
            "window_ends": len({rows[k][1] for k in rows if event_seconds(rows[k][1]) + lateness <= last_et})}


def rss_at(rss: dict, sent: list) -> dict:
    """Each job's samples (resident MiB, or rows held in state) when the replay had sent 10 min,
    60 min and all of its event time, and their peak."""
    first_et = sent[0][0]
    out = {}
    for job, samples in rss.items():
        points = {}
        for label, span in (("10min", 600), ("60min", 3600), ("end", None)):
            if span is None:
                points[label] = round(samples[-1][1], 1)
                continue
            at = next((t for et, t in sent if et - first_et >= span), None)
            if at is None:
                continue
            points[label] = round(next((m for t, m in samples if t >= at), samples[-1][1]), 1)
        points["peak"] = round(max(m for _, m in samples), 1)
        out[job] = points
    return out


def run(broker: Broker, work: Path, runs: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    result = {}
    log("live: real pace, the sample's first rows in mode replay")
    real = one_run(broker, work, "real-pace", head_of(SAMPLE, REAL_PACE_ROWS), ["--mode", "replay", "--speedup", "1"])
    log(f"  window+alert p50 {real['window_and_alert_s']['p50']:.2f} s p99 {real['window_and_alert_s']['p99']:.2f} s "
        f"max {real['window_and_alert_s']['max']:.2f} s over {real['window_ends']} window ends")
    result["real_pace"] = real
    paced = []
    for i in range(runs):
        paced.append(one_run(broker, work, f"rate1000-{i}", SAMPLE, ["--mode", "rate", "--rate", "1000"]))
        d = paced[-1]["window_and_alert_s"]
        log(f"  1000 rows/s run {i + 1}: p50 {d['p50']:.2f} s p99 {d['p99']:.2f} s max {d['max']:.2f} s")
    result["rate_1000"] = {"runs": paced, **{p: summary([r["window_and_alert_s"][p] for r in paced])
                                             for p in ("p50", "p99", "max")}}
    series = series_1s(20, MEMORY_HOURS)
    steps = []
    for rate in RATE_STEPS:
        data = head_of(series, rate * RATE_SECONDS)
        r = one_run(broker, work, f"rate{rate}", data, ["--mode", "rate", "--rate", str(rate)])
        r["rate"] = rate
        r["kept_up"] = (r["complete"] and r["send_rate"] >= 0.95 * rate
                        and r["window_and_alert_s"]["p99"] <= KEPT_UP_P99_S)
        steps.append(r)
        log(f"  {rate} rows/s: sent at {r['send_rate']} rows/s, p99 {r['window_and_alert_s']['p99']:.2f} s, "
            f"{'kept up' if r['kept_up'] else 'fell behind'}")
        if not r["kept_up"]:
            break       # a higher rate only falls further behind
    kept = [s["rate"] for s in steps if s["kept_up"]]
    log(f"live: catch-up, both jobs started on {CATCH_UP_ROWS:,} rows already in the topics")
    catch_up = catch_up_run(broker, work, head_of(series, CATCH_UP_ROWS))
    log(f"  {catch_up['rows']:,} rows in {catch_up['seconds']:.1f} s: {catch_up['rows_per_s']:,} rows/s")
    result["rates"] = {"steps": steps, "highest_kept_up": max(kept) if kept else 0, "target": RATE_TARGET,
                       "met": bool(kept) and max(kept) >= RATE_TARGET, "kept_up_p99_s": KEPT_UP_P99_S,
                       "catch_up": catch_up}
    log(f"live: memory over {MEMORY_HOURS} h of event time at 2000 rows/s")
    mem = one_run(broker, work, "memory", series, ["--mode", "rate", "--rate", "2000"], memory=True, timeout=1800)
    result["memory"] = mem
    log(f"  rss MiB: {mem['rss_mib']}")
    result["latency_target_p99_s"] = LATENCY_TARGET_P99_S
    result["latency_met"] = (real["window_and_alert_s"]["p99"] <= LATENCY_TARGET_P99_S
                             and result["rate_1000"]["p99"]["median"] <= LATENCY_TARGET_P99_S)
    return result
