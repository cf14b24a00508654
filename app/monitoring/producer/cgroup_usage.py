"""A container's own CPU and memory use, from the cgroup-v2 files it sees. Inside a container psutil
reads the machine's /proc/stat and /proc/meminfo: a CPU burn in one container would raise every
container's cpu_pct."""
from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
MEMINFO = Path("/proc/meminfo")
READ_ERRORS = (OSError, ValueError, KeyError, ZeroDivisionError)


def in_container(fs_root: Path = Path("/")) -> bool:
    """What container managers leave for the processes inside: systemd-nspawn (and systemd inside LXC or
    podman) writes /run/systemd/container; LXC and podman set container= in PID 1's environment (readable
    as root only); Docker leaves /.dockerenv, podman /run/.containerenv."""
    try:
        if (fs_root / "run/systemd/container").read_text().strip():
            return True
    except OSError:
        pass
    if (fs_root / ".dockerenv").exists() or (fs_root / "run/.containerenv").exists():
        return True
    try:
        environ = (fs_root / "proc/1/environ").read_bytes()
    except OSError:
        return False
    return any(v.startswith(b"container=") and len(v) > len(b"container=") for v in environ.split(b"\0"))


def v2_root(root: Path) -> Path | None:
    """`root` when it is a cgroup-v2 mount; on a hybrid layout (v1 controllers, v2 beside them) its
    unified/ folder; None on a v1-only layout."""
    for path in (root, root / "unified"):
        if (path / "cgroup.controllers").is_file():
            return path
    return None


def _clamp(pct: float) -> float:
    return min(100.0, max(0.0, pct))


class CgroupUsage:
    """cpu_pct and mem_pct of the cgroup at `root`, in percent, clamped to [0, 100].

    cpu: cpu.stat's usage_usec over the wall time between two calls, divided by the CPUs the cgroup may
    use (cpu.max's quota/period when set, at most the CPUs this process may run on). mem: memory.current
    less memory.stat's inactive_file (page cache the kernel reclaims first) over memory.max, or MemTotal
    when memory.max is 'max' (or above MemTotal). `cpu` and `mem` say which of them the files allow.
    """

    def __init__(self, root: Path, meminfo: Path = MEMINFO):
        self.root, self.meminfo = Path(root), Path(meminfo)
        self._last = None
        self.cpu = self._readable(self._usage_usec)
        self.mem = self._readable(self.mem_pct)

    @staticmethod
    def _readable(read) -> bool:
        try:
            read()
        except READ_ERRORS:
            return False
        return True

    def _flat(self, name: str) -> dict:
        pairs = (line.split() for line in (self.root / name).read_text().splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2}

    def _usage_usec(self) -> int:
        return self._flat("cpu.stat")["usage_usec"]

    def cpus(self) -> float:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            n = os.cpu_count() or 1
        try:
            quota, period = (self.root / "cpu.max").read_text().split()
        except (OSError, ValueError):  # no cpu controller in this cgroup: no quota
            return n
        return n if quota == "max" else min(n, int(quota) / int(period))

    def cpu_pct(self, now: float) -> float:
        """Over the time since the previous call, `now` a monotonic clock's seconds; the first call
        only primes the counter (0.0)."""
        usage = self._usage_usec()
        last, self._last = self._last, (now, usage)
        if last is None or now <= last[0]:
            return 0.0
        return _clamp((usage - last[1]) / ((now - last[0]) * 1e6 * self.cpus()) * 100)

    def mem_pct(self) -> float:
        used = int((self.root / "memory.current").read_text()) - self._flat("memory.stat")["inactive_file"]
        limit = self._mem_total()
        raw = (self.root / "memory.max").read_text().strip()
        if raw != "max":
            limit = min(limit, int(raw))
        return _clamp(used / limit * 100)

    def _mem_total(self) -> int:
        for line in self.meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024  # the file says kB: KiB
        raise KeyError("MemTotal")
