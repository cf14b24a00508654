import pytest

from monitoring.core.timeline import (DAY, FULL, TIME_ONLY, InOrderClock, TimestampError, format_seconds, parse_ts,
                               series_start, unwrap)


def test_parses_both_forms():
    assert parse_ts("10:00:05") == parse_ts("10:00:05")
    assert parse_ts("10:00:05").kind == TIME_ONLY and parse_ts("10:00:05").seconds == 36005
    full = parse_ts("2026-01-02 00:00:01")
    assert full.kind == FULL and full.seconds == 1767312001


@pytest.mark.parametrize("bad", ["24:00:00", "10:60:00", "10:00", "1:00:00", "10:00:00 ", "2026-02-30 10:00:00",
                                 "2026-01-01T10:00:00", "", "yesterday"])
def test_rejects_bad_ts(bad):
    with pytest.raises(TimestampError, match="bad ts"):
        parse_ts(bad)


def test_format_round_trips_and_wraps_time_only():
    assert format_seconds(36005, TIME_ONLY) == "10:00:05"
    assert format_seconds(DAY + 5, TIME_ONLY) == "00:00:05"
    assert format_seconds(1767312001, FULL) == "2026-01-02 00:00:01"


def test_series_start_without_wrap_is_the_minimum():
    assert series_start([36010, 36000, 36005]) == 36000


def test_series_start_after_midnight_is_the_late_evening():
    evening_to_morning = [DAY - 10, DAY - 5, 0, 5, 10]
    assert series_start(reversed(evening_to_morning)) == DAY - 10
    assert unwrap(5, DAY - 10) == DAY + 5
    assert unwrap(DAY - 5, DAY - 10) == DAY - 5


def test_series_start_ties_go_to_the_earliest_value():
    # Two equal largest gaps (0 -> 43200 and 43200 -> 86400+0): the earliest candidate wins.
    assert series_start([43200, 0]) == 0


def test_in_order_clock_passes_midnight_once_and_tolerates_late_rows():
    clock = InOrderClock()
    seen = [clock.absolute(parse_ts(t)) for t in ("23:59:55", "00:00:00", "23:59:58", "00:00:05")]
    assert seen == [DAY - 5, DAY, DAY - 2, DAY + 5]
