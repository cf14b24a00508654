"""`monitoring report`: the team CSVs (and the live CSVs, when there) -> report.html beside them."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from ..core.config import Config
from ..wiring import JOBS, REPORT_FILE, MetricInput
from . import figures, page
from .series import (JobView, alert_counts, alerts_per_server, format_time, heatmap, job_views, kind_codes,
                     server_series, servers, spans_days, top_servers)
from .team_csv import ReportInputError, read_team_file

log = logging.getLogger("report")

# Small multiples for this many servers at most (those with most alerts); the heatmap shows all.
DEFAULT_TOP = 24


@dataclass(frozen=True)
class Run:
    """What the report states about the run besides the rows."""
    team: str
    thresholds: dict[str, float]     # team CSV column -> its threshold
    window: str
    data_file: str | None            # None: not known (a --dir without --data)
    data_digest: str | None


def _run(cfg: Config, data_file: Path | None, data_digest: str | None, own_output: bool = True) -> Run:
    """`own_output`: the report is of the config's own output_dir, whose run replayed its data_file.
    Another folder's run (--dir) may be of any data file: without --data, none is claimed."""
    from ..producer.sources import file_digest

    thresholds = {m.out: getattr(cfg.thresholds, m.threshold_key) for job in JOBS.values()
                  for m in (job.first, job.second)}
    window = f"{cfg.window.duration_seconds} s sliding by {cfg.window.slide_seconds} s"
    if data_file is None and not own_output:
        return Run(cfg.team_number, thresholds, window, None, data_digest or None)
    data = data_file or cfg.data_file
    if not data_digest:
        try:
            data_digest = file_digest(data)
        except OSError:
            data_digest = "not available here"
    return Run(cfg.team_number, thresholds, window, str(data), data_digest)


def _panels(views: list[JobView], server: str, thresholds: dict[str, float], tops: dict[str, float]):
    panels = []
    for v in views:
        s = server_series(v, server)
        labels = v.job.labels
        for metric, values, hits in ((v.job.first, s.first, (labels.first_only, labels.both)),
                                     (v.job.second, s.second, (labels.second_only, labels.both))):
            panels.append((metric.out, s.times, values, thresholds[metric.out], [a in hits for a in s.alerts],
                           tops[metric.out]))
    return panels


def _y_tops(views: list[JobView], thresholds: dict[str, float]) -> dict[str, float]:
    """One y scale per metric for every server, so panels compare at a glance."""
    tops = {}
    for v in views:
        for index, metric in ((0, v.job.first), (1, v.job.second)):
            values = [(r.first, r.second)[index] for r in v.rows]
            tops[metric.out] = 1.08 * max([x for x in values if x is not None] + [thresholds[metric.out]])
    return tops


def _metric_name(m: MetricInput) -> str:
    return f"{m.aggregate} of {m.metric}"


