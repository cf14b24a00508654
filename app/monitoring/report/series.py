"""What the report shows, prepared from the team CSVs' rows: pure functions, no files, no plotting.

Time: a team CSV's window times are as the data file's ts were (HH:MM:SS, or dated). A server's rows
are in series order, so each server's times are read in file order through the pipeline's one clock
(monitoring.core.timeline.SeriesClock: a time more than 12 hours earlier has crossed midnight), and a
server's first window is put on the day nearest the report's first window (as a second hand-written
CSV is in the jobs). Nothing is sorted by the clock strings.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..core.timeline import FULL, TIME_ONLY, SeriesClock, format_seconds, nearest_day_shift, parse_ts
from ..wiring import Job
from .team_csv import ReportInputError, TeamFile, WindowRow

# A heatmap cell's code: what happened in that window, most severe last.
NO_ALERT, SECOND_ONLY, FIRST_ONLY, BOTH = range(4)


def kind_codes(job: Job) -> dict[str, int]:
    """The job's alert labels -> their heatmap code ("" is no alert)."""
    return {"": NO_ALERT, job.labels.second_only: SECOND_ONLY, job.labels.first_only: FIRST_ONLY,
            job.labels.both: BOTH}


def kinds(job: Job) -> tuple[str, str, str]:
    """The job's alert labels, most severe first (the order counts are shown in)."""
    return (job.labels.both, job.labels.first_only, job.labels.second_only)


@dataclass(frozen=True)
class JobView:
    """One team CSV with each row's window start as seconds on one time line (parallel to rows)."""
    job: Job
    rows: tuple[WindowRow, ...]
    times: tuple[int, ...]
    kind: str                    # TIME_ONLY or FULL
    by_server: dict = field(default_factory=dict, compare=False)   # server -> its row indexes, in order


def window_times(rows: Iterable[WindowRow], reference: int | None = None) -> tuple[list[int], str, int | None]:
    """Each row's window start in seconds, the time kind, and the reference (the first time-only
    window, on day 0) that later files are placed beside."""
    clocks: dict[str, SeriesClock] = {}
    shifts: dict[str, int] = {}
    out, kind = [], TIME_ONLY
    for row in rows:
        stamp = parse_ts(row.start)
        kind = stamp.kind
        clock = clocks.setdefault(row.server, SeriesClock())
        t = clock.event_time(stamp)
        if row.server not in shifts:
            if stamp.kind == FULL:
                shifts[row.server] = 0
            else:
                if reference is None:
                    reference = t
                shifts[row.server] = nearest_day_shift(reference, t)
        out.append(t + shifts[row.server])
    return out, kind, reference


def job_views(files: Sequence[TeamFile]) -> list[JobView]:
    """The files on one time line, the first file's first window as the reference."""
    views, reference, first = [], None, None
    for f in files:
        times, kind, reference = window_times(f.rows, reference)
        if f.rows and first is None:
            first = (f, kind)
        elif f.rows and kind != first[1]:
            raise ReportInputError(f"{f.path}: its windows are {'dated' if kind == FULL else 'time only'}, those of "
                                   f"{first[0].path} {'dated' if first[1] == FULL else 'time only'}")
        by_server: dict[str, list[int]] = {}
        for i, r in enumerate(f.rows):
            by_server.setdefault(r.server, []).append(i)
        views.append(JobView(f.job, f.rows, tuple(times), kind, by_server))
    return views


def alert_counts(view: JobView) -> dict[str, int]:
    """Windows per alert kind, every kind of the job listed (0 when none), most severe first."""
    counted = Counter(r.alert for r in view.rows if r.alert)
    return {k: counted.get(k, 0) for k in kinds(view.job)} | {k: n for k, n in counted.items() if k not in kinds(view.job)}


def servers(views: Iterable[JobView]) -> list[str]:
    """Every server, in the order the files first name them (the team CSVs' order)."""
    seen: dict[str, None] = {}
    for v in views:
        for r in v.rows:
            seen.setdefault(r.server, None)
    return list(seen)


def alerts_per_server(views: Sequence[JobView]) -> dict[str, int]:
    """Windows with an alert, of either job, per server (every server, 0 included)."""
    totals = dict.fromkeys(servers(views), 0)
    for v in views:
        for r in v.rows:
            if r.alert:
                totals[r.server] += 1
    return totals


def top_servers(views: Sequence[JobView], n: int) -> list[tuple[str, int]]:
    """The n servers with most alert windows; ties in the files' order."""
    totals = alerts_per_server(views)
    order = {s: i for i, s in enumerate(totals)}
    return sorted(totals.items(), key=lambda item: (-item[1], order[item[0]]))[:n]


@dataclass(frozen=True)
class ServerSeries:
    times: tuple[int, ...]
    first: tuple[float | None, ...]
    second: tuple[float | None, ...]
    alerts: tuple[str, ...]


def server_series(view: JobView, server: str) -> ServerSeries:
    """One server's windows of one job, in series order."""
    picked = [(view.times[i], view.rows[i]) for i in view.by_server.get(server, ())]
    return ServerSeries(tuple(t for t, _ in picked), tuple(r.first for _, r in picked),
                        tuple(r.second for _, r in picked), tuple(r.alert for _, r in picked))


@dataclass(frozen=True)
class Heatmap:
    servers: tuple[str, ...]             # rows
    starts: tuple[int, ...]              # each column's first window start
    codes: tuple[tuple[int, ...], ...]   # [server][column]: the most severe alert code in the column


def heatmap(view: JobView, order: Sequence[str], max_columns: int = 1200) -> Heatmap:
    """Servers x time of the job's alert kinds. With more windows than max_columns, a column holds
    several consecutive windows and shows the most severe alert among them."""
    grid = sorted(set(view.times))
    per_column = max(1, -(-len(grid) // max_columns))
    column_of = {t: i // per_column for i, t in enumerate(grid)}
    columns = -(-len(grid) // per_column) if grid else 0
    row_of = {s: i for i, s in enumerate(order)}
    cells = [[NO_ALERT] * columns for _ in order]
    codes = kind_codes(view.job)
    for t, r in zip(view.times, view.rows):
        if r.server in row_of:
            c = column_of[t]
            cells[row_of[r.server]][c] = max(cells[row_of[r.server]][c], codes.get(r.alert, BOTH))
    return Heatmap(tuple(order), tuple(grid[::per_column]), tuple(tuple(row) for row in cells))


def format_time(seconds: int, kind: str, days: bool) -> str:
    """A window start for an axis or a table: HH:MM:SS, with its day (d1, d2...) when a time-only
    series spans more than one; a dated one as written."""
    if kind == FULL:
        return format_seconds(seconds, FULL)
    text = format_seconds(seconds, TIME_ONLY)
    return f"d{seconds // 86_400 + 1} {text}" if days else text


def spans_days(views: Sequence[JobView]) -> bool:
    """Does a time-only report cross midnight (its times then need their day)?"""
    times = [t for v in views for t in v.times]
    return bool(times) and views[0].kind == TIME_ONLY and min(times) // 86_400 != max(times) // 86_400
