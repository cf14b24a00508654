"""The report's pictures, drawn with matplotlib (Agg, no display) and returned as PNG bytes."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MultipleLocator  # noqa: E402

from ..core.timeline import FULL  # noqa: E402
from .series import BOTH, FIRST_ONLY, SECOND_ONLY, Heatmap, format_time, kinds  # noqa: E402

# One colour per alert code: none, second only, first only, both (colour-blind safe: Okabe-Ito).
ALERT_COLOURS = ("#f2f2f2", "#56b4e9", "#e69f00", "#d55e00")
METRIC_COLOUR = "#0072b2"
THRESHOLD_COLOUR = "#cc3311"
DPI = 96

plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.spines.top": False, "axes.spines.right": False})


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


# Steps between time ticks, in seconds: ticks on whole seconds, minutes, hours or days.
TIME_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_step(span: float, ticks: int) -> int:
    """The smallest step of TIME_STEPS (or whole days) that puts at most `ticks` ticks on `span` s."""
    for step in TIME_STEPS:
        if span / step <= ticks:
            return step
    return int(-(-span // (ticks * 86400))) * 86400


def time_label(seconds: int, kind: str, days: bool) -> str:
    """A tick's time, its seconds left out only when they are :00 (a tick at 10:00:50 is not 10:00)."""
    text = format_time(seconds, kind, days)
    return text[:-3] if seconds % 60 == 0 else text


def _time_axis(ax, kind: str, days: bool) -> None:
    lo, hi = ax.get_xlim()
    ticks = 3 if kind == FULL else 4 if days else 6  # the longer the labels, the fewer fit a panel
    ax.xaxis.set_major_locator(MultipleLocator(time_step(hi - lo, ticks)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: time_label(int(round(x)), kind, days)))


def heatmap_ticks(starts, kind: str, days: bool) -> tuple[list[int], list[str]]:
    """The heatmap's time ticks: the columns where a new step of time begins (columns are windows,
    gaps left out, so not evenly spaced in time), each labelled with its own first window start."""
    if not starts:
        return [], []
    step = time_step(starts[-1] - starts[0], 8)
    columns = [i for i in range(1, len(starts)) if starts[i] // step != starts[i - 1] // step]
    if starts[0] % step == 0 or not columns:  # else its label would crowd the next one's
        columns.insert(0, 0)
    return columns, [time_label(starts[i], kind, days) for i in columns]


def metric_panels(panels, kind: str, days: bool) -> bytes:
    """One server's small multiples, a row of panels. Each panel: (title, times, values, threshold,
    alerted (a bool per time: an alert of this metric in that window), y limit)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 1.75), squeeze=False)
    for ax, (title, times, values, threshold, alerted, top) in zip(axes[0], panels):
        xs = [t for t, v in zip(times, values) if v is not None]
        ys = [v for v in values if v is not None]
        ax.fill_between(times, 0, 1, where=alerted, step="mid", color=ALERT_COLOURS[BOTH], alpha=0.3,
                        linewidth=0, transform=ax.get_xaxis_transform(), label="alert window")
        ax.plot(xs, ys, color=METRIC_COLOUR, linewidth=0.8)
        hit = [(t, v) for t, v, a in zip(times, values, alerted) if a and v is not None]
        if hit:  # a window is a sliver at this scale: a dot makes each alert findable
            ax.scatter(*zip(*hit), s=9, color=ALERT_COLOURS[BOTH], zorder=3, linewidths=0)
        ax.axhline(threshold, color=THRESHOLD_COLOUR, linestyle="--", linewidth=0.9, label=f"threshold {threshold:g}")
        ax.set_title(title, loc="left")
        ax.set_ylim(0, top)
        if times:
            ax.set_xlim(min(times), max(times))
        _time_axis(ax, kind, days)
        ax.tick_params(length=2)
    return _png(fig)


def alert_heatmap(hm: Heatmap, job, kind: str, days: bool) -> bytes:
    """Servers (rows) x time (columns), each cell coloured by the most severe alert in it."""
    n = len(hm.servers)
    fig, ax = plt.subplots(figsize=(12.5, max(1.6, 0.9 + 0.14 * n)))
    ax.imshow(hm.codes or [[0]], aspect="auto", interpolation="nearest", vmin=0, vmax=3,
              cmap=ListedColormap(ALERT_COLOURS))
    step = max(1, -(-n // 60))
    ax.set_yticks(range(0, n, step), [hm.servers[i] for i in range(0, n, step)], fontsize=7 if n <= 60 else 6)
    if hm.starts:
        ax.set_xticks(*heatmap_ticks(hm.starts, kind, days))
    ax.spines[["left", "bottom"]].set_visible(False)
    ax.tick_params(length=0)
    first_severe = kinds(job)
    codes = {first_severe[0]: BOTH, first_severe[1]: FIRST_ONLY, first_severe[2]: SECOND_ONLY}
    ax.legend(handles=[Patch(color=ALERT_COLOURS[c], label=label) for label, c in codes.items()],
              loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=8)
    return _png(fig)
