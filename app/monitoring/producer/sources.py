"""Where rows come from: the data file (line by line, bad rows reported) or this machine, live."""
from __future__ import annotations

import csv
import hashlib
import logging
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

from ..core.records import COLUMNS, MetricRow, RowError, header_columns, parse_row, server_text
from .cgroup_usage import CGROUP_ROOT, CgroupUsage, in_container, v2_root

log = logging.getLogger("producer")


class DataFileError(Exception):
    """The data file as a whole cannot be read."""


def file_rows(path: Path):
    """Yield (line number, MetricRow or RowError) for each data line of a CSV data file.

    A UTF-8 byte-order mark, CRLF line ends and a header in any column order are accepted. The
    first row fixes the ts form; a row in the other form is rejected rather than mixing clocks.
    """
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataFileError(f"data file {path}: no such file") from None
    except OSError as exc:
        raise DataFileError(f"data file {path}: cannot open it ({exc.strerror})") from None
    with handle:
        columns = COLUMNS
        ts_kind = None
        first = True  # the first line with content may be a header, even after blank lines
        try:
            reader = csv.reader(handle)
            for fields in reader:
                line_no = reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue  # blank lines carry nothing
                if first:
                    first = False
                    named = header_columns(fields)
                    if named is not None:
                        columns = named
                        continue
                try:
                    row = parse_row(fields, columns, ts_kind)
                except RowError as exc:
                    yield line_no, exc
                    continue
                ts_kind = ts_kind or row.stamp.kind
                yield line_no, row
        except UnicodeDecodeError as exc:
            raise DataFileError(f"data file {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except csv.Error as exc:
            raise DataFileError(f"data file {path}: not CSV ({exc})") from None


def file_digest(path: Path) -> str:
    """The first 16 hex digits of the file's SHA-256: names the data file in each message's origin."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:16]


def hostname_server_id(hostname: str) -> str:
    """The server id the live source gives a host's rows: its hostname's first label. Raises
    RowError when that is not a valid server id."""
    return server_text(hostname.split(".")[0])


class LiveSampler:
    """Samples this machine every `interval` seconds, as rows named by its hostname.

    Units: cpu_pct and mem_pct in percent; net_in, net_out and disk_io in kilobytes per second
    (disk_io counts bytes read plus written) over the last interval.

    The rule for cpu_pct and mem_pct: inside a container (in_container(): a marker its manager leaves),
    each is the container's own, read from the cgroup-v2 files under `cgroup_root` (its unified/ on a
    hybrid layout) when they can be read (CgroupUsage says how); otherwise psutil's, the whole machine's.
    Net and disk are psutil's always (the net counters are already the network namespace's own).
    """

    def __init__(self, interval: float, server_id: str | None = None, cgroup_root: Path = CGROUP_ROOT,
                 container: bool | None = None, clock=time.monotonic):
        import psutil  # only the live source needs it

        self.psutil = psutil
        self.interval = interval
        self.clock = clock
        self.server_id = server_text(server_id) if server_id else hostname_server_id(socket.gethostname())
        root = v2_root(Path(cgroup_root))
        inside = in_container() if container is None else container
        self.cgroup = CgroupUsage(root) if inside and root is not None else None
        now = clock()
        if self.cgroup and self.cgroup.cpu:
            self.cgroup.cpu_pct(now)  # the first call only primes the counter
        else:
            psutil.cpu_percent(interval=None)  # likewise
        self._last = (now, psutil.net_io_counters(), psutil.disk_io_counters())

    @property
    def basis(self) -> str:
        """Where cpu_pct and mem_pct come from, for the log."""
        cg = self.cgroup

        def of(from_cgroup) -> str:
            return f"cgroup {cg.root}" if from_cgroup else "the machine (psutil)"

        return f"cpu_pct of {of(cg and cg.cpu)}, mem_pct of {of(cg and cg.mem)}"

    def sample(self) -> MetricRow:
        ps, cg = self.psutil, self.cgroup
        now, net, disk = self.clock(), ps.net_io_counters(), ps.disk_io_counters()
        then, net0, disk0 = self._last
        self._last = (now, net, disk)
        span = max(now - then, 1e-3)
        disk_bytes = 0.0
        if disk is not None and disk0 is not None:
            disk_bytes = (disk.read_bytes - disk0.read_bytes) + (disk.write_bytes - disk0.write_bytes)
        fields = [
            # The sample's event time, in UTC as the contract reads a dated ts.
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            self.server_id,
            f"{cg.cpu_pct(now) if cg and cg.cpu else ps.cpu_percent(interval=None):.2f}",
            f"{cg.mem_pct() if cg and cg.mem else ps.virtual_memory().percent:.2f}",
            f"{max(0, net.bytes_recv - net0.bytes_recv) / 1024 / span:.2f}",
            f"{max(0, net.bytes_sent - net0.bytes_sent) / 1024 / span:.2f}",
            f"{max(0.0, disk_bytes) / 1024 / span:.2f}",
        ]
        return parse_row(fields)
