"""The dashboard's charts: one metric's last minutes for every server, drawn with matplotlib as a PNG."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after the backend is chosen)

from .state import Board  # noqa: E402

LEGEND_AT_MOST = 12   # servers named in the legend; more are lines without names


def metric_chart(board: Board, metric: str) -> bytes:
    fig = Figure(figsize=(3.6, 2.3), dpi=96)   # no pyplot: nothing global, safe in worker threads
    ax = fig.add_subplot()
    series = board.history.get(metric, {})
    latest = board.latest or 0
    earliest = min((points[0][0] for points in series.values() if points), default=latest)
    named = len(series) <= LEGEND_AT_MOST
    top = board.thresholds[metric]
    for server in sorted(series):
        points = series[server]
        ax.plot([(t - latest) / 60 for t, _ in points], [v for _, v in points], linewidth=1,
                label=server if named else None)
        top = max([top] + [v for _, v in points])
    ax.axhline(board.thresholds[metric], color="#cc3311", linestyle="--", linewidth=1)
    columns = 4
    rows = -(-len(series) // columns) if named else 0
    ax.set_title(metric, loc="left", fontsize=10, pad=6 + 10 * rows)
    if rows:  # above the plot, under the title: it hides no line
        ax.legend(fontsize=6.5, ncol=columns, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0),
                  borderaxespad=0.2, handlelength=1.2, columnspacing=0.8)
    ax.set_xlabel("minutes before the latest row", fontsize=8)
    # The last minutes that hold rows (at least one, at most the history kept).
    span = min(board.history_seconds, max(60, latest - earliest))
    ax.set_xlim(-span / 60, 0)
    ax.set_ylim(0, top * 1.1 or 1)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
