"""The dashboard's core: following a growing CSV, and the board it keeps (monitoring.dashboard)."""
from monitoring.dashboard.follow import CsvFollower
from monitoring.dashboard.state import CONSUMERS, LIVE, Board, metric_names
from monitoring.wiring import JOBS

JOB = JOBS["spark-job1"]


def test_the_follower_reads_only_whole_new_lines(tmp_path):
    path = tmp_path / "x.csv"
    f = CsvFollower(path)
    assert f.new_rows() == []                       # not there yet
    path.write_text("a,b\n1,2\n3,")
    assert f.new_rows() == [{"a": "1", "b": "2"}]
    with open(path, "a") as out:
        out.write("4\n5,6\n")
    assert f.new_rows() == [{"a": "3", "b": "4"}, {"a": "5", "b": "6"}]
    assert f.new_rows() == []


def test_the_follower_reads_a_shrunk_file_again(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n2\n")
    f = CsvFollower(path)
    assert len(f.new_rows()) == 2
    path.write_text("a\n9\n")
    assert f.new_rows() == [{"a": "9"}]


def board(source):
    names = metric_names(source)
    return Board(source, dict(zip(names, (80.0, 85.0, 5000.0, 1500.0))), history_seconds=60, max_alerts=2)


def test_live_windows_give_values_alerts_newest_first_and_a_bounded_history():
    b = board(LIVE)
    first, second = JOB.first.out, JOB.second.out
    for i, alert in enumerate(["", JOB.labels.first_only, JOB.labels.both, JOB.labels.second_only]):
        b.add_window(JOB, {"server_id": "s1", "window_start": f"10:0{i}:00", first: f"{50 + i}.00", second: "", "alert": alert})
    snap = b.snapshot()
    assert snap["servers"][0]["values"][first] == 53.0 and snap["servers"][0]["values"][second] is None
    assert [a["alert"] for a in snap["alerts"]] == [JOB.labels.second_only, JOB.labels.both]   # two kept
    assert [t for t, _ in b.history[first]["s1"]] == [36120, 36180]                            # the last minute


def test_consumer_samples_over_a_threshold_are_listed_under_the_jobs_label():
    b = board(CONSUMERS)
    m = JOB.first.metric
    b.add_sample("cpu", {"ts": "10:00:00", "server_id": "s1", m: "80.00"})      # not above: strictly
    b.add_sample("cpu", {"ts": "10:00:05", "server_id": "s1", m: "80.01"})
    assert [(a["server"], a["time"], a["alert"]) for a in b.snapshot()["alerts"]] == [("s1", "10:00:05", JOB.labels.first_only)]


def test_a_consumer_series_across_midnight_stays_in_order():
    b = board(CONSUMERS)
    m = JOB.first.metric
    for ts in ("23:59:55", "00:00:00"):
        b.add_sample("cpu", {"ts": ts, "server_id": "s1", m: "1.00"})
    assert [t for t, _ in b.history[m]["s1"]] == [86395, 86400]
