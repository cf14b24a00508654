"""The dashboard's charts: one metric's last minutes for every server, drawn with matplotlib as a PNG."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after the backend is chosen)

from .state import Board  # noqa: E402

LEGEND_AT_MOST = 12   # servers named in the legend; more are lines without names


def metric_chart(board: Board, metric: str) -> bytes:
    fig = Figure(figsize=(4.6, 2.2), dpi=96)   # no pyplot: nothing global, safe in worker threads
    ax = fig.add_subplot()
    series = board.history.get(metric, {})
    latest = board.latest or 0
    for server in sorted(series):
        points = series[server]
        ax.plot([(t - latest) / 60 for t, _ in points], [v for _, v in points], linewidth=1,
                label=server if len(series) <= LEGEND_AT_MOST else None)
    ax.axhline(board.thresholds[metric], color="#cc3311", linestyle="--", linewidth=1)
    ax.set_title(metric, loc="left", fontsize=10)
    ax.set_xlabel("minutes before the latest row", fontsize=8)
    ax.set_xlim(-board.history_seconds / 60, 0)
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    if series and len(series) <= LEGEND_AT_MOST:
        ax.legend(fontsize=6, ncol=2, frameon=False, loc="upper left")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()
