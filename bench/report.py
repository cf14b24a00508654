#!/usr/bin/env python3
"""bench/results.json -> bench/results.md (the tables) and bench/spark_scaling.png.

    .venv/bin/python -m bench.report      re-renders both from the last results.json

bench/tuning.json (what was tuned, with before/after numbers) and bench/analysis.md (why a target
is or is not met) are written by hand and included as they are.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS_MD = BENCH / "results.md"
CHART = BENCH / "spark_scaling.png"


def _n(x, digits=0):
    if x is None:
        return "–"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def stat(s: dict | None, digits=0, unit="") -> str:
    """median [min–max] (IQR q1–q3)"""
    if not s or s.get("median") is None:
        return "–"
    text = f"**{_n(s['median'], digits)}**{unit} [{_n(s['min'], digits)}–{_n(s['max'], digits)}]"
    return text


def yes(flag) -> str:
    return "met" if flag else "**not met**"


# The sample jobs' wall-time ratios when the windows were still assigned on the driver: the jobs
# must be no slower than that (bench/analysis.md, Spark).
SAMPLE_VS_FLOOR_BEFORE = 2.06
SAMPLE_VS_CHEAPEST_BEFORE = 1.32


def targets_table(parts: dict) -> list[str]:
    rows = ["| target | measured (median) | |", "| --- | --- | --- |"]
    p = parts.get("producer", {}).get("datasets", {})
    for name, d in p.items():
        rows.append(f"| producer ≥ 25% of Java's msgs/s ({name}: {d['messages']:,} messages) | "
                    f"{100 * d['ratio']:.1f}% ({_n(d['ours']['msgs_per_s']['median'])} vs "
                    f"{_n(d[d['java_reference']]['msgs_per_s']['median'])} msgs/s) | {yes(d['met'])} |")
    i = parts.get("ingest", {}).get("throughput")
    if i:
        rows.append(f"| sample fully in the four CSVs ≤ 10 s after the producer starts | "
                    f"{i['committed_s']['median']:.2f} s committed ({i['visible_s']['median']:.2f} s visible) | "
                    f"{yes(i['met'])} |")
    s = parts.get("spark", {}).get("targets", {})
    jobs = parts.get("spark", {}).get("jobs", [])

    def cpu(job, which):
        mine = [r for r in jobs if r["job"] == job and r.get("cpu_s")]
        if not mine:
            return ""
        small, large = mine[0], mine[-1]
        if which == "floor":
            return f" (CPU seconds: {small['cpu_ratio_to_floor']:.2f}×)"
        return f" (CPU seconds: {large['cpu_s']['median'] / small['cpu_s']['median']:.2f}×)"

    for job, t in s.items():
        rows.append(f"| {job}: 28,800 rows ≤ 1.5× the floor | {t['small_vs_floor']:.2f}× wall{cpu(job, 'floor')} | "
                    f"{yes(t['small_vs_floor_met'])} |")
    cheapest = {c["what"]: c for c in parts.get("spark", {}).get("cheapest_jobs", [])}
    if "csv-aggregate" in cheapest:
        rows.append(f"| (for scale) the cheapest job that reads a CSV and writes one, same session and input | "
                    f"{cheapest['csv-aggregate']['ratio_to_floor']:.2f}× the floor | – |")
    # The sample job must stay no slower than when Spark took over the windows (its ratios then).
    for job, t in s.items():
        rows.append(f"| {job}: 28,800 rows no slower than before Spark assigned the windows: "
                    f"≤ {SAMPLE_VS_FLOOR_BEFORE}× the floor | {t['small_vs_floor']:.2f}× wall | "
                    f"{yes(t['small_vs_floor'] <= SAMPLE_VS_FLOOR_BEFORE)} |")
        small = next((r for r in jobs if r["job"] == job), None)
        if small and "csv-aggregate" in cheapest:
            ratio = small["wall_s"]["median"] / cheapest["csv-aggregate"]["wall_s"]["median"]
            rows.append(f"| {job}: 28,800 rows ≤ {SAMPLE_VS_CHEAPEST_BEFORE}× the cheapest job that reads a CSV, "
                        f"averages and writes one | {ratio:.2f}× wall | {yes(ratio <= SAMPLE_VS_CHEAPEST_BEFORE)} |")
    for job, t in s.items():
        rows.append(f"| {job}: 2,880,000 rows ≤ 4× its 28,800-row time | {t['large_vs_small']:.2f}× wall"
                    f"{cpu(job, 'large')} | {yes(t['large_vs_small_met'])} |")
    rows += series_targets(parts)
    rows += live_targets(parts.get("live"))
    lab = parts.get("lab", {})
    if lab.get("nochange"):
        n = lab["nochange"]
        rows.append(f"| no-change site.yml ≤ 60 s | {n['seconds']['median']:.1f} s, changed={n['changed']} | "
                    f"{yes(n['met'])} |")
    elif lab:
        rows.append(f"| no-change site.yml ≤ 60 s | not measured: {lab.get('skipped') or lab.get('error', '?')} | – |")
    return rows


def _series_wall(parts: dict, series: str, job: str):
    for r in parts.get("spark-series", {}).get("jobs", []):
        if r["series"] == series and r["job"] == job:
            return r
    return None


def series_targets(parts: dict) -> list[str]:
    rows = []
    spark_big = {r["job"]: r for r in parts.get("spark", {}).get("jobs", []) if r["input_rows"] == 2_880_000}
    for job in ("spark-job1", "spark-job2"):
        r288, sample, days = (_series_wall(parts, name, job) for name in ("28.8 M", "sample", "3 days"))
        # The 2.88 M time of the same runs when there is one; else part spark's, measured at another time.
        big, where = _series_wall(parts, "2.88 M", job), ""
        if big is None and job in spark_big:
            big, where = spark_big[job], ", against part spark's 2.88 M time of another day and load"
        if r288 and big:
            ratio = r288["wall_s"]["median"] / big["wall_s"]["median"]
            rows.append(f"| {job}: 28,800,000 rows ≤ 10× its 2,880,000-row time, at driver_memory 1g | {ratio:.2f}× "
                        f"({r288['wall_s']['median']:.0f} s; driver peak {r288['driver_peak_mib']['median']:.0f} MiB"
                        f"{where}) | {yes(ratio <= 10)} |")
        if days and sample:
            ratio = days["wall_s"]["median"] / sample["wall_s"]["median"]
            rows.append(f"| {job}: 3 days at 1 s (518,400 rows) ≤ 3× the sample's time, at driver_memory 1g | "
                        f"{ratio:.2f}× ({days['wall_s']['median']:.1f} s; driver peak "
                        f"{days['driver_peak_mib']['median']:.0f} MiB) | {yes(ratio <= 3)} |")
    return rows


def series_section(s: dict, runs: int) -> list[str]:
    out = ["## Spark by distinct timestamps (`bench/spark_series_bench.py`)", "",
           "`monitoring --config X spark-jobN` at the app's defaults (driver_memory 1g), on the consumers' files "
           "as the consumers write them (CSVs and their events/ copies). Peak memory: resident size, polled every "
           "0.05 s, of the driver's JVM and of the job's whole process tree. Checks: "
           + "; ".join(f"{k}: {v}" for k, v in s.get("checks", {}).items()) + ".", "",
           "| series | job | input rows | distinct timestamps | wall s | CPU s | driver peak MiB | tree peak MiB |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in s.get("jobs", []):
        out.append(f"| {r['series']} | {r['job']} | {r['input_rows']:,} | {r['timestamps']:,} | {stat(r['wall_s'], 1)} | "
                   f"{stat(r['cpu_s'], 1)} | {stat(r['driver_peak_mib'])} | {stat(r['tree_peak_mib'])} |")
    out += ["", f"Median [min–max] of {runs} runs."]
    return out


def producer_section(p: dict, runs: int) -> list[str]:
    s = p["settings"]
    out = ["## 1. Producer throughput", "",
           f"The app's producer (`main.py producer --mode fast`) on four fresh topics of 3 partitions, beside "
           f"Kafka's `ProducerPerformance` sending as many records of the mean key+value size to a fresh "
           f"3-partition topic of the same broker, runs alternating. Producer settings in force: "
           f"acks=all, idempotence on, linger_ms={s['linger_ms']}, batch_size={s['batch_size']}, "
           f"compression={s['compression']}, max in flight 5. Java settings: "
           + "; ".join(f"`{k}`: `{v}`" for k, v in p["java_props"].items()) + ". "
           "The ratio divides our median by the faster Java setting's median. *kafka-python alone* is "
           "`bench/ceiling.py`: the same KafkaProducer options sending messages built beforehand (no CSV, "
           "no JSON, no callbacks): the most this library does here.", "",
           "| data | messages (mean key+value B) | ours msgs/s | ours rows/s | ours process wall s | "
           "kafka-python alone msgs/s | Java, defaults + acks=all | Java, the app's settings | ours / Java |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, d in p["datasets"].items():
        out.append(
            f"| {name} (`{d['data_file']}`, {d['rows']:,} rows) | {d['messages']:,} ({d['java_record_size']}) | "
            f"{stat(d['ours']['msgs_per_s'])} | {stat(d['ours']['rows_per_s'])} | "
            f"{stat(d['ours']['process_wall_s'], 2)} | {stat(d['kafka_python_ceiling']['msgs_per_s'])} "
            f"({100 * d['ceiling_ratio']:.0f}% of Java) | "
            f"{stat(d['java_defaults_acks_all']['msgs_per_s'])} | {stat(d['java_app_settings']['msgs_per_s'])} | "
            f"**{100 * d['ratio']:.1f}%** [{100 * d['ratio_per_run']['min']:.1f}–"
            f"{100 * d['ratio_per_run']['max']:.1f}] |")
    out += ["", f"Each cell: **median** [min–max] of {runs} runs. Ours msgs/s counts acknowledged messages from "
            "the producer's 'publishing' log line to its 'done' line (flush and close included); the process "
            "wall time adds interpreter start, imports and connecting."]
    prof = BENCH / "producer_profile.json"
    if prof.exists():
        shares = json.loads(prof.read_text())["shares"]
        out += ["", "Where the producer's time goes (`bench/profile_producer.py`: cProfile of both threads on "
                "the sample; the full listing is in `bench/producer_profile.txt`):", ""]
        for thread, groups in shares.items():
            top = ", ".join(f"{g} {100 * v:.0f}%" for g, v in list(groups.items())[:7])
            out.append(f"- {thread}: {top}")
    return out


def ingest_section(i: dict, runs: int) -> list[str]:
    t, d = i["throughput"], i["delay"]
    pc, cc = i["settings"]["producer"], i["settings"]["consumer"]
    out = ["## 2. Ingest end to end", "",
           f"Settings: producer linger_ms={pc['linger_ms']}, batch_size={pc['batch_size']}, "
           f"compression={pc['compression']}; consumers max_poll_records={cc['max_poll_records']}, "
           f"poll_timeout_ms={cc['poll_timeout_ms']}, fsync={cc['fsync']} (one fsync of the CSVs and one of the "
           "checkpoint per polled batch).", "",
           "| | median [min–max] |", "| --- | --- |",
           f"| all {i['rows']:,} rows ({i['messages']:,} messages) visible in the four CSVs, s after the producer "
           f"process starts | {stat(t['visible_s'], 2)} |",
           f"| ... and recorded by both checkpoints (fsynced) | {stat(t['committed_s'], 2)} |",
           f"| ingest rate, rows/s (to committed) | {stat(t['rows_per_s'])} |",
           f"| the producer process exits, s | {stat(t['producer_exit_s'], 2)} |", "",
           f"Paced: `bench/sendloop.py` (the app's send loop with a clock) in mode rate at "
           f"{d['rate_rows_per_s']:g} rows/s ({4 * d['rate_rows_per_s']:g} messages/s), the first "
           f"{d['rows']:,} rows of the sample; delay per message, from its send() call to its row:", "",
           "| delay, ms | p50 | p99 | max |", "| --- | --- | --- | --- |",
           f"| row visible in its CSV | {stat(d['visible_p50_ms'], 1)} | {stat(d['visible_p99_ms'], 1)} | "
           f"{stat(d['visible_max_ms'], 1)} |",
           f"| row covered by a checkpoint (durable) | {stat(d['committed_p50_ms'], 1)} | "
           f"{stat(d['committed_p99_ms'], 1)} | {stat(d['committed_max_ms'], 1)} |", "",
           f"Each: median [min–max] of {runs} runs' percentiles. **Method.** Throughput: the four CSVs' final "
           "sizes are known beforehand (header plus one line per row; the same bytes whatever the order), so "
           f"the bench only stat()s them and the two checkpoints every {1000 * t['poll_s']:g} ms; afterwards "
           "each CSV is checked to hold every row exactly once. Delay: the sending process stamps each message "
           "with CLOCK_MONOTONIC just before `send()`; the bench process tails the four CSVs (new bytes, complete "
           "lines) and re-reads a checkpoint whenever it changes, stamping each row when first seen, on the "
           "same clock. **Resolution**: the polling period, measured at "
           f"{d['poll_period_ms']['median']:.1f} ms mean (max {d['poll_period_max_ms']['max']:.0f} ms, the "
           "bench process being descheduled on a busy machine); a row is seen up to one period late, half a "
           "period on average. The messages carry no timing fields."]
    return out


def spark_section(s: dict, runs: int) -> list[str]:
    st = s["settings"]
    f = s["floor_s"]
    out = ["## 3. Spark jobs", "",
           f"`main.py --config X spark-jobN`, whole-process wall time, beside the floor (`bench/spark_floor.py`: "
           f"the job's own `_session()` started and stopped; same options, same launcher). Spark settings: "
           f"master={st['master']}, spark.sql.shuffle.partitions={st['shuffle_partitions']}, "
           f"driver memory={st['driver_memory']}" + (f", {s['session_options']}" if s.get("session_options") else "")
           + ". Inputs: consumer CSVs written directly from `main.py generate --servers N` (2 h at 5 s).", "",
           f"Floor: {stat(f, 2)} s wall, {stat(s.get('floor_cpu_s'), 2)} CPU s.", "",
           "| job | input rows | output rows | wall s | × floor | × its 28,800-row time | CPU s | CPU × floor's | "
           "job's own log s |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in s["jobs"]:
        out.append(f"| {r['job']} | {r['input_rows']:,} | {_n(r['output_rows'])} | {stat(r['wall_s'], 2)} | "
                   f"{r['ratio_to_floor']:.2f} | {r['ratio_to_smallest']:.2f} | {stat(r.get('cpu_s'), 1)} | "
                   f"{r.get('cpu_ratio_to_floor', 0):.2f} | {stat(r['job_log_s'], 1)} |")
    if s.get("cheapest_jobs"):
        out += ["", "The cheapest Spark SQL jobs, on the same session and the same 28,800-row input "
                "(`bench/spark_floor.py WHAT`): what a first action costs in a new JVM, whatever the plan.", "",
                "| job | wall s | × floor |", "| --- | --- | --- |"]
        described = {"range-count": "`spark.range(10).count()`",
                     "csv-count": "read one input CSV (with its schema), count",
                     "csv-aggregate": "read one input CSV, average per server, write one CSV"}
        for c in s["cheapest_jobs"]:
            out.append(f"| {described.get(c['what'], c['what'])} | {stat(c['wall_s'], 2)} | {c['ratio_to_floor']:.2f} |")
    ph = s.get("phases_job1_smallest")
    if ph:
        out += ["", "Where spark-job1's time goes on 28,800 rows (the job's own `phases:` log line, median of the runs, s): "
                + "; ".join(f"{k} **{v:.2f}**" for k, v in ph.items()) + "."]
    out += ["", f"Median [min–max] of {runs} runs (each run: floor, the cheapest jobs, then both jobs on each size). The 28,800-row "
            "outputs were checked equal to `tests/support/reference.py` in the first run.", "",
            "![Spark time against input rows](spark_scaling.png)"]
    return out


def live_targets(live: dict | None) -> list[str]:
    if not live or "real_pace" not in live:
        return []
    real, fast, rates = live["real_pace"]["window_and_alert_s"], live["rate_1000"]["p99"], live["rates"]
    target = live["latency_target_p99_s"]
    return [f"| live: alert latency p99 ≤ {target:g} s, real pace | {real['p99']:.2f} s (p50 {real['p50']:.2f}, "
            f"max {real['max']:.2f}) | {yes(real['p99'] <= target)} |",
            f"| live: alert latency p99 ≤ {target:g} s, 1000 rows/s | {fast['median']:.2f} s | "
            f"{yes(fast['median'] <= target)} |",
            f"| live: the stream jobs keep up with ≥ {rates['target']:,} rows/s | {rates['highest_kept_up']:,} rows/s "
            # The jobs' own rate, without the sender on the same cores, beside the verdict's figure.
            + (f"beside the sender; catching up {catch_up['rows_per_s']:,} rows/s "
               if (catch_up := rates.get("catch_up")) and catch_up.get("complete") else "")
            + f"| {yes(rates['met'])} |"]


def live_section(live: dict, runs: int) -> list[str]:
    if live.get("error"):
        return ["## Live: the stream jobs", "", f"**Error:** {live['error']}"]
    real, fast = live["real_pace"], live["rate_1000"]
    out = ["## Live: the stream jobs", "",
           "Latency of a closed window: from the send() of the first row whose event time reaches the window's "
           f"end plus the allowed lateness ({real['lateness_s']} s) to its row in the live CSV and, with an alert, "
           "its alert on the alerts topic (the later of the two). Method: `bench/live_bench.py`.", "",
           "| run | rows sent (rows/s) | window ends | windows | window+alert p50 / p99 / max s | window row p99 s | "
           "alert p99 s (alerts) |", "| --- | --- | --- | --- | --- | --- | --- |"]

    def row(name, r):
        b, w, a = r["window_and_alert_s"], r["window_row_s"], r["alert_s"]
        return (f"| {name} | {r['rows_sent']:,} ({_n(r['send_rate'])}) | {r['window_ends']} | {b['n']:,} | "
                f"{b['p50']:.2f} / {b['p99']:.2f} / {b['max']:.2f} | {w['p99']:.2f} | "
                f"{a.get('p99', 0):.2f} ({a['n']}) |")

    out.append(row("real pace (the sample's 5 s steps)", real))
    for i, r in enumerate(fast["runs"]):
        out.append(row(f"1000 rows/s, run {i + 1}", r))
    out += ["", f"Highest rate kept up with (the sender reached 95% of the rate and the p99 stayed within "
                f"{live['rates']['kept_up_p99_s']:g} s; a 20-server series at 1 s steps, one run per rate; the "
                "sender shares the 2 cores with the broker and both jobs):", "",
            "| rate rows/s | sent at rows/s | window+alert p50 / p99 / max s | kept up |", "| --- | --- | --- | --- |"]
    for r in live["rates"]["steps"]:
        b = r["window_and_alert_s"]
        out.append(f"| {r['rate']:,} | {_n(r['send_rate'])} | {b['p50']:.2f} / {b['p99']:.2f} / {b['max']:.2f} | "
                   f"{'yes' if r['kept_up'] else 'no'} |")
    catch_up = live["rates"].get("catch_up")
    if catch_up:
        out += ["", f"Catch-up (the jobs' own highest rate, no sender on the same cores): both jobs started on "
                    f"{catch_up['rows']:,} rows already in the topics closed their windows in {catch_up['seconds']:.1f} s "
                    f"from waiting for data: **{_n(catch_up['rows_per_s'])} rows/s**"
                    + ("" if catch_up["complete"] else " (not all windows came: fallen behind)") + "."]
    mem = live["memory"]
    out += ["", f"Memory: resident MiB of each stream job's process tree (Python driver and JVM) while "
                f"{mem['rows_sent']:,} rows ({mem['rows_sent'] // 20 // 3600:g} h of event time) were replayed "
                f"at {_n(mem['send_rate'])} rows/s:", "",
            "| job | 10 min | 60 min | end | peak |", "| --- | --- | --- | --- | --- |"]
    for job, m in mem["rss_mib"].items():
        out.append(f"| {job} | {_n(m.get('10min'))} | {_n(m.get('60min'))} | {_n(m.get('end'))} | {_n(m.get('peak'))} |")
    if mem.get("state_rows"):
        out += ["", "Rows held in Spark's state (the de-duplication and the windows, from each micro-batch's progress) "
                    "in the same run: level when the watermark drops what it no longer needs:", "",
                "| job | 10 min | 60 min | end | peak |", "| --- | --- | --- | --- | --- |"]
        for job, m in mem["state_rows"].items():
            out.append(f"| {job} | {_n(m.get('10min'))} | {_n(m.get('60min'))} | {_n(m.get('end'))} | "
                       f"{_n(m.get('peak'))} |")
    return out


def lab_section(lab: dict) -> list[str]:
    out = ["## 4. Deployment on the lab", ""]
    if lab.get("skipped"):
        return out + [f"Not measured in this bench: {lab['skipped']}."]
    if lab.get("lab_up_s") is not None:
        out.append(f"`lab.py up` after `down --purge` (fresh hosts; cached base image): {lab['lab_up_s']:.0f} s.")
    fresh = lab.get("fresh")
    if fresh:
        out.append(f"`site.yml` on the fresh hosts (one run: a fresh install needs purged hosts): "
                   f"**{fresh['seconds']:.0f} s**, exit {fresh['rc']}, changed={fresh['changed']}, "
                   f"failed/unreachable={fresh['failed']} (log `{fresh['log']}`).")
    n = lab.get("nochange")
    if n:
        out += ["", "| no-change `site.yml` | s | changed |", "| --- | --- | --- |"]
        for k, r in enumerate(n["runs"], 1):
            out.append(f"| run {k} (exit {r['rc']}) | {r['seconds']:.1f} | {r['changed']} |")
        out.append(f"| **median [min–max]** | {stat(n['seconds'], 1)} | |")
    if lab.get("error"):
        out += ["", f"**Error:** {lab['error']}", "", "```", (fresh or {}).get("tail", "")[-1500:], "```"]
    seven = lab.get("seven_hosts")
    if seven:
        out += [""] + topologies_table({"four hosts (`default.yml`)": lab, "seven hosts (`seven-hosts.yml`)": seven})
        out += roll_lines(seven)
    return out


def topologies_table(deployments: dict) -> list[str]:
    """The deployments side by side: lab up, fresh site.yml, the no-change runs."""
    out = ["| topology | hosts (in the inventory) | `lab.py up` s | fresh `site.yml` s | no-change `site.yml` s | changed |",
           "| --- | --- | --- | --- | --- | --- |"]
    for name, d in deployments.items():
        if d.get("skipped") or d.get("error"):
            out.append(f"| {name} | – | – | – | not measured: {d.get('skipped') or d.get('error')} | – |")
            continue
        fresh, n = d.get("fresh", {}), d.get("nochange", {})
        out.append(f"| {name} | {d.get('hosts', '–')} ({d.get('inventory_hosts', '–')}) | {d.get('lab_up_s', 0):.0f} | {fresh.get('seconds', 0):.0f} | "
                   f"{stat(n.get('seconds'), 1)} | {n.get('changed', '–')} |")
    return out


def roll_lines(d: dict) -> list[str]:
    r = d.get("roll")
    if not r:
        return []
    runs = ", ".join(f"{x['seconds']:.1f} s ({x['broker_restarts']} restarts, exit {x['rc']})" for x in r["runs"])
    out = ["", f"Rolling broker restart on the {r['brokers']} brokers (a `kafka_server_properties` change, "
               f"`site.yml --tags kafka`): {stat(r.get('seconds'), 1, ' s')} ({runs}); the same command with "
               f"nothing changed {r['unchanged']['seconds']:.1f} s, so each broker's restart and its wait to be back "
               f"in every ISR take about **{r['per_broker_s']:.1f} s**." if r.get("seconds") else
               f"Rolling broker restart on the {r['brokers']} brokers: no complete roll ({runs})."]
    return out


def tuning_section() -> list[str]:
    path = BENCH / "tuning.json"
    if not path.exists():
        return []
    items = json.loads(path.read_text())
    out = ["## What was tuned", "",
           "Before/after figures come from A/B runs during tuning (not from this bench), in two rounds. "
           "First round, on a shared machine (load 1.3–7 on 2 cores): producer, the sample, 4 interleaved "
           "rounds on one broker, median [min–max] msgs/s; Spark, CPU seconds of the whole process tree "
           "(Python + JVM), median of 2 rounds on 28,800 rows and 1 round on 2,880,000, each change measured "
           "alone against the unchanged job (AQE together with 2 shuffle partitions; only AQE was kept, the "
           "partitions stay a config value: 4 in group_vars). Second round (the crc32c row and those after "
           "it), on the idle machine: producer runs alternating on one broker, Spark and site.yml wall "
           "seconds, as each row says.", "",
           "| knob (where) | before | after | measured before | measured after |",
           "| --- | --- | --- | --- | --- |"]
    for t in items:
        out.append(f"| {t['knob']} (`{t['where']}`) | {t['before']} | {t['after']} | {t['measured_before']} | "
                   f"{t['measured_after']} |")
    return out


def chart(spark: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    for job, color in (("spark-job1", "#1f77b4"), ("spark-job2", "#d62728")):
        rows = [r for r in spark["jobs"] if r["job"] == job]
        x = [r["input_rows"] for r in rows]
        y = [r["wall_s"]["median"] for r in rows]
        lo = [r["wall_s"]["median"] - r["wall_s"]["min"] for r in rows]
        hi = [r["wall_s"]["max"] - r["wall_s"]["median"] for r in rows]
        ax.errorbar(x, y, yerr=[lo, hi], marker="o", capsize=4, color=color, label=f"{job} (median, min–max)")
        if all(r.get("cpu_s") for r in rows):
            ax.plot(x, [r["cpu_s"]["median"] for r in rows], ls="--", marker="s", mfc="none", color=color, lw=1,
                    label=f"{job}: CPU seconds of the process tree (median)")
        ax.plot([x[0], x[-1]], [4 * y[0], 4 * y[0]], ls=":", color=color, lw=1,
                label=f"{job}: 4× its 28,800-row time (target)")
    f = spark["floor_s"]
    xs = [r["input_rows"] for r in spark["jobs"]]
    ax.axhspan(f["min"], f["max"], color="grey", alpha=0.2)
    ax.axhline(f["median"], color="grey", ls="--", label="floor: session start + stop")
    ax.axhline(1.5 * f["median"], color="black", ls="-.", lw=1, label="1.5× floor (target at 28,800 rows)")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted(set(xs)))
    ax.set_xticklabels([f"{v:,}" for v in sorted(set(xs))])
    ax.set_xlabel("input rows per consumer CSV")
    ax.set_ylabel("seconds (wall; dashed: CPU)")
    ax.set_ylim(bottom=0)
    ax.set_title("Spark jobs: time against input rows (2 cores)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left")
    fig.tight_layout()
    fig.savefig(CHART)
    plt.close(fig)


def write(results: dict) -> None:
    parts = results.get("parts", {})
    runs = results.get("runs", 3)
    ls, le = results.get("load_start", {}), results.get("load_end", {})
    m = results.get("machine", {})
    out = ["# make bench: results", "",
           f"Measured {results.get('generated', '?')} on {m.get('cpus', '?')} cores, {m.get('mem_gib', '?')} GiB "
           f"({m.get('java', '')}; Python {m.get('python', '')}); every figure is the **median of its part's runs** "
           "with [min–max] (each part says how many). Load average at the start: "
           f"{ls.get('load1', 0):.2f} / {ls.get('load5', 0):.2f} / {ls.get('load15', 0):.2f}"
           + (f"; at the end: {le.get('load1', 0):.2f} / {le.get('load5', 0):.2f} / {le.get('load15', 0):.2f}"
              if le else "")
           + (f"; the bench took {results['bench_seconds'] / 60:.1f} min" if results.get("bench_seconds") else "")
           + ". Parts measured in this bench: " + ", ".join(results.get("parts_run", [])) + "; "
           "a part not run keeps its earlier numbers (its time: `at` in results.json).", "",
           "How to run: `make bench` (all four parts; `make bench BENCH_LAB=0` leaves the lab out, "
           "`BENCH_RUNS=5` for more runs). Method of each part: the docstrings of `bench/*_bench.py`.", "",
           "## Targets", ""]
    out += targets_table(parts)
    if "producer" in parts:
        out += [""] + producer_section(parts["producer"], parts["producer"].get("runs", runs))
    if "ingest" in parts:
        out += [""] + ingest_section(parts["ingest"], parts["ingest"].get("runs", runs))
    if "spark" in parts:
        out += [""] + spark_section(parts["spark"], parts["spark"].get("runs", runs))
        chart(parts["spark"])
    if "spark-series" in parts:
        out += [""] + series_section(parts["spark-series"], parts["spark-series"].get("runs", runs))
    if "live" in parts:
        out += [""] + live_section(parts["live"], parts["live"].get("runs", runs))
    if "lab" in parts:
        out += [""] + lab_section(parts["lab"])
    tuning = tuning_section()
    if tuning:
        out += [""] + tuning
    analysis = BENCH / "analysis.md"
    if analysis.exists():
        out += ["", analysis.read_text().strip()]
    RESULTS_MD.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    write(json.loads((BENCH / "results.json").read_text()))
    sys.exit(0)
