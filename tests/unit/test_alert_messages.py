"""An alert's message: the same alert is the same key and bytes, and it reads back as written."""
import json

from monitoring.core import alert_messages
from monitoring.core.alert_messages import Alert
from monitoring.wiring import STREAM_JOBS

JOB = STREAM_JOBS["stream-job1"]


def alert(**changes):
    fields = dict(job=JOB.stream, server_id="server_3", window_start="10:00:10", window_end="10:00:40",
                  first="91.25", second="", label=JOB.labels.first_only)
    return Alert(**{**fields, **changes})


def test_the_message_is_keyed_by_server_and_holds_the_jobs_alert_fields_in_order():
    key, value = alert_messages.encode(JOB, alert())
    assert key == b"server_3"
    doc = json.loads(value)
    assert list(doc) == list(JOB.alert_fields)
    assert doc[JOB.first.out] == 91.25 and doc[JOB.second.out] is None
    assert doc["alert"] == JOB.labels.first_only


def test_a_repeat_is_the_same_bytes_and_another_window_is_not():
    assert alert_messages.encode(JOB, alert()) == alert_messages.encode(JOB, alert())
    assert alert_messages.encode(JOB, alert()) != alert_messages.encode(JOB, alert(window_start="10:00:20"))


def test_it_reads_back_with_the_numbers_as_written_and_makes_one_line():
    _, value = alert_messages.encode(JOB, alert(first="90.10", second="86.00", label=JOB.labels.both))
    doc = alert_messages.decode(value)
    assert doc[JOB.first.out] == "90.10" and doc[JOB.second.out] == "86.00"
    line = alert_messages.line(doc)
    assert line == f"stream-job1 server_3 10:00:10-10:00:40: {JOB.labels.both} (avg_cpu 90.10, avg_mem 86.00)"
    assert "\n" not in line


def test_a_foreign_message_is_refused():
    for value in (b'{"ts": "10:00:00"}', b"[1, 2]"):
        try:
            alert_messages.decode(value)
        except ValueError:
            continue
        raise AssertionError(f"{value!r} was read as an alert")
