"""Running commands and telling the user: one line per event on stderr, one line per failure."""

import shlex
import subprocess
import sys
import time

T0 = time.monotonic()


class LabError(Exception):
    """A failure with one line for the user (and maybe some detail lines before it)."""

    def __init__(self, msg, detail=""):
        super().__init__(msg)
        self.detail = detail


def log(msg):
    print(f"lab [{time.monotonic() - T0:5.1f}s] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, quiet=False, **kw):
    """Run a command; on failure raise LabError with its stderr."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    except FileNotFoundError:
        raise LabError(f"`{cmd[0]}` not found: install it (`make lab-deps`)")
    if check and p.returncode != 0:
        err = (p.stderr or p.stdout).strip().splitlines()
        raise LabError(f"`{shlex.join(cmd)}` failed (exit {p.returncode}): {err[-1] if err else ''}",
                       "" if quiet else "\n".join(err[-20:]))
    return p


def tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""
