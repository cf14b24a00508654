"""Faults on the deployed lab: broker restarts, consumer hosts rebooted and consumers killed while data
flows, an analysis started too early, hosts and groups that are wrong. Nothing lost, nothing doubled.

Each test streams a fresh slice of generated data (new timestamps), so a row lost in the fault
cannot hide behind the same row delivered earlier.
"""
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, STREAMED, assert_consumer_csvs_exact, lab, live_args, on, playbook

APP = "/opt/monitoring/venv/bin/monitoring --config /etc/monitoring/config.yaml"


def make_slice(tmp_path, start: str) -> tuple:
    """The same deterministic file here (for the expected rows) and on the producer host."""
    args = ["--servers", "20", "--hours", "0.1", "--start", start]
    local = tmp_path / f"slice-{start.replace(':', '')}.csv"
    subprocess.run([sys.executable, str(ROOT / "app" / "main.py"), "generate", "--out", str(local), *args],
                   check=True, capture_output=True)
    remote = f"/var/lib/monitoring/slice-{start.replace(':', '')}.csv"
    on("producer", f"runuser -u monitoring -- {APP} generate --out {remote} {' '.join(args)}")
    STREAMED.append(local)
    return local, remote


def start_producer(remote: str, rate: int = 300) -> None:
    """A producer run in the background on the producer host: 1,440 rows at `rate` rows/s."""
    on("producer", f"systemd-run --unit=fault-producer --collect --uid=monitoring --property=Type=exec "
                   f"{APP} producer --data {remote} --mode rate --rate {rate}")


def wait_producer_done(timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = on("producer", "systemctl show fault-producer -p ActiveState -p Result --value", check=False)
        if "active" not in state.split():
            assert "success" in state or state.strip() == "", f"the producer run failed: {state}\n" + \
                on("producer", "journalctl -u fault-producer -n 30 --no-pager", check=False)
            return
        time.sleep(1)
    raise AssertionError("the producer run did not finish")


def settle() -> None:
    res, _ = playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert_consumer_csvs_exact()


@pytest.mark.parametrize("how", ["systemctl restart kafka", "systemctl kill --signal=SIGKILL kafka"])
def test_broker_restart_mid_producer_run(deployed, tmp_path, how):
    _, remote = make_slice(tmp_path, "14:00:00" if "restart" in how else "15:00:00")
    start_producer(remote)
    time.sleep(2)
    on("broker", how)
    wait_producer_done()
    settle()


def test_consumer_host_rebooted_mid_stream(deployed, tmp_path):
    _, remote = make_slice(tmp_path, "16:00:00")
    start_producer(remote)
    time.sleep(2)
    lab("restart", "consumer1", timeout=300)
    wait_producer_done()
    settle()


def test_consumer_killed_mid_write(deployed, tmp_path):
    _, remote = make_slice(tmp_path, "17:00:00")
    start_producer(remote)
    for _ in range(3):
        time.sleep(1.2)
        on("consumer2", "systemctl kill --signal=SIGKILL monitoring-consumer2")
    wait_producer_done()
    settle()


def test_analysis_waits_for_the_consumers_and_says_so_on_time_out(deployed, tmp_path):
    _, remote = make_slice(tmp_path, "18:00:00")
    on("consumer2", "systemctl stop monitoring-consumer2")
    try:
        start_producer(remote, rate=2000)
        wait_producer_done()
        res, took = playbook("run-analysis.yml", "-e", "analysis_caught_up_timeout=15")
        assert res.returncode != 0, "the analysis ran on half the data"
        assert "consumer2 has not caught up after 15 s" in res.stdout, res.stdout[-3000:]
        assert took < 300
    finally:
        on("consumer2", "systemctl start monitoring-consumer2")
    settle()


def test_an_inventory_host_that_does_not_answer_fails_fast_and_clearly(deployed, tmp_path):
    inventory = tmp_path / "inventory.ini"
    text = (ROOT / ".lab" / "inventory.ini").read_text()
    inventory.write_text(text.replace("10.213.0.13", "10.213.0.99"))
    started = time.monotonic()
    res = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory),
                          "-e", f"@{ROOT / '.lab' / 'lab-vars.yml'}", *live_args(), "site.yml"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert res.returncode != 0
    assert "consumer1-node" in res.stdout and "UNREACHABLE" in res.stdout
    assert time.monotonic() - started < 300


@pytest.mark.parametrize("mistake,message", [
    ("[producer]\nproducer-node ansible_host=10.213.0.11\nextra-node ansible_host=10.213.0.15", "exactly one host"),
    ("[producer]\n", "exactly one host"),
])
def test_a_wrong_inventory_is_named_before_anything_is_touched(deployed, tmp_path, mistake, message):
    text = (ROOT / ".lab" / "inventory.ini").read_text()
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(text.replace("[producer]\nproducer-node ansible_host=10.213.0.11", mistake))
    res = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory),
                          "-e", f"@{ROOT / '.lab' / 'lab-vars.yml'}", *live_args(), "site.yml"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode != 0 and message in res.stdout, res.stdout[-3000:]
    assert "changed=" in res.stdout and all(" changed=0 " in line for line in res.stdout.splitlines()
                                            if "changed=" in line)


def test_a_reset_on_purpose_starts_a_new_series(deployed, tmp_path):
    """A slice is another data file: the analysis says the CSVs mix several series. A reset, refused
    unless confirmed, empties the topics and the consumers' files; site.yml then replays the sample
    alone, and the results are the sample's."""
    from tests.support.pipeline import SAMPLE

    from .conftest import CONSUMER_FILES, OUTPUT, TEAM_CSV, expected_team_csvs

    _, remote = make_slice(tmp_path, "19:00:00")
    start_producer(remote, rate=2000)
    wait_producer_done()
    res, _ = playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert "its CSVs hold the rows of" in res.stdout and "the team CSVs will mix" in res.stdout, res.stdout[-4000:]

    res, _ = playbook("site.yml", "--tags", "reset")
    assert res.returncode != 0 and "add -e reset_confirm=yes" in res.stdout, res.stdout[-3000:]
    assert on("consumer1", "systemctl is-active monitoring-consumer1").strip() == "active", "refused, yet stopped"

    res, _ = playbook("site.yml", "--tags", "reset", "-e", "reset_confirm=yes")
    assert res.returncode == 0, res.stdout[-6000:]
    for host, names in CONSUMER_FILES.items():
        left = on(host, f"cd {OUTPUT} && ls -A {' '.join(names)} .{host}.checkpoint.json team_* 2>/dev/null; true")
        assert left.strip() == "", f"{host}: left after the reset: {left}"
        assert on(host, f"systemctl is-active monitoring-{host}", check=False).strip() == "inactive"
    STREAMED[:] = [SAMPLE]

    res, _ = playbook("site.yml")
    assert res.returncode == 0, res.stdout[-6000:]
    res, _ = playbook("run-analysis.yml")
    assert res.returncode == 0, res.stdout[-6000:]
    assert "its CSVs hold the rows of" not in res.stdout, res.stdout[-4000:]
    assert_consumer_csvs_exact()
    res, _ = playbook("fetch-results.yml")
    assert res.returncode == 0, res.stdout[-4000:]
    want_cpu, want_net = expected_team_csvs()
    assert (ROOT / "results" / TEAM_CSV["spark-job1"]).read_text() == want_cpu
    assert (ROOT / "results" / TEAM_CSV["spark-job2"]).read_text() == want_net
