import pytest

from monitoring.core.timeline import (DAY, FULL, TIME_ONLY, SeriesClock, TimestampError, format_seconds,
                                      nearest_day_shift, parse_ts)


def test_parses_both_forms():
    assert parse_ts("10:00:05") == parse_ts("10:00:05")
    assert parse_ts("10:00:05").kind == TIME_ONLY and parse_ts("10:00:05").seconds == 36005
    full = parse_ts("2026-01-02 00:00:01")
    assert full.kind == FULL and full.seconds == 1767312001


@pytest.mark.parametrize("bad", ["24:00:00", "10:60:00", "10:00", "1:00:00", "10:00:00 ", "2026-02-30 10:00:00",
                                 "2026-01-01T10:00:00", "", "yesterday",
                                 "\u0661\u0660:00:05", "\uff12\uff10\uff12\uff16-01-02 00:00:01"])
def test_rejects_bad_ts(bad):
    with pytest.raises(TimestampError, match="bad ts"):
        parse_ts(bad)


def test_format_round_trips_and_wraps_time_only():
    assert format_seconds(36005, TIME_ONLY) == "10:00:05"
    assert format_seconds(DAY + 5, TIME_ONLY) == "00:00:05"
    assert format_seconds(1767312001, FULL) == "2026-01-02 00:00:01"


def times(*stamps):
    clock = SeriesClock()
    return [clock.event_time(parse_ts(t)) for t in stamps]


def test_midnight_in_file_order():
    assert times("23:59:55", "00:00:00", "00:00:05") == [DAY - 5, DAY, DAY + 5]


def test_several_midnights():
    assert times("20:00:00", "04:00:00", "12:00:00", "20:00:00", "04:00:00", "04:00:01") == \
        [72000, DAY + 14400, DAY + 43200, DAY + 72000, 2 * DAY + 14400, 2 * DAY + 14401]


@pytest.mark.parametrize("start", [0, 1, 36000, 43199, 43200, 43201, DAY - 1])
def test_24h_series_from_any_start(start):
    stamps = [format_seconds(start + i * 5, TIME_ONLY) for i in range(DAY // 5 + 1)]
    assert times(*stamps) == [start + i * 5 for i in range(DAY // 5 + 1)]


def test_a_long_gap_before_midnight_is_the_same_day():
    # 07:00 .. 07:02, then 21:00 .. 21:02 (14 h later: same day), then past midnight
    assert times("07:00:00", "07:02:00", "21:00:00", "21:02:00", "01:00:00") == \
        [25200, 25320, 75600, 75720, DAY + 3600]


def test_slightly_out_of_order_rows_at_the_start_and_across_midnight():
    assert times("10:00:05", "10:00:00", "10:00:10") == [36005, 36000, 36010]
    # a late row just before midnight after the first row past it: still the new day
    # (at most 12 h earlier is a late row; more than 12 h later is never the previous day)
    assert times("23:59:58", "00:00:01", "23:59:59") == [DAY - 2, DAY + 1, 2 * DAY - 1]


def test_exactly_12_hours_earlier_is_a_late_row():
    assert times("12:00:00", "00:00:00") == [43200, 0]
    assert times("12:00:01", "00:00:00") == [43201, DAY]


def test_dated_series_are_read_as_they_are():
    assert times("2026-01-02 00:00:01", "2026-01-01 23:00:00") == [1767312001, 1767308400]


def test_nearest_day_shift():
    assert nearest_day_shift(DAY - 5, 1) == DAY
    assert nearest_day_shift(5, DAY - 1) == -DAY
    assert nearest_day_shift(36000, 36100) == 0
