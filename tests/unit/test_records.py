import json

import pytest

from monitoring.core.records import (COLUMNS, RowError, csv_line, decode_message, encode_messages, header_columns,
                                     message_event_time, number_text, parse_row)

GOOD = ["10:00:05", "server_1", "45.30", "61.00", "1200.50", "800.25", "300.00"]


def test_parse_row_keeps_the_number_text():
    row = parse_row(GOOD)
    assert row.server_id == "server_1" and row.values["cpu_pct"] == "45.30"
    assert row.fields(("ts", "server_id", "net_in", "net_out")) == ("10:00:05", "server_1", "1200.50", "800.25")


@pytest.mark.parametrize("fields,message", [
    (GOOD[:6], "missing columns"),
    (GOOD + ["x"], "extra columns"),
    (["25:00:00"] + GOOD[1:], "bad ts"),
    (GOOD[:2] + ["abc"] + GOOD[3:], "cpu_pct is not a number"),
    (GOOD[:2] + [""] + GOOD[3:], "cpu_pct is empty"),
    (GOOD[:4] + ["-3.5"] + GOOD[5:], "net_in is negative"),
    (GOOD[:3] + ["100.01"] + GOOD[4:], "mem_pct is above 100"),
    (GOOD[:2] + ["nan"] + GOOD[3:], "cpu_pct is not a number"),
    (GOOD[:2] + ["1e3"] + GOOD[3:], "cpu_pct is not a number"),
    ([GOOD[0], "server 1"] + GOOD[2:], "server_id"),
    # Digits of other scripts (Arabic-Indic, fullwidth): Python's float() reads them, JSON and Spark do not.
    (GOOD[:2] + ["\u0664\u0665.30"] + GOOD[3:], "cpu_pct is not a number"),
    (GOOD[:5] + ["\uff18\uff10\uff10"] + GOOD[6:], "net_out is not a number"),
    (["\uff11\uff10:00:05"] + GOOD[1:], "bad ts"),
])
def test_bad_rows_say_which_field(fields, message):
    with pytest.raises(RowError, match=message):
        parse_row(fields)


def test_mixed_ts_forms_are_rejected():
    with pytest.raises(RowError, match="same form"):
        parse_row(["2026-01-01 10:00:00"] + GOOD[1:], ts_kind="time")


def test_leading_zeros_are_dropped_because_json_forbids_them():
    assert number_text("net_in", "007.50") == "7.50"
    assert number_text("net_in", "00") == "0"
    assert number_text("net_in", "0.50") == "0.50"


def test_header_in_any_order():
    assert header_columns(list(reversed(COLUMNS))) == tuple(reversed(COLUMNS))
    assert header_columns(GOOD) is None


@pytest.mark.parametrize("key,fields", [("cpu", ("10:00:05", "server_1", "45.30")),
                                        ("mem", ("10:00:05", "server_1", "61.00")),
                                        ("net", ("10:00:05", "server_1", "1200.50", "800.25")),
                                        ("disk", ("10:00:05", "server_1", "300.00"))])
def test_messages_round_trip_with_exact_text(key, fields):
    value = encode_messages(parse_row(GOOD))[key]
    assert set(json.loads(value)) == {"ts", "server_id", *fields_names(key)}
    assert decode_message(key, value) == fields
    assert csv_line(fields) == ",".join(fields) + "\n"


def fields_names(key):
    return {"cpu": ["cpu_pct"], "mem": ["mem_pct"], "net": ["net_in", "net_out"], "disk": ["disk_io"]}[key]


@pytest.mark.parametrize("value,message", [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"ts": "10:00:00", "server_id": "s1"}', "missing field cpu_pct"),
    (b'{"ts": "10:00:00", "server_id": "s1", "cpu_pct": true}', "cpu_pct is not a number"),
    (b'{"ts": "10:00:00", "server_id": "s1", "cpu_pct": null}', "cpu_pct is not a number"),
    (b'{"ts": 5, "server_id": "s1", "cpu_pct": 1.0}', "bad ts '5'"),
    (b'{"ts": [1], "server_id": "s1", "cpu_pct": 1.0}', "ts is not a string"),
    (b'{"ts": "99:00:00", "server_id": "s1", "cpu_pct": 1.0}', "bad ts"),
    (b'{"ts": "10:00:00", "server_id": "s1", "cpu_pct": -1.0}', "negative"),
    (None, "empty message"),
])
def test_bad_messages_say_why(value, message):
    with pytest.raises(RowError, match=message):
        decode_message("cpu", value)


def test_a_message_from_another_producer_with_extra_fields_is_fine():
    value = b'{"ts": "10:00:00", "server_id": "s1", "cpu_pct": 12.5, "host": "x", "v": 2}'
    assert decode_message("cpu", value) == ("10:00:00", "s1", "12.5")


@pytest.mark.parametrize("header", [b"abc:\xd9\xa4\xd9\xa2", "abc:\u00b2".encode(), b"abc:", b":12", b"abc:1x"])
def test_an_origin_header_other_than_digest_and_ascii_line_is_a_row_error(header):
    """A bad header is a RowError (the consumer skips the message), never a crash in int()."""
    from monitoring.core.records import ORIGIN_HEADER, message_origin

    with pytest.raises(RowError, match=f"header {ORIGIN_HEADER} is not <digest>:<line>"):
        message_origin({ORIGIN_HEADER: header})
    assert message_origin({ORIGIN_HEADER: b"abc:42"}) == ("abc", 42)


@pytest.mark.parametrize("raw, seconds", [("1796316724000", 1796316724), ("0", 0), ("253402300799999", 253402300799)])
def test_an_event_time_header_is_epoch_milliseconds(raw, seconds):
    assert message_event_time({"event_time": raw}) == seconds


@pytest.mark.parametrize("raw", ["12x", "-5", "", "253402300800000", "9000000000000000000", "1" * 30])
def test_an_event_time_past_year_9999_or_not_digits_is_refused_by_name(raw):
    # The stream jobs skip the same messages (tests/unit/test_stream_state_schema.py).
    with pytest.raises(RowError, match="header event_time is not epoch milliseconds"):
        message_event_time({"event_time": raw})
