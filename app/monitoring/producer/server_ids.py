"""The data file's server ids, and the live hostnames that would clash with them: a live source and
the file replay naming the same server would write one series from two machines."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.records import RowError
from .sources import file_rows, hostname_server_id


@dataclass(frozen=True)
class ServerIds:
    ids: list          # distinct ids of the file's valid rows, sorted as text
    rejected: int      # rows the producer would reject too (they are never published)
    first_rejected: str


def server_ids(path: Path, first_only: bool = False) -> ServerIds:
    """Raises DataFileError (one line) when the file as a whole cannot be read. `first_only`: stop at
    the first valid row (enough to know that the file holds one)."""
    ids, rejected, first = set(), 0, ""
    for line_no, row in file_rows(path):
        if isinstance(row, RowError):
            rejected += 1
            first = first or f"line {line_no}: {row}"
            continue
        ids.add(row.server_id)
        if first_only:
            break
    return ServerIds(sorted(ids), rejected, first)


def clashing(ids, hostnames) -> list:
    """The server ids the live source on these hosts would use that the file also names, sorted.
    Raises RowError, naming the hostname, for one the live source could not name its rows after."""
    known, found = set(ids), set()
    for hostname in hostnames:
        try:
            sid = hostname_server_id(hostname)
        except RowError as exc:
            raise RowError(f"hostname {hostname!r}: {exc}") from None
        if sid in known:
            found.add(sid)
    return sorted(found)
