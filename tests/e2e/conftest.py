"""The deployment on the four-host lab: lab up, site.yml, checks; the lab comes down whatever happens.

Needs root (containers, namespaces) and `make lab-deps kafka-dist wheelhouse`; `make test` does both.
The app's wheel is made here too (`make app-wheel`: nothing to do when it is up to date), so the lab
never gets a wheel older than app/.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitoring import wiring
from tests.support.pipeline import SAMPLE, expected_consumer_rows

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
INVENTORY = ROOT / ".lab" / "inventory.ini"
LAB_VARS = ROOT / ".lab" / "lab-vars.yml"
HOSTS = ("producer", "broker", "consumer1", "consumer2")
OUTPUT = "/var/lib/monitoring/output"
CONSUMER_FILES = {role: consumer.csvs for role, consumer in wiring.CONSUMERS.items()}
TEAM_NUMBER = "42"   # group_vars/all.yml's
TEAM_CSV = {name: job.output_name(TEAM_NUMBER) for name, job in wiring.JOBS.items()}
# Every data file the lab's producer has streamed this session (fault tests add slices): what the
# consumers' CSVs and the team CSVs must reflect, whichever tests ran before.
STREAMED: list = [SAMPLE]
UNITS = {"producer": ["monitoring-producer"], "broker": ["kafka"],
         "consumer1": ["monitoring-consumer1", "monitoring-dashboard"], "consumer2": ["monitoring-consumer2"]}
# Every playbook of the session runs with the dashboard on (on consumer1, group_vars' dashboard_host).
SESSION_VARS = ("-e", "dashboard_enabled=true")
# The live path's settings on the lab. The lab's producer replays fast (hours of event time a
# second), so the watermark allows an hour of lateness: no row of a replay is late whatever the
# partitions' skew, and each slice a test streams starts more than that after the last one's end.
LIVE_ON = {"live_enabled": True, "live_allowed_lateness_seconds": 3600}
# The plaintext session runs without the live path unless E2E_LIVE=1 (then the stream jobs run beside
# the consumers from the first site.yml on, and tests/e2e/test_live_lab.py checks them at the end);
# the other topologies (test_lab_topologies.py) run without it; the secured deployment
# (test_security.py) always with it, and at the end turns it off.
LIVE_VARS = dict(LIVE_ON) if os.environ.get("E2E_LIVE") == "1" else {"live_enabled": False}


def live_on() -> bool:
    """Whether this session's deployments run the live path (LIVE_VARS, which a module may change)."""
    return bool(LIVE_VARS.get("live_enabled"))


if live_on():
    UNITS["consumer1"].append("monitoring-stream1")
    UNITS["consumer2"].append("monitoring-stream2")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
    # The other topologies purge and replace the session's four hosts: they come after everything else.
    items.sort(key=lambda item: item.get_closest_marker("lab_topologies") is not None)


def lab(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, str(ROOT / "lab" / "lab.py"), *args], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    if check and res.returncode != 0:
        raise AssertionError(f"lab {' '.join(args)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def on(host: str, command: str, timeout: float = 120, check: bool = True) -> str:
    """Run a shell command on a lab host as root; its stdout."""
    res = lab("ssh", host, command, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"on {host}: {command!r} exited {res.returncode}:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return res.stdout


def live_args() -> list[str]:
    """The extra vars of the live path in this session's deployments (LIVE_VARS)."""
    return ["-e", json.dumps(LIVE_VARS)] if LIVE_VARS else []


def playbook(name: str, *extra: str, timeout: float = 1800) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    started = time.monotonic()
    res = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(INVENTORY), "-e", f"@{LAB_VARS}",
                          *SESSION_VARS, *live_args(), name, *extra], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=timeout)
    return res, time.monotonic() - started


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    found = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return found


def assert_nothing_changed(res: subprocess.CompletedProcess) -> None:
    """A re-run of a playbook on deployed hosts: exit 0 and changed=0 on every host."""
    assert res.returncode == 0, res.stdout[-4000:]
    changed = {h: c["changed"] for h, c in recap(res.stdout).items()}
    assert all(n == 0 for n in changed.values()), f"second run changed: {changed}\n{res.stdout[-6000:]}"


def journals() -> str:
    parts = []
    for host, units in UNITS.items():
        for unit in units:
            out = on(host, f"systemctl --no-pager status {unit} | head -5; journalctl --no-pager -n 40 -u {unit}",
                     check=False)
            parts.append(f"--- {host}: {unit}\n{out}")
    return "\n".join(parts)


@pytest.fixture(scope="session")
def lab_hosts():
    if os.geteuid() != 0:
        pytest.fail("the end-to-end tests need root (the lab makes containers and network namespaces): "
                    "run make test as root")
    built = subprocess.run(["make", "--no-print-directory", "app-wheel"], cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, f"make app-wheel failed:\n{built.stdout[-2000:]}{built.stderr[-2000:]}"
    lab("down", "--purge", check=False)   # fresh hosts: the deployment starts from nothing
    lab("up", timeout=900)
    try:
        yield HOSTS
    finally:
        lab("down", timeout=300, check=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and "lab_hosts" in item.fixturenames and call.when == "call":
        try:
            report.sections.append(("journals of the lab's units", journals()))
        except Exception as exc:  # the lab itself may be what failed
            report.sections.append(("journals of the lab's units", f"could not read them: {exc}"))


@pytest.fixture(scope="session")
def deployed(lab_hosts):
    """site.yml on the fresh lab, once for the session."""
    res, took = playbook("site.yml")
    assert res.returncode == 0, f"site.yml failed after {took:.0f} s:\n{res.stdout[-6000:]}\n{res.stderr[-2000:]}"
    print(f"site.yml from scratch: {took:.0f} s")
    return res


def csv_rows_on(host: str, name: str) -> list[tuple]:
    text = on(host, f"cat {OUTPUT}/{name}")
    assert text.endswith("\n"), f"{host}:{name} ends in a torn line"
    return [tuple(r) for r in list(csv.reader(io.StringIO(text)))[1:]]


def assert_consumer_csvs_exact(*data_files: Path) -> None:
    """The consumers' CSVs on the lab hold every row of these data files exactly once, and nothing else."""
    expected: dict[str, set] = {}
    for data in data_files or STREAMED:
        for name, rows in expected_consumer_rows(data).items():
            expected.setdefault(name, set()).update(rows)
    for host, names in CONSUMER_FILES.items():
        for name in names:
            rows = csv_rows_on(host, name)
            assert len(rows) == len(set(rows)), f"{host}:{name} has {len(rows) - len(set(rows))} duplicated rows"
            assert set(rows) == expected[name], f"{host}:{name}: {len(expected[name] - set(rows))} rows missing, " \
                                                f"{len(set(rows) - expected[name])} unexpected"


def expected_team_csvs(*data_files: Path) -> tuple[str, str]:
    """The exact text of both team CSVs for these data files, by default everything streamed so far
    (tests/support/reference.py)."""
    from tests.support import reference

    rows = [row for data in data_files or STREAMED for row in reference.read_csv_rows(data)]
    return (reference.to_csv_text(reference.CPU_MEM_HEADER, reference.expected_cpu_mem(rows, rows)),
            reference.to_csv_text(reference.NET_DISK_HEADER, reference.expected_net_disk(rows, rows)))
