"""What /proc says: a process's state and start time, pid namespace members, mount points."""

import os


def proc_stat(pid):
    """(state, starttime, comm) of a pid, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    comm = data[data.index("(") + 1:data.rindex(")")]
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], rest[19], comm


def alive(pid, start=None):
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return start is None or st[1] == start


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pidns_members(leader):
    """[(pid, starttime)] of the processes in the pid namespace of `leader`."""
    try:
        ns = os.readlink(f"/proc/{leader}/ns/pid")
    except OSError:
        return set()
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/ns/pid") == ns:
                    st = proc_stat(d)
                    if st:
                        out.add((int(d), st[1]))
            except OSError:
                pass
    return out


def mountpoints():
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            out.add(line.split()[4].replace("\\040", " "))
    return out


def is_mounted(path):
    return os.path.realpath(path) in mountpoints()
