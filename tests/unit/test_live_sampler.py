"""The live source's rows: this machine's hostname, dated with the sample's UTC time (a dated ts is
read as UTC), whatever the machine's time zone; inside a container, its own cpu_pct and mem_pct."""
import os
import socket
import time
from datetime import datetime, timezone

import pytest

from monitoring.producer.cgroup_usage import CgroupUsage, in_container
from monitoring.producer.sources import LiveSampler


def test_a_live_row_is_dated_with_its_utc_time_under_the_hostname(monkeypatch):
    # A zone far from UTC: a row stamped in local time would be hours off.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        sampler = LiveSampler(0.1)
        time.sleep(0.1)
        before = int(datetime.now(timezone.utc).timestamp())
        row = sampler.sample()
        after = int(datetime.now(timezone.utc).timestamp())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert row.server_id == socket.gethostname().split(".")[0]
    assert before <= row.stamp.seconds <= after
    assert all(float(v) >= 0 for v in row.values.values())


# --- inside a container: cpu_pct and mem_pct from its own cgroup-v2 files --------------------------

MIB = 1024 * 1024


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def fake_cgroup(root, usage_usec=1_000_000, cpu_max=None, current=None, inactive=0, mem_max="max"):
    """The files a container's cgroup-v2 root shows; a metric's files are left out when None."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n" if cpu_max else "memory pids\n")
    (root / "cpu.stat").write_text(f"usage_usec {usage_usec}\nuser_usec {usage_usec}\nsystem_usec 0\n")
    if cpu_max:
        (root / "cpu.max").write_text(f"{cpu_max}\n")
    if current is not None:
        (root / "memory.current").write_text(f"{current}\n")
        (root / "memory.stat").write_text(f"anon {current - inactive}\nfile {inactive}\ninactive_file {inactive}\n")
        (root / "memory.max").write_text(f"{mem_max}\n")
    return root


def usage(root, usec):
    (root / "cpu.stat").write_text(f"usage_usec {usec}\nuser_usec {usec}\nsystem_usec 0\n")


@pytest.fixture
def four_cpus(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})


def cpu_and_mem(row):
    return row.values["cpu_pct"], row.values["mem_pct"]


@pytest.mark.parametrize("cpu_max, expected", [
    (None, "37.50"),                 # no cpu controller: the 4 CPUs it may run on
    ("max 100000", "37.50"),         # no quota
    ("200000 100000", "75.00"),      # a quota of 2 CPUs
    ("600000 100000", "37.50"),      # a quota above the CPUs there are
    ("50000 100000", "100.00"),      # half a CPU, 1.5 CPUs used over the interval: clamped
])
def test_cpu_is_the_cgroups_usage_over_the_wall_time_and_its_cpus(tmp_path, four_cpus, cpu_max, expected):
    root = fake_cgroup(tmp_path, usage_usec=1_000_000, cpu_max=cpu_max)
    clock = Clock(100.0)
    sampler = LiveSampler(1, "c1", cgroup_root=tmp_path, container=True, clock=clock)
    clock.now, _ = 102.0, usage(root, 4_000_000)   # 3 s of CPU in 2 s of wall time
    assert sampler.sample().values["cpu_pct"] == expected
    clock.now, _ = 104.0, usage(root, 4_000_000)   # idle since
    assert sampler.sample().values["cpu_pct"] == "0.00"


def test_mem_is_the_cgroups_use_less_inactive_file_over_its_limit(tmp_path, four_cpus):
    fake_cgroup(tmp_path, current=700 * MIB, inactive=100 * MIB, mem_max=str(800 * MIB))
    sampler = LiveSampler(1, "c1", cgroup_root=tmp_path, container=True, clock=Clock())
    assert sampler.cgroup.mem and sampler.sample().values["mem_pct"] == "75.00"


@pytest.mark.parametrize("mem_max", ["max", str(64 * 1024 * MIB)], ids=["max", "above-MemTotal"])
def test_without_a_memory_limit_mem_is_over_memtotal(tmp_path, mem_max):
    fake_cgroup(tmp_path / "cg", current=300 * MIB, inactive=44 * MIB, mem_max=mem_max)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal:        {1024 * 1024} kB\nMemFree:          1000 kB\n")
    assert CgroupUsage(tmp_path / "cg", meminfo).mem_pct() == 25.0


def test_mem_is_clamped_to_0_100(tmp_path):
    (tmp_path / "meminfo").write_text("MemTotal: 1024 kB\n")
    fake_cgroup(tmp_path / "over", current=3 * MIB, mem_max=str(2 * MIB))
    fake_cgroup(tmp_path / "under", current=MIB, mem_max=str(2 * MIB))
    (tmp_path / "under" / "memory.stat").write_text(f"inactive_file {2 * MIB}\n")
    assert CgroupUsage(tmp_path / "over", tmp_path / "meminfo").mem_pct() == 100.0
    assert CgroupUsage(tmp_path / "under", tmp_path / "meminfo").mem_pct() == 0.0


def test_a_hybrid_layout_gives_cpu_from_unified_and_mem_from_psutil(tmp_path, four_cpus):
    # v1 controllers with a v2 mount beside them (the lab's controller): no memory.current there.
    root = fake_cgroup(tmp_path / "unified", usage_usec=0)
    clock = Clock()
    sampler = LiveSampler(1, "c1", cgroup_root=tmp_path, container=True, clock=clock)
    assert (sampler.cgroup.root, sampler.cgroup.cpu, sampler.cgroup.mem) == (root, True, False)
    assert sampler.basis == f"cpu_pct of cgroup {root}, mem_pct of the machine (psutil)"
    clock.now, _ = 101.0, usage(root, 500_000)
    cpu, mem = cpu_and_mem(sampler.sample())
    assert cpu == "12.50" and 0 <= float(mem) <= 100


@pytest.mark.parametrize("container, make_files", [(True, False), (False, True)], ids=["no-files", "no-container"])
def test_psutil_when_the_files_are_absent_or_not_in_a_container(tmp_path, container, make_files):
    if make_files:
        fake_cgroup(tmp_path, current=MIB)
    sampler = LiveSampler(0.1, cgroup_root=tmp_path, container=container)
    assert sampler.cgroup is None
    assert sampler.basis == "cpu_pct of the machine (psutil), mem_pct of the machine (psutil)"
    time.sleep(0.1)
    row = sampler.sample()
    assert row.server_id == socket.gethostname().split(".")[0]
    assert all(0 <= float(v) <= 100 for v in cpu_and_mem(row))


def test_unreadable_or_garbled_files_fall_back_to_psutil(tmp_path):
    fake_cgroup(tmp_path, current=MIB)
    (tmp_path / "cpu.stat").write_text("user_usec 5\n")          # no usage_usec
    (tmp_path / "memory.current").write_text("lots\n")
    usage_of = CgroupUsage(tmp_path)
    assert (usage_of.cpu, usage_of.mem) == (False, False)


@pytest.mark.parametrize("files, expected", [
    ({}, False),
    ({"run/systemd/container": "systemd-nspawn\n"}, True),
    ({"run/systemd/container": ""}, False),
    ({".dockerenv": ""}, True),
    ({"run/.containerenv": ""}, True),
    ({"proc/1/environ": "PATH=/bin\0container=lxc\0"}, True),
    ({"proc/1/environ": "PATH=/bin\0container=\0"}, False),
])
def test_a_container_is_known_by_its_managers_marker(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert in_container(tmp_path) is expected