def _sections(views: list[JobView], run: Run, top: int, prefix: str, heading: str) -> list[str]:
    days = spans_days(views)
    kind = views[0].kind
    names = servers(views)
    times = [t for v in views for t in v.times]
    span = f"{format_time(min(times), kind, days)} to {format_time(max(times), kind, days)}" if times else "no windows"
    params = [["team", escape(run.team)], ["window", escape(run.window)],
              ["thresholds", escape(", ".join(f"{k} > {t:g}" for k, t in run.thresholds.items()))],
              ["servers", f'<span id="{prefix}-server-count">{len(names)}</span>'],
              ["windows", escape(span)]]
    params += [[escape(v.job.output_name(run.team) if prefix == "team" else v.job.live_csv),
                f"{len(v.rows)} rows ({escape(_metric_name(v.job.first))}, {escape(_metric_name(v.job.second))})"]
               for v in views]
    params += [["data file", f"<code>{escape(run.data_file)}</code>" if run.data_file is not None
                else "not given (use --data)"],
               ["data file digest", f"<code>{escape(run.data_digest)}</code>" if run.data_digest is not None
                else "not given (use --data or --data-digest)"]]
    out = [page.section(f"{prefix}-run", f"{heading}: the run", page.table(["", ""], params))]

    counts = "".join(page.counts_table(v.job.output_name(run.team) if prefix == "team" else v.job.live_csv,
                                       alert_counts(v), kind_codes(v.job)) for v in views)
    totals = alerts_per_server(views)
    ranked = [s for s in top_servers(views, 10) if s[1] > 0]
    per_job = [{s: sum(1 for i in v.by_server.get(s, ()) if v.rows[i].alert) for s, _ in ranked} for v in views]
    most = (page.table(["server", "alert windows", *(v.job.suffix for v in views)],
                       [[escape(s), str(n), *(str(p[s]) for p in per_job)] for s, n in ranked], {1, 2, 3})
            if ranked else '<p class="note" id="' + prefix + '-no-alert">none: no server had an alert</p>')
    out.append(page.section(f"{prefix}-alerts", f"{heading}: alerts",
                            f'<div class="grid">{counts}<div><h3>servers with most alerts</h3>{most}</div></div>',
                            f"{sum(totals.values())} windows with an alert; {sum(1 for n in totals.values() if n)} "
                            f"of {len(names)} servers had one."))

    maps = "".join(f"<h3>{escape(v.job.suffix)}</h3>"
                   + page.image(figures.alert_heatmap(heatmap(v, names), v.job, kind, days), f"heatmap {v.job.suffix}")
                   for v in views)
    out.append(page.section(f"{prefix}-heatmap", f"{heading}: alerts of every server over time", maps,
                            "One row per server, one column per window (several when there are many); "
                            "the colour is the most severe alert in it."))

    # Too many servers for a panel each: those with most alerts, most first (the heatmap has them all).
    shown = [s for s, _ in top_servers(views, top)] if len(names) > top else names
    tops = _y_tops(views, run.thresholds)
    multiples = "".join(
        f'<div class="server" data-server="{escape(s)}"><h3>{escape(s)} '
        f'<span class="note">{totals[s]} alert windows</span></h3>'
        + page.image(figures.metric_panels(_panels(views, s, run.thresholds, tops), kind, days), f"metrics of {s}")
        + "</div>" for s in shown)
    note = ("Every server. " if len(shown) == len(names) else
            f"The {len(shown)} of {len(names)} servers with most alerts (the heatmap above shows all). ")
    out.append(page.section(f"{prefix}-servers", f"{heading}: metrics per server", multiples,
                            note + "Dashed: the threshold; shaded: the windows with an alert on that metric."))
    return out


def _live_views(folder: Path) -> tuple[list[JobView], list[tuple[Path, str]]]:
    """The live CSVs that can be read, on one time line, and (path, problem) for each left out. A
    live CSV is a stream job's, maybe still being written: a problem in it is no reason to refuse the
    report of the team CSVs (the graded ones). Each left out gets one warning line."""
    files, views, left_out = [], [], []
    for job in JOBS.values():
        path = folder / job.live_csv
        if not path.exists():
            continue
        try:
            read = read_team_file(path, job)
            # Refused if its windows are not of the same clock form as the other live CSV's.
            joined = job_views([*files, read])
        except ReportInputError as exc:
            problem = str(exc).removeprefix(f"{path}: ")
            log.warning("%s left out of the report: %s", path, problem)
            left_out.append((path, problem))
            continue
        files.append(read)
        views = joined
    return views, left_out


def _left_out_section(left_out: list[tuple[Path, str]]) -> str:
    items = "".join(f'<li><code>{escape(path.name)}</code> was left out: {escape(problem)}</li>'
                    for path, problem in left_out)
    return page.section("live-left-out", "Live windows: left out", f"<ul>{items}</ul>",
                        "A live CSV is the stream job's and may still be being written; the batch analysis "
                        "above (the team CSVs) does not depend on it.")


def build(cfg: Config, folder: Path | None = None, data_file: Path | None = None, data_digest: str | None = None,
          top: int = DEFAULT_TOP) -> Path:
    """Write report.html into `folder` (default: the config's output_dir) and return its path."""
    own = folder is None or Path(folder).resolve() == Path(cfg.output_dir).resolve()
    run = _run(cfg, data_file, data_digest, own_output=own)
    folder = Path(folder or cfg.output_dir)
    team = job_views([read_team_file(folder / job.output_name(cfg.team_number), job) for job in JOBS.values()])
    if not any(v.rows for v in team):
        raise ReportInputError(f"{folder}: the team CSVs hold no rows")
    sections = _sections(team, run, top, "team", "Batch analysis")
    live, left_out = _live_views(folder)
    if left_out:
        sections.append(_left_out_section(left_out))
    if any(v.rows for v in live):
        sections += _sections(live, run, top, "live", "Live windows")
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    html = page.document(f"Team {cfg.team_number}: server monitoring report",
                         f"from {folder.name or folder}/, made {generated}", sections)
    out = folder / REPORT_FILE
    try:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise ReportInputError(f"{out}: cannot write it ({exc.strerror or exc})") from None
    log.info("wrote %s (%d KiB): %d servers, %d team rows", out, len(html) // 1024, len(servers(team)),
             sum(len(v.rows) for v in team))
    return out
