"""Each host's own cgroup-v2 group, so that what one host runs is counted to it alone.

systemd-nspawn started with --keep-unit --register=no leaves the container in the cgroup it was started
in: without this, every lab host would share the controller's group, and the live source's cpu_pct (read
from the container's cgroup, app/monitoring/producer/cgroup_usage.py) would rise on every host when one
burns CPU. The group is made beside the lab's process (under its own v2 group, on a pure v2 or a hybrid
layout) and the nspawn process moves itself into it before it starts (move_self, in the child)."""

import os

from .shell import log

V2_MOUNTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")


def _v2_mount():
    for path in V2_MOUNTS:
        if os.path.isfile(os.path.join(path, "cgroup.controllers")):
            return path
    return None


def _own_v2_path():
    """This process's v2 group, as /proc/self/cgroup names it (the '0::' line)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    return None


def _group_path(name):
    """Where host `name`'s group is (beside this process, in its v2 group), or None without cgroup v2."""
    mount, own = _v2_mount(), _own_v2_path()
    if mount is None or own is None:
        return None
    return os.path.join(mount, own.lstrip("/"), f"mlab-{name}")


def host_group(name):
    """The folder of host `name`'s group (made when missing), or None when this machine has no
    cgroup v2 the lab may write to: the host then shares the lab's group, as before (logged)."""
    path = _group_path(name)
    if path is None:
        log(f"{name}: no cgroup v2 here: the host shares the lab's cgroup (its live cpu_pct is the lab's)")
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        log(f"{name}: cannot make the cgroup {path} ({exc}): the host shares the lab's cgroup")
        return None
    return path


def move_self(path):
    """In the child before exec: move this process into the group at `path` (what it starts follows)."""
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write("0")


def remove_group(name):
    """Remove host `name`'s group once its processes are gone (rmdir of an empty group; best effort)."""
    path = _group_path(name)
    if path is None:
        return
    try:
        for sub in sorted((d for d, _, _ in os.walk(path)), key=len, reverse=True):
            os.rmdir(sub)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log(f"WARNING: {name}: its cgroup {path} is left ({exc})")
