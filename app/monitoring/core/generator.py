"""A deterministic generator of realistic server metrics, with bursts that trip every alert.

Only random.Random.random() is used: its sequence for a given seed is stable across Python
versions, so the same arguments always give the same file, byte for byte.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .records import COLUMNS
from .timeline import TIME_ONLY, format_seconds, parse_ts

# Burst kinds and the metrics each one pushes past the default thresholds (80/85/5000/1500).
BURST_KINDS = ("cpu", "mem", "cpu+mem", "net", "disk", "net+disk")


@dataclass(frozen=True)
class Spec:
    servers: int = 20
    hours: float = 2.0
    interval: int = 5
    start: str = "10:00:00"
    seed: int = 42


@dataclass
class _Server:
    cpu: float
    mem: float
    net_in: float
    net_out: float
    disk: float
    base: tuple


def _bursts(rng: random.Random, spec: Spec, steps: int) -> dict:
    """(server index, step) -> burst kind; about three bursts per server, kinds taken in turn."""
    out = {}
    kind_i = 0
    for s in range(spec.servers):
        for _ in range(3):
            length = 6 + int(rng.random() * 18)  # 30 s to 2 min at 5 s steps
            first = int(rng.random() * max(1, steps - length))
            kind = BURST_KINDS[kind_i % len(BURST_KINDS)]
            kind_i += 1
            for step in range(first, min(steps, first + length)):
                out[(s, step)] = kind
    return out


def _between(rng: random.Random, low: float, high: float) -> float:
    return low + (high - low) * rng.random()


def rows(spec: Spec = Spec()):
    """Yield the data file's rows (tuples of text, header excluded), in time order."""
    rng = random.Random(spec.seed)
    start = parse_ts(spec.start)
    steps = int(spec.hours * 3600 // spec.interval)
    servers = []
    for _ in range(spec.servers):
        base = (_between(rng, 15, 55), _between(rng, 30, 65), _between(rng, 400, 2500),
                _between(rng, 200, 1800), _between(rng, 100, 900))
        servers.append(_Server(*base, base=base))
    bursts = _bursts(rng, spec, steps)
    for step in range(steps):
        ts = format_seconds(start.seconds + step * spec.interval, start.kind)
        for i, srv in enumerate(servers):
            kind = bursts.get((i, step), "")
            # A random walk pulled back towards the server's own baseline.
            srv.cpu += (srv.base[0] - srv.cpu) * 0.3 + _between(rng, -6, 6)
            srv.mem += (srv.base[1] - srv.mem) * 0.1 + _between(rng, -2, 2)
            srv.net_in += (srv.base[2] - srv.net_in) * 0.3 + _between(rng, -300, 300)
            srv.net_out += (srv.base[3] - srv.net_out) * 0.3 + _between(rng, -200, 200)
            srv.disk += (srv.base[4] - srv.disk) * 0.3 + _between(rng, -120, 120)
            cpu, mem, net_in, disk = srv.cpu, srv.mem, srv.net_in, srv.disk
            if "cpu" in kind:
                cpu = _between(rng, 84, 99.5)
            if "mem" in kind:
                mem = _between(rng, 87, 98)
            if "net" in kind:
                net_in = _between(rng, 5600, 9800)
            if "disk" in kind:
                disk = _between(rng, 1600, 2600)
            yield (ts, f"server_{i + 1}",
                   f"{min(100.0, max(0.0, cpu)):.2f}", f"{min(100.0, max(0.0, mem)):.2f}",
                   f"{max(0.0, net_in):.2f}", f"{max(0.0, srv.net_out):.2f}", f"{max(0.0, disk):.2f}")


def header() -> tuple:
    return COLUMNS

