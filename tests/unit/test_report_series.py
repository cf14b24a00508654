"""The report's data preparation (monitoring.report.series, .team_csv): time placement in file order,
counts, ranking, the heatmap's cells, and bad input named in one line."""
import pytest

from monitoring.core.timeline import DAY
from monitoring.report.series import (BOTH, FIRST_ONLY, NO_ALERT, SECOND_ONLY, alert_counts, heatmap, job_views,
                                      server_series, servers, spans_days, top_servers, window_times)
from monitoring.report.team_csv import ReportInputError, TeamFile, WindowRow, read_team_file
from monitoring.wiring import JOBS

JOB = JOBS["spark-job1"]
L = JOB.labels


def row(server, start, alert="", first=1.0, second=2.0):
    return WindowRow(server, start, start, first, second, alert)


def test_a_series_across_midnight_keeps_its_file_order():
    times, _, _ = window_times([row("s1", "23:59:40"), row("s1", "23:59:50"), row("s1", "00:00:00"),
                                row("s1", "00:00:10")])
    assert times == [86380, 86390, DAY, DAY + 10]


def test_each_server_has_its_own_clock_and_starts_on_the_day_nearest_the_first():
    # s2 starts just after midnight, s1 just before: s2's first window is day 1, beside s1's.
    times, _, _ = window_times([row("s1", "23:59:50"), row("s1", "00:00:00"), row("s2", "00:00:00"),
                                row("s2", "00:00:10")])
    assert times == [86390, DAY, DAY, DAY + 10]


def test_several_days_of_time_only_windows_are_told_apart():
    rows = [row("s1", t) for t in ("12:00:00", "23:00:00", "10:00:00", "23:00:00", "10:00:00")]
    views = job_views([TeamFile(JOB, None, tuple(rows))])
    assert views[0].times == (43200, 82800, DAY + 36000, DAY + 82800, 2 * DAY + 36000)
    assert spans_days(views)


def test_dated_windows_are_read_as_they_are():
    times, kind, _ = window_times([row("s1", "2026-01-01 23:59:50"), row("s1", "2026-01-02 00:00:00")])
    assert kind == "full" and times[1] - times[0] == 10


def test_counts_name_every_kind_of_the_job_zeros_included():
    rows = (row("a", "10:00:00", L.first_only), row("a", "10:00:10", L.first_only), row("b", "10:00:00", L.both),
            row("b", "10:00:10"))
    counts = alert_counts(job_views([TeamFile(JOB, None, rows)])[0])
    assert counts == {L.both: 1, L.first_only: 2, L.second_only: 0}
    assert list(counts) == [L.both, L.first_only, L.second_only]  # most severe first


def test_top_servers_rank_by_alert_windows_of_both_jobs_ties_in_file_order():
    other = JOBS["spark-job2"]
    one = TeamFile(JOB, None, (row("a", "10:00:00"), row("b", "10:00:00", L.both), row("c", "10:00:00", L.both)))
    two = TeamFile(other, None, (row("a", "10:00:00", other.labels.both), row("a", "10:00:10", other.labels.both),
                                 row("b", "10:00:00"), row("c", "10:00:00")))
    views = job_views([one, two])
    assert servers(views) == ["a", "b", "c"]
    assert top_servers(views, 3) == [("a", 2), ("b", 1), ("c", 1)]
    assert top_servers(views, 1) == [("a", 2)]


def test_the_heatmap_has_a_cell_per_server_and_window_with_its_alert_kind():
    rows = (row("a", "10:00:00", L.second_only), row("a", "10:00:10"), row("b", "10:00:10", L.both))
    hm = heatmap(job_views([TeamFile(JOB, None, rows)])[0], ["a", "b"])
    assert hm.codes == ((SECOND_ONLY, NO_ALERT), (NO_ALERT, BOTH))
    assert hm.starts == (36000, 36010)


def test_a_wide_heatmap_keeps_the_most_severe_alert_of_the_windows_it_merges():
    starts = [f"10:00:{s:02d}" for s in range(0, 60, 10)]
    alerts = ["", L.second_only, L.first_only, "", "", L.second_only]
    rows = tuple(row("a", s, a) for s, a in zip(starts, alerts))
    hm = heatmap(job_views([TeamFile(JOB, None, rows)])[0], ["a"], max_columns=3)
    assert hm.codes == ((SECOND_ONLY, FIRST_ONLY, SECOND_ONLY),)
    assert hm.starts == (36000, 36020, 36040)


def test_a_servers_series_is_its_rows_in_order_with_empty_values_kept():
    rows = (row("a", "23:59:50", first=None), row("b", "10:00:00"), row("a", "00:00:00", L.first_only, first=90.5))
    s = server_series(job_views([TeamFile(JOB, None, rows)])[0], "a")
    assert s.times == (86390, DAY) and s.first == (None, 90.5) and s.alerts == ("", L.first_only)


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_a_team_csv_is_read_in_file_order(tmp_path):
    f = _write(tmp_path / "t.csv", [",".join(JOB.header), "b,10:00:00,10:00:30,1.50,,", f"a,10:00:00,10:00:30,99.00,2.00,{L.first_only}"])
    rows = read_team_file(f, JOB).rows
    assert [(r.server, r.first, r.second, r.alert) for r in rows] == [("b", 1.5, None, ""), ("a", 99.0, 2.0, L.first_only)]


@pytest.mark.parametrize("lines, message", [
    (["server_id,when"], "header is 'server_id,when', expected"),
    ([None, "a,10:00:00,10:00:30,x,1.00,"], "line 2: " + JOB.first.out + " is not a number ('x')"),
    ([None, "a,10:00:00,10:00:30,1.00"], "line 2: 4 fields where 6 are expected"),
    ([None, "a,25:00:00,10:00:30,1.00,1.00,"], "line 2: bad ts '25:00:00'"),
], ids=["header", "number", "fields", "time"])
def test_bad_input_is_named_by_file_and_line(tmp_path, lines, message):
    lines = [",".join(JOB.header) if x is None else x for x in lines]
    with pytest.raises(ReportInputError, match=None) as exc:
        read_team_file(_write(tmp_path / "t.csv", lines), JOB)
    assert message in str(exc.value) and str(tmp_path / "t.csv") in str(exc.value)


def test_a_missing_team_csv_says_what_to_run(tmp_path):
    with pytest.raises(ReportInputError, match="no such file .run the Spark jobs first"):
        read_team_file(tmp_path / "nothing.csv", JOB)
