"""The live source's rows: this machine's hostname, dated with the sample's UTC time (a dated ts is
read as UTC), whatever the machine's time zone."""
import socket
import time
from datetime import datetime, timezone

from monitoring.producer.sources import LiveSampler


def test_a_live_row_is_dated_with_its_utc_time_under_the_hostname(monkeypatch):
    # A zone far from UTC: a row stamped in local time would be hours off.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        sampler = LiveSampler(0.1)
        time.sleep(0.1)
        before = int(datetime.now(timezone.utc).timestamp())
        row = sampler.sample()
        after = int(datetime.now(timezone.utc).timestamp())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert row.server_id == socket.gethostname().split(".")[0]
    assert before <= row.stamp.seconds <= after
    assert all(float(v) >= 0 for v in row.values.values())
