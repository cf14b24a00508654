"""The report's time axes: each tick's label is its own time (seconds left out only when :00), and no
two ticks share a label, however short the series."""
import matplotlib.pyplot as plt
import pytest

from monitoring.report import figures

TEN = 36_000  # 10:00:00


def axis_labels(lo, hi, kind="time", days=False):
    fig, ax = plt.subplots()
    ax.set_xlim(lo, hi)
    figures._time_axis(ax, kind, days)
    fig.canvas.draw()
    shown = [(t.get_position()[0], t.get_text()) for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    plt.close(fig)
    return shown


@pytest.mark.parametrize("span", [50, 350, 1790, 7190, 86_390])
def test_a_panels_ticks_are_distinct_and_name_their_own_time(span):
    shown = axis_labels(TEN, TEN + span)
    labels = [text for _, text in shown]
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels
    for x, text in shown:  # a tick at 10:00:50 labelled 10:00 (the seconds cut off) was 50 s wrong
        full = figures.format_time(int(x), "time", False)
        assert text == (full[:-3] if x % 60 == 0 else full)


def test_a_six_minute_panel_ticks_each_minute():
    assert [text for _, text in axis_labels(TEN, TEN + 350)] == ["10:00", "10:01", "10:02", "10:03", "10:04", "10:05"]


def test_the_heatmaps_ticks_are_distinct_and_name_their_columns_start():
    starts = list(range(TEN, TEN + 360, 10))                    # 36 windows: 10:00:00 to 10:05:50
    columns, labels = figures.heatmap_ticks(starts, "time", False)
    assert labels == ["10:00", "10:01", "10:02", "10:03", "10:04", "10:05"]
    assert [starts[c] for c in columns] == [TEN + 60 * i for i in range(6)]
    offset = [t + 3 for t in starts]                             # a grid anchored at 10:00:03
    columns, labels = figures.heatmap_ticks(offset, "time", False)
    assert labels == ["10:01:03", "10:02:03", "10:03:03", "10:04:03", "10:05:03"]
    assert figures.heatmap_ticks([TEN + 5], "time", False) == ([0], ["10:00:05"])


@pytest.mark.parametrize("kind, days, lo, most", [("time", True, 82_800, 4), ("full", False, 1_767_261_600, 3)])
def test_long_labels_get_fewer_ticks(kind, days, lo, most):
    # "d2 06:00" or "2026-01-01 10:00": six of them ran into each other on a panel
    labels = [text for _, text in axis_labels(lo, lo + 26 * 3600, kind, days)]
    assert 2 <= len(labels) <= most and len(set(labels)) == len(labels), labels
