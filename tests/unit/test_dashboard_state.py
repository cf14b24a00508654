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


# Kafka: the metric topics' messages and the alerts topic's (monitoring.dashboard.state).
import json  # noqa: E402

from monitoring.core import alert_messages  # noqa: E402
from monitoring.core.records import message_headers  # noqa: E402
from monitoring.dashboard.state import KAFKA, start_offset  # noqa: E402


def cpu_message(ts, server, value, event_time=None):
    value_bytes = json.dumps({"ts": ts, "server_id": server, JOB.first.metric: value}).encode()
    headers = dict(message_headers(event_time, None)) if event_time is not None else {}
    return value_bytes, headers


def test_a_metric_message_is_placed_by_the_producers_event_time():
    b = board(KAFKA)
    m = JOB.first.metric
    # Day 2 of a time-only series: the header says so, the ts alone could not.
    assert b.add_message("cpu", *cpu_message("00:00:05", "s1", 45.5, 86400 + 5))
    assert b.add_message("cpu", *cpu_message("00:00:10", "s1", 81.25, 86400 + 10))
    assert list(b.history[m]["s1"]) == [(86405, 45.5), (86410, 81.25)] and b.latest == 86410
    snap = b.snapshot()
    assert snap["source"] == KAFKA and snap["servers"][0]["values"][m] == 81.25
    assert [(a["server"], a["alert"]) for a in snap["alerts"]] == [("s1", JOB.labels.first_only)]
    assert snap["alerts_from"] == "samples"


def test_a_metric_message_without_the_header_is_placed_by_its_ts():
    b = board(KAFKA)
    assert b.add_message("cpu", *cpu_message("10:00:00", "s1", 1))
    assert list(b.history[JOB.first.metric]["s1"]) == [(36000, 1.0)]


def test_bad_metric_messages_are_skipped():
    b = board(KAFKA)
    for value in (b"not json", b"[]", json.dumps({"ts": "10:00:00", "server_id": "s1"}).encode(),
                  json.dumps({"ts": "10:00:00", "server_id": "s1", JOB.first.metric: -3}).encode(),
                  json.dumps({"ts": "25:00:00", "server_id": "s1", JOB.first.metric: 3}).encode(), None):
        assert not b.add_message("cpu", value, {})
    assert not b.add_message("cpu", *cpu_message("10:00:00", "s1", 1)[:1], {"event_time": b"x"})
    assert b.snapshot()["servers"] == [] and b.version == 0


def alert_value(server, start, label=JOB.labels.first_only):
    alert = alert_messages.Alert(JOB.name, server, start, "10:00:40", "91.25", "50.10", label)
    return alert_messages.encode(JOB, alert)[1]


def test_alerts_of_the_alerts_topic_come_newest_first_a_repeat_dropped():
    b = board(KAFKA)
    b.sample_alerts = False
    assert b.add_alert_message(alert_value("s1", "10:00:10"))
    assert not b.add_alert_message(alert_value("s1", "10:00:10"))       # the same window again (a re-run batch)
    assert b.add_alert_message(alert_value("s2", "10:00:10", JOB.labels.both))
    assert not b.add_alert_message(b'{"job": "x"}') and not b.add_alert_message(b"\xff")
    # With the live path's alerts, a sample over its threshold is a value, not an alert.
    b.add_message("cpu", *cpu_message("10:00:15", "s3", 99.0, 36015))
    snap = b.snapshot()
    assert [(a["server"], a["time"], a["until"], a["alert"]) for a in snap["alerts"]] == [
        ("s2", "10:00:10", "10:00:40", JOB.labels.both), ("s1", "10:00:10", "10:00:40", JOB.labels.first_only)]
    assert snap["alerts_from"] == "windows" and "key" not in snap["alerts"][0]
    json.dumps(snap)


def test_an_alert_that_fell_off_the_list_may_come_again():
    b = board(KAFKA)                # two alerts kept
    for start in ("10:00:10", "10:00:20", "10:00:30"):
        assert b.add_alert_message(alert_value("s1", start))
    assert [a["time"] for a in b.snapshot()["alerts"]] == ["10:00:30", "10:00:20"]
    assert b.add_alert_message(alert_value("s1", "10:00:10"))


def test_a_partition_is_read_from_its_last_minutes_at_least_its_last_few_at_most_a_backlog():
    assert start_offset(0, 1000, 400, tail=100, backlog=5000) == 400       # the last minutes
    assert start_offset(0, 1000, None, tail=100, backlog=5000) == 900      # quiet: the last few
    assert start_offset(0, 1000, 950, tail=100, backlog=5000) == 900
    assert start_offset(0, 90_000, 10, tail=100, backlog=5000) == 85_000   # a fast replay: a backlog
    assert start_offset(700, 1000, None, tail=500, backlog=5000) == 700    # not before the beginning
    assert start_offset(0, 0, None) == 0
