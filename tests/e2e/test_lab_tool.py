"""The lab tool on this machine: `lab.py down` right after `up` leaves nothing behind.

Checked here from the outside, not through the lab's own bookkeeping: no systemd-nspawn process on a lab
host's disk (nor any process `up` recorded), no mount under .lab/, no network namespace or interface named
mlab-*, no bridge mlab0, no iptables rule for the lab's subnet. Needs root. If the session's lab is up when
this runs, it is brought down for the test and up again afterwards (the hosts' disks stay, so a deployed
lab comes back as after a reboot).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = ROOT / ".lab"
SUBNET = "10.213.0.0/24"
GATEWAY = "10.213.0.1"
TOPOLOGIES = ROOT / "lab" / "topologies"


def lab(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "lab" / "lab.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def stat(pid: int) -> tuple[str, str, str] | None:
    """(state, comm, starttime) of a process, None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], data[data.index("(") + 1:data.rindex(")")], rest[19]


def recorded_processes() -> dict[int, str]:
    """The nspawn processes `up` recorded (.lab/<host>.pid), with their start times."""
    found = {}
    for f in LAB_DIR.glob("*.pid"):
        pid = int(f.read_text().split()[0])
        st = stat(pid)
        if st and st[1] == "systemd-nspawn":
            found[pid] = st[2]
    return found


def what_is_left(recorded: dict[int, str]) -> list[str]:
    left = []
    hosts_dir = str((LAB_DIR / "hosts").resolve()).encode() + b"/"
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = stat(int(d))
            try:
                argv = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if st and st[0] != "Z" and any(a.startswith(hosts_dir) for a in argv):
                left.append(f"process {d} ({st[1]}) on a lab host's disk")
            if st and st[0] != "Z" and b"http.server" in argv and GATEWAY.encode() in argv:
                left.append(f"process {d} ({st[1]}): the Kafka mirror's server")
    for pid, start in recorded.items():
        st = stat(pid)
        if st and st[2] == start and st[0] != "Z":  # a zombie has exited: only its parent's wait is due
            left.append(f"recorded systemd-nspawn pid {pid} still runs")
    lab_dir = str(LAB_DIR.resolve()) + "/"
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if line.split()[4].startswith(lab_dir):
            left.append(f"mount {line.split()[4]}")
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    left += [f"netns {n}" for n in netns if n.startswith("mlab-")]
    left += [f"interface {n}" for n in os.listdir("/sys/class/net") if n.startswith("mlab")]
    for table in ("nat", "filter"):
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout
        left += [f"iptables -t {table}: {r}" for r in rules.splitlines() if SUBNET in r]
    return left


@pytest.fixture
def lab_to_ourselves():
    """The lab is machine-global: if it is up (the session's), take it down now and bring it back after."""
    if os.geteuid() != 0:
        pytest.fail("the lab tool's test needs root (containers, network namespaces): run it as root")
    again = None
    if recorded_processes():  # the topology it runs, to start the same again
        started = json.loads((LAB_DIR / "topology.json").read_text())
        again = ["--topology", str(ROOT / started["source"])]
        if any(h["name"] == "outsider" for h in started["hosts"]):
            again.append("--with-outsider")
        res = lab("down")
        assert res.returncode == 0, res.stderr[-3000:]
    yield
    if again:
        res = lab("up", *again)
        assert res.returncode == 0, res.stderr[-3000:]


@pytest.mark.parametrize("topology,hosts", [(None, 4), ("seven-hosts.yml", 7)])
def test_down_right_after_up_leaves_nothing(lab_to_ourselves, topology, hosts):
    up = lab("up", *(["--topology", str(TOPOLOGIES / topology)] if topology else []))
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        recorded = recorded_processes()
        assert len(recorded) == hosts, up.stderr[-3000:]
        # the Kafka mirror answers on the bridge (lab/nspawnlab/mirror.py)
        with urllib.request.urlopen(f"http://{GATEWAY}:8213/kafka/4.1.1/kafka_2.13-4.1.1.tgz.sha512", timeout=10) as r:
            assert r.read().decode().startswith("kafka_2.13-4.1.1.tgz: ")
    finally:
        down = lab("down", timeout=300)
    assert down.returncode == 0, down.stderr[-3000:]
    assert "nothing of it left" in down.stderr
    assert what_is_left(recorded) == []
