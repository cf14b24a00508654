"""The live path on the deployed lab (with E2E_LIVE=1): site.yml runs the stream jobs beside
the consumers (the session's deployments: tests/e2e/conftest.py's LIVE_VARS), so by now they have read the
sample's replay and every slice the fault tests streamed, through the reboots and broker kills of
test_deploy.py and test_faults_lab.py. Here: their live CSVs, sorted by server_id then window_start,
equal the batch jobs' team CSVs byte for byte on both consumers; every alert of the team CSVs is on
the alerts topic; and a consumer host rebooted while its stream job writes windows loses and doubles none.

test_security.py runs the same checks on the lab deployed with SASL/SCRAM and the firewall
(its module fixture), with the helpers below.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from monitoring import wiring

from .conftest import OUTPUT, ROOT, STREAMED, TEAM_CSV, expected_team_csvs, lab, live_on, on, playbook

pytestmark = pytest.mark.skipif(not live_on(), reason="the plaintext session runs without the live path unless E2E_LIVE=1")

APP = "/opt/monitoring/venv/bin/monitoring --config /etc/monitoring/config.yaml"
# Each consumer host runs the stream job of its consumer's batch job.
STREAMS = {job.consumer: job for job in wiring.JOBS.values()}
LIVE_BOUND = 300     # seconds for the stream jobs to close every window after the data (a reboot included)

# Runs on a lab host with the app's virtualenv: every record on the alerts topic, from its beginning
# to its end offsets now, one JSON line [key, value] each. It logs in as `monitoring alerts` does
# (config.yaml's kafka.logins: with sasl_scram the alerts' reader), with the app's own client options.
ALERTS_DUMP = r'''
import json, sys
from monitoring.config_file import load_config
from monitoring.kafka_connection import client_options
from kafka import KafkaConsumer, TopicPartition
cfg = load_config(sys.argv[1]).for_command("alerts")
consumer = KafkaConsumer(**client_options(cfg), group_id=None, enable_auto_commit=False)
topic = cfg.topics.alerts
parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
if not parts:
    sys.exit(f"no topic {topic}")
consumer.assign(parts)
consumer.seek_to_beginning(*parts)
ends = consumer.end_offsets(parts)
while any(consumer.position(tp) < ends[tp] for tp in parts):
    for batch in consumer.poll(timeout_ms=1000).values():
        for rec in batch:
            print(json.dumps([rec.key.decode(), rec.value.decode()]))
consumer.close()
'''


def by_server_and_window(text: str) -> str:
    """A CSV with its rows sorted by server_id then window_start (the issue's comparison)."""
    lines = text.splitlines(keepends=True)
    return "".join(lines[:1] + sorted(lines[1:], key=lambda line: tuple(line.split(",", 2)[:2])))


def expected_by_host() -> dict[str, str]:
    """Each consumer host's team CSV for everything streamed so far (tests/support/reference.py)."""
    return dict(zip(STREAMS, expected_team_csvs()))


def live_csv_on(host: str) -> str:
    return on(host, f"cat {OUTPUT}/{STREAMS[host].live_csv} 2>/dev/null || true", timeout=120)


def windows_twice(text: str) -> list:
    keys = [tuple(line.split(",")[:3]) for line in text.splitlines()[1:]]
    return sorted({k for k in keys if keys.count(k) > 1})[:3] if len(keys) != len(set(keys)) else []


def wait_live_csvs_complete(timeout: float = LIVE_BOUND) -> None:
    """Until both live CSVs, sorted, are the reference of everything streamed; each window once."""
    want = expected_by_host()
    deadline = time.monotonic() + timeout
    while True:
        got = {host: live_csv_on(host) for host in STREAMS}
        for host, text in got.items():
            assert not windows_twice(text), f"{host}: windows written twice: {windows_twice(text)}"
        if all(by_server_and_window(got[h]) == want[h] for h in STREAMS):
            return
        if time.monotonic() > deadline:
            counts = {h: (got[h].count("\n") - 1, want[h].count("\n") - 1) for h in STREAMS}
            raise AssertionError(f"after {timeout:.0f} s the live CSVs are not the expected ones "
                                 f"(rows in the live CSV, expected): {counts}")
        time.sleep(5)


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def assert_live_equals_batch(run=playbook) -> None:
    """run-analysis.yml and fetch-results.yml (through `run`, which adds a deployment's own extra vars):
    each live CSV, sorted by server_id then window_start, is its team CSV byte for byte, and both
    playbooks say so."""
    wait_live_csvs_complete()
    res, took = run("run-analysis.yml")
    assert res.returncode == 0, f"run-analysis.yml failed:\n{res.stdout[-6000:]}"
    print(f"run-analysis.yml with the live path: {took:.0f} s")
    res_fetch, _ = run("fetch-results.yml")
    assert res_fetch.returncode == 0, f"fetch-results.yml failed:\n{res_fetch.stdout[-6000:]}"
    want = expected_by_host()
    for host, job in STREAMS.items():
        team = (ROOT / "results" / TEAM_CSV[job.name]).read_text()
        live = (ROOT / "results" / job.live_csv).read_text()
        assert team == want[host], f"{TEAM_CSV[job.name]} is not the reference"
        assert by_server_and_window(live) == team, f"{host}: {job.live_csv} != {TEAM_CSV[job.name]}"
        said = f"{job.live_csv} on {host}-node, sorted by server: equal to {TEAM_CSV[job.name]}"
        assert said in one_line(res.stdout), f"run-analysis.yml did not say {said!r}:\n{res.stdout[-3000:]}"
        assert said in one_line(res_fetch.stdout), f"fetch-results.yml did not say {said!r}:\n{res_fetch.stdout[-3000:]}"


def alerts_on_the_topic(host: str = "consumer1") -> list[tuple[str, str]]:
    on(host, f"cat > /root/alerts_dump.py <<'EOF'\n{ALERTS_DUMP}\nEOF")
    out = on(host, "cd / && /opt/monitoring/venv/bin/python - /etc/monitoring/config.yaml < /root/alerts_dump.py",
             timeout=180)
    return [tuple(json.loads(line)) for line in out.splitlines() if line.strip()]


def assert_every_team_alert_is_on_the_topic(host: str = "consumer1") -> int:
    """Each alert window of the team CSVs (the reference of everything streamed) is on the alerts topic,
    keyed by its server, with the team CSV's values; a window published twice is the same bytes. The
    number of alert windows."""
    by_window = defaultdict(set)
    for key, value in alerts_on_the_topic(host):
        doc = json.loads(value, parse_float=str)
        assert key == doc["server_id"], (key, value)
        by_window[(doc["job"], doc["server_id"], doc["window_start"], doc["window_end"])].add(value)
    repeats = {w: v for w, v in by_window.items() if len(v) > 1}
    assert not repeats, f"a re-published alert differs from the first: {list(repeats.items())[:1]}"
    want = {}
    for host_of_job, text in expected_by_host().items():
        job = STREAMS[host_of_job]
        rows = [line.split(",") for line in text.splitlines()]
        for row in rows[1:]:
            r = dict(zip(rows[0], row))
            if r[wiring.ALERT_COLUMN]:
                want[(job.stream, *(r[c] for c in wiring.TEAM_CSV_LEAD))] = (
                    r[job.first.out], r[job.second.out], r[wiring.ALERT_COLUMN])
    assert want, "the data streamed raises alerts"
    got = {}
    for window, values in by_window.items():
        doc = json.loads(next(iter(values)), parse_float=str)
        job = wiring.STREAM_JOBS[doc["job"]]
        got[window] = (doc[job.first.out] or "", doc[job.second.out] or "", doc[wiring.ALERT_COLUMN])
    assert got == want, f"{len(set(want) - set(got))} alerts missing, {len(set(got) - set(want))} unexpected"
    return len(want)


def make_slice(tmp_path: Path, start: str, hours: float) -> str:
    """A generated series (20 servers) here, for the reference, and on the producer host; its path there."""
    args = ["--servers", "20", "--hours", str(hours), "--start", start]
    local = tmp_path / f"live-slice-{start.replace(':', '')}.csv"
    subprocess.run([sys.executable, str(ROOT / "app" / "main.py"), "generate", "--out", str(local), *args],
                   check=True, capture_output=True)
    remote = f"/var/lib/monitoring/live-slice-{start.replace(':', '')}.csv"
    on("producer", f"runuser -u monitoring -- {APP} generate --out {remote} {' '.join(args)}")
    STREAMED.append(local)
    return remote


def reboot_a_consumer_host_mid_stream(tmp_path: Path, start: str, run=playbook) -> None:
    """A 2-hour slice at 400 rows/s (100 s of event time a second: windows close while it runs); once
    consumer1's stream job has written 200 of its windows, consumer1 is rebooted; then every window
    is in the live CSVs once and they equal the team CSVs."""
    remote = make_slice(tmp_path, start, 2)
    host = "consumer1"
    before = live_csv_on(host).count("\n")
    on("producer", f"systemd-run --unit=live-producer --collect --uid=monitoring --property=Type=exec "
                   f"{APP} producer --data {remote} --mode rate --rate 400")
    deadline = time.monotonic() + 180
    while live_csv_on(host).count("\n") < before + 200:
        assert time.monotonic() < deadline, f"{host}'s stream job wrote no windows of the slice within 180 s"
        time.sleep(1)
    state = on("producer", "systemctl show live-producer -p ActiveState --value", check=False).strip()
    assert state == "active", f"the slice's replay ended before the reboot ({state}): not mid-stream"
    lab("restart", host, timeout=300)
    for unit in ("monitoring-stream1", "monitoring-consumer1"):
        status = on(host, f"for i in $(seq 60); do s=$(systemctl is-active {unit}); "
                          f"[ \"$s\" = active ] && break; sleep 1; done; echo $s").strip()
        assert status == "active", f"{host}: {unit} is {status} after the reboot"
    deadline = time.monotonic() + 300
    while on("producer", "systemctl show live-producer -p ActiveState --value", check=False).strip() == "active":
        assert time.monotonic() < deadline, "the slice's replay did not finish"
        time.sleep(2)
    assert_live_equals_batch(run)
    assert_every_team_alert_is_on_the_topic()


def test_the_stream_jobs_run_beside_their_consumers(deployed):
    for host, job in STREAMS.items():
        unit = f"monitoring-stream{host[-1]}"
        assert on(host, f"systemctl is-active {unit}").strip() == "active", f"{host}: {unit}"
        exec_start = on(host, f"systemctl show -p ExecStart --value {unit}")
        assert f"/opt/monitoring/venv/bin/monitoring --config /etc/monitoring/config.yaml {job.stream} ;" in exec_start


def test_the_live_csvs_equal_the_batch_team_csvs(deployed):
    assert_live_equals_batch()


def test_every_alert_of_the_team_csvs_is_on_topic_alerts(deployed):
    assert_every_team_alert_is_on_the_topic()


def test_a_consumer_host_rebooted_mid_stream_loses_and_doubles_no_window(deployed, tmp_path):
    # After the fault tests' slices (14:00 to 18:06): a slice earlier than what the stream jobs have
    # seen would be late for them (test_security.py's slice comes after this one).
    reboot_a_consumer_host_mid_stream(tmp_path, "19:10:00")
