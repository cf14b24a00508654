"""The lab's Kafka mirror: the archives of build/kafka (`make kafka-dist`) laid out as Apache's download
site lays them out (kafka/<version>/kafka_<scala>-<version>.tgz and its .sha512 in gpg's print-md layout),
served over HTTP on the bridge's address only, so the kafka role's download path (kafka_mirror) runs as on
real machines. The server is Python's http.server, a process of its own: `up` starts it, `down` stops it by
its PID (and start time, so a reused PID is never signalled)."""

import glob
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from .network import GATEWAY
from .paths import LAB_DIR, REPO
from .procs import alive, proc_stat
from .shell import LabError, log, tail

MIRROR_DIR = os.path.join(LAB_DIR, "mirror")
PID_FILE = os.path.join(LAB_DIR, "mirror.pid")
LOG_FILE = os.path.join(LAB_DIR, "mirror.log")
PORT = 8213
URL = f"http://{GATEWAY}:{PORT}/kafka"
ARCHIVES = os.path.join(REPO, "build", "kafka")
_ARCHIVE_NAME = re.compile(r"^kafka_[0-9.]+-([0-9]+\.[0-9]+\.[0-9]+)\.tgz$")


def print_md(name, digest):
    """`gpg --print-md SHA512 NAME` as Apache publishes it: the name, then the digest in upper-case
    groups of eight hex digits, wrapped under the first group so that no line passes column 79."""
    groups = [digest[i:i + 8].upper() for i in range(0, len(digest), 8)]
    indent = len(name) + 2
    lines, line = [], f"{name}: {groups[0]}"
    for group in groups[1:]:
        if len(line) + 1 + len(group) > 79:
            lines.append(line)
            line = " " * indent + group
        else:
            line += " " + group
    return "\n".join(lines + [line]) + "\n"


def sha512_of(path):
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def publish(archive, mirror_dir=MIRROR_DIR):
    """Put one archive and its .sha512 into the mirror's layout; the archive's path in the mirror. A copy,
    not a link: a test that tampers with the mirror's file must not reach build/kafka's."""
    name = os.path.basename(archive)
    found = _ARCHIVE_NAME.match(name)
    if not found:
        raise LabError(f"{archive}: not named like Apache's Kafka archives (kafka_<scala>-<version>.tgz)")
    folder = os.path.join(mirror_dir, "kafka", found.group(1))
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, name)
    shutil.copyfile(archive, dest + ".tmp")
    os.replace(dest + ".tmp", dest)
    with open(dest + ".sha512", "w") as f:
        f.write(print_md(name, sha512_of(dest)))
    return dest


def _recorded():
    """(pid, start time) of the mirror's server as recorded, if that process still runs."""
    try:
        with open(PID_FILE) as f:
            pid, start = f.read().split()
    except (OSError, ValueError):
        return None
    return (int(pid), start) if alive(int(pid), start) else None


def _servers():
    """[(pid, start time)] of every process serving this checkout's mirror, recorded or not (a pid file
    lost to a crash must not leave a server behind): found by its command line."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"http.server" in argv and MIRROR_DIR.encode() in argv:
            st = proc_stat(d)
            if st and alive(int(d), st[1]):
                found.append((int(d), st[1]))
    return found


def running_pid():
    found = _recorded() or next(iter(_servers()), None)
    return found[0] if found else None


def _answers(timeout=0.5):
    try:
        with socket.create_connection((GATEWAY, PORT), timeout=timeout):
            return True
    except OSError:
        return False


def _record(pid, start):
    with open(PID_FILE, "w") as f:
        f.write(f"{pid} {start}\n")


def start():
    """Publish build/kafka's archives afresh and serve them (once: a running server is left alone)."""
    if os.path.isdir(MIRROR_DIR):
        shutil.rmtree(MIRROR_DIR)
    archives = sorted(glob.glob(os.path.join(ARCHIVES, "kafka_*.tgz")))
    for archive in archives:
        publish(archive)
    os.makedirs(MIRROR_DIR, exist_ok=True)
    names = ", ".join(os.path.basename(a) for a in archives) or "no archive yet (make kafka-dist)"
    running = _recorded() or next(iter(_servers()), None)
    if running:
        _record(*running)
        log(f"Kafka mirror at {URL} (pid {running[0]}, already running): {names}")
        return
    if _answers():
        raise LabError(f"port {PORT} on {GATEWAY} is taken by a program that is not the lab's Kafka mirror")
    with open(LOG_FILE, "w") as logf:
        p = subprocess.Popen([sys.executable, "-m", "http.server", str(PORT), "--bind", GATEWAY,
                              "--directory", MIRROR_DIR], stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, start_new_session=True)
    st = proc_stat(p.pid)
    _record(p.pid, st[1] if st else "")
    deadline = time.monotonic() + 10
    while not (_answers() and p.poll() is None):
        if p.poll() is not None or time.monotonic() > deadline:
            raise LabError(f"the Kafka mirror (http.server on {GATEWAY}:{PORT}) did not start; log "
                           f"{os.path.relpath(LOG_FILE, REPO)}", tail(LOG_FILE, 20))
        time.sleep(0.1)
    log(f"Kafka mirror at {URL} (pid {p.pid}): {names}")


def _stop_one(pid, start_time, timeout):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while alive(pid, start_time) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not alive(pid, start_time):
            return


def stop(timeout=10):
    """Stop the mirror's server (the recorded PID, and any other serving this checkout's mirror) and
    wait until it has exited; True if one ran."""
    found = set(_servers())
    recorded = _recorded()
    if recorded:
        found.add(recorded)
    for pid, start_time in sorted(found):
        _stop_one(pid, start_time, timeout)
    if os.path.exists(PID_FILE):
        os.unlink(PID_FILE)
    return bool(found)
