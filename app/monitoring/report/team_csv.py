"""Reading a team CSV (or a live CSV, same columns): its rows in file order, checked, one clear line when not."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.timeline import FULL, TimestampError, parse_ts
from ..wiring import Job


class ReportInputError(Exception):
    """A team CSV that cannot be read as one: the message names the file and the line."""


@dataclass(frozen=True)
class WindowRow:
    server: str
    start: str                 # as written: HH:MM:SS or YYYY-MM-DD HH:MM:SS
    end: str
    first: float | None        # the job's first aggregate (avg_cpu, max_net_in); None when empty
    second: float | None
    alert: str                 # "" when none


@dataclass(frozen=True)
class TeamFile:
    job: Job
    path: Path
    rows: tuple[WindowRow, ...]


# The jobs write plain decimals (two of them): float() alone would take nan, inf and 1e308 too,
# which drew no figure (inf) or a wrong one.
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def _value(text: str, path: Path, line: int, column: str) -> float | None:
    if text == "":
        return None
    if text.startswith("-") and _DECIMAL.fullmatch(text[1:]):
        raise ReportInputError(f"{path}: line {line}: {column} is negative ({text[:40]!r})")
    if not _DECIMAL.fullmatch(text):
        raise ReportInputError(f"{path}: line {line}: {column} is not a number ({text[:40]!r})")
    return float(text)


def _form(kind: str) -> str:
    return "dated" if kind == FULL else "time only"


def read_team_file(path: Path, job: Job) -> TeamFile:
    """All rows of `path` in file order (a server's rows are in series order, which may cross
    midnight: the clock strings are never sorted)."""
    header = list(job.header)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            first_line = next(reader, None)
            if first_line is None:
                raise ReportInputError(f"{path}: empty (no header, no rows)")
            got = [name.strip() for name in first_line]
            if got != header:
                raise ReportInputError(f"{path}: header is {','.join(got)[:120]!r}, expected {','.join(header)!r}")
            rows, kind = [], None
            for line, fields in enumerate(reader, 2):
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise ReportInputError(f"{path}: line {line}: {len(fields)} fields where {len(header)} are expected")
                server, start, end, first, second, alert = (x.strip() for x in fields)
                if not server:
                    raise ReportInputError(f"{path}: line {line}: {header[0]} is empty")
                for column, stamp in zip(header[1:3], (start, end)):
                    try:
                        parsed = parse_ts(stamp)
                    except TimestampError as exc:
                        raise ReportInputError(f"{path}: line {line}: {exc}") from None
                    if kind is not None and parsed.kind != kind:
                        # One clock throughout, as in the data file: mixed, the windows were days apart.
                        raise ReportInputError(f"{path}: line {line}: {column} {stamp!r} is {_form(parsed.kind)}, "
                                               f"the rows before it {_form(kind)}")
                    kind = parsed.kind
                rows.append(WindowRow(server, start, end, _value(first, path, line, job.first.out),
                                      _value(second, path, line, job.second.out), alert))
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file (run the Spark jobs first: run-analysis.yml)") from None
    except csv.Error as exc:  # a NUL byte, as a half-written file may hold
        raise ReportInputError(f"{path}: not CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ReportInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return TeamFile(job, path, tuple(rows))
