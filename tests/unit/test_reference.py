"""The pure-Python reference of the jobs' output (tests/support/reference.py), on small
cases computed by hand from the output contract."""

import random
from decimal import Decimal

import pytest

from monitoring.wiring import JOBS
from tests.support import reference as ref
from tests.support.pipeline import CSV_OF

CPU, MEM = "cpu", "mem"


def cpu_mem(records, **kwargs):
    """records: (file, ts, server_id, value) -> expected_cpu_mem rows."""
    cpu = [(ts, sid, v) for f, ts, sid, v in records if f == CPU]
    mem = [(ts, sid, v) for f, ts, sid, v in records if f == MEM]
    return ref.expected_cpu_mem(cpu, mem, **kwargs)


# ---------------------------------------------------------------- the window grid

def test_grid_anchored_at_first_ts_with_trailing_windows():
    rows = cpu_mem([
        (CPU, "10:00:00", "s1", "10"),   # t0
        (CPU, "10:00:09", "s1", "20"),   # t0+9
        (CPU, "10:00:10", "s1", "30"),   # t0+10
        (CPU, "10:00:29", "s1", "40"),   # t0+29
        (CPU, "10:00:30", "s1", "50"),   # t0+30: not in [t0, t0+30)
    ])
    assert rows == [
        ["s1", "10:00:00", "10:00:30", "25.00", "", ""],  # 10,20,30,40
        ["s1", "10:00:10", "10:00:40", "40.00", "", ""],  # 30,40,50
        ["s1", "10:00:20", "10:00:50", "45.00", "", ""],  # 40,50
        ["s1", "10:00:30", "10:01:00", "50.00", "", ""],  # 50 (trailing, partly filled)
    ]


def test_no_window_starts_before_t0():
    # t0+5 would belong to a window starting at t0-20 or t0-10 on an unanchored grid.
    rows = cpu_mem([(CPU, "10:00:05", "s1", "1"), (CPU, "10:00:00", "s1", "3")])
    assert [r[1] for r in rows] == ["10:00:00"]
    assert rows[0][3] == "2.00"


def test_t0_comes_from_both_files():
    rows = cpu_mem([
        (MEM, "09:59:55", "s2", "60"),
        (CPU, "10:00:20", "s1", "70"),   # t0+25
    ])
    assert rows == [
        ["s1", "09:59:55", "10:00:25", "70.00", "", ""],
        ["s1", "10:00:05", "10:00:35", "70.00", "", ""],
        ["s1", "10:00:15", "10:00:45", "70.00", "", ""],
        ["s2", "09:59:55", "10:00:25", "", "60.00", ""],
    ]


def test_a_window_needs_a_record_of_that_server():
    rows = cpu_mem([(CPU, "10:00:00", "s1", "1"), (CPU, "10:01:00", "s1", "2")])
    assert [r[1] for r in rows] == [
        "10:00:00", "10:00:40", "10:00:50", "10:01:00"]


def test_duration_and_slide_parameters():
    rows = cpu_mem([(CPU, "00:00:00", "s", "1"), (CPU, "00:00:07", "s", "2")],
                   duration=10, slide=5)
    assert rows == [
        ["s", "00:00:00", "00:00:10", "1.50", "", ""],
        ["s", "00:00:05", "00:00:15", "2.00", "", ""],
    ]


def test_window_starts_helper():
    assert list(ref.window_starts(0, 0, 30, 10)) == [0]
    assert list(ref.window_starts(9, 0, 30, 10)) == [0]
    assert list(ref.window_starts(10, 0, 30, 10)) == [0, 10]
    assert list(ref.window_starts(29, 0, 30, 10)) == [0, 10, 20]
    assert list(ref.window_starts(30, 0, 30, 10)) == [10, 20, 30]
    assert list(ref.window_starts(1005, 1000, 30, 10)) == [1000]


# ------------------------------------------------------------------------- time

def test_time_only_series_passing_midnight():
    rows = cpu_mem([  # consumer order, not time order
        (CPU, "00:00:05", "s1", "3"),
        (CPU, "23:59:50", "s1", "1"),
        (MEM, "00:00:15", "s1", "4"),
        (CPU, "23:59:59", "s1", "2"),
    ])
    assert rows == [
        ["s1", "23:59:50", "00:00:20", "2.00", "4.00", ""],   # 1,2,3 | 4
        ["s1", "00:00:00", "00:00:30", "3.00", "4.00", ""],   # 3 | 4
        ["s1", "00:00:10", "00:00:40", "", "4.00", ""],       # - | 4
    ]


def test_series_start_rule():
    # no wrap: the minimum
    assert ref.series_start([36000, 36010, 36020]) == 36000
    # 23:59:50 .. 00:00:15: the largest gap is 00:00:15 -> 23:59:50
    assert ref.series_start([5, 86390, 15, 86399]) == 86390
    # 01:00 and 23:00: 23:00 -> 01:00 (2 h) is shorter than 01:00 -> 23:00 (22 h)
    assert ref.series_start([3600, 82800]) == 82800
    # a tie: both gaps are 12 h; the earliest value in seconds-of-day order wins
    assert ref.series_start([0, 43200]) == 0
    assert ref.series_start([100, 43300]) == 100
    # a tie between two inner gaps: start at the smaller value after them
    assert ref.series_start([0, 10, 20, 30]) == 0      # wrap gap 86370 is largest
    assert ref.series_start([1000, 29800, 58600]) == 1000  # all gaps 28800: earliest
    assert ref.series_start([42]) == 42


def test_full_date_ts_utc():
    rows = cpu_mem([
        (CPU, "2024-03-01 23:59:50", "s1", "10"),
        (CPU, "2024-03-02 00:00:05", "s1", "20"),
    ])
    assert rows == [
        ["s1", "2024-03-01 23:59:50", "2024-03-02 00:00:20", "15.00", "", ""],
        ["s1", "2024-03-02 00:00:00", "2024-03-02 00:00:30", "20.00", "", ""],
    ]


def test_full_date_ts_is_not_wrapped_like_time_only():
    # a full date that is earlier in the day but on a later date comes later
    rows = cpu_mem([
        (CPU, "2024-03-02 00:00:00", "s1", "1"),
        (CPU, "2024-03-01 12:00:00", "s1", "2"),
    ])
    assert [r[1] for r in rows][0] == "2024-03-01 12:00:00"
    assert [r[1] for r in rows][-1] == "2024-03-02 00:00:00"


def test_full_date_across_dst_date_is_plain_utc():
    rows = cpu_mem([(CPU, "2024-03-31 00:59:55", "s", "1"), (CPU, "2024-03-31 01:00:05", "s", "3")])
    assert [r[1:3] for r in rows] == [
        ["2024-03-31 00:59:55", "2024-03-31 01:00:25"],
        ["2024-03-31 01:00:05", "2024-03-31 01:00:35"],
    ]


def test_mixed_or_bad_ts_is_an_error():
    with pytest.raises(ValueError):
        cpu_mem([(CPU, "10:00:00", "s", "1"), (MEM, "2024-01-01 10:00:00", "s", "1")])
    with pytest.raises(ValueError):
        cpu_mem([(CPU, "9:00:00", "s", "1")])
    with pytest.raises(ValueError):
        cpu_mem([(CPU, "24:00:00", "s", "1")])


# ----------------------------------------------------------------------- alerts

@pytest.mark.parametrize("cpu, mem, alert", [
    (["80.00"], ["85.00"], ""),                          # at both thresholds: not above
    (["80.01"], ["85.00"], "CPU spike suspected"),
    (["80.00"], ["85.01"], "Memory saturation suspected"),
    (["80.01"], ["85.01"], "High CPU + Memory stress"),
    (["80.004"], ["85.004"], ""),                        # rounds down to the threshold
    (["80.005"], ["85.005"], ""),                        # float32 80.00499725..., 85.00499725...
    (["80.025"], ["85.00"], "CPU spike suspected"),      # float32 80.02500152... -> 80.03
    # means just above: (float32(80.01) + 80) / 2 = 80.00500106811523 -> 80.01
    (["80.01", "80.00"], ["85.01", "85.00"], "High CPU + Memory stress"),
])
def test_cpu_mem_alerts(cpu, mem, alert):
    rows = cpu_mem([(CPU, f"10:00:0{i}", "s", v) for i, v in enumerate(cpu)]
                   + [(MEM, f"10:00:0{i}", "s", v) for i, v in enumerate(mem)])
    assert rows[0][5] == alert


@pytest.mark.parametrize("net_in, disk_io, alert", [
    ("5000.00", "1500.00", ""),
    ("5000.01", "1500.00", "Possible DDoS"),
    ("5000.00", "1500.01", "Disk thrash suspected"),
    ("5000.01", "1500.01", "Network flood + Disk thrash suspected"),
    ("5000.004", "1500.004", ""),
])
def test_net_disk_alerts(net_in, disk_io, alert):
    rows = ref.expected_net_disk([("10:00:00", "s", net_in, "999999.0")],
                                 [("10:00:00", "s", disk_io)])
    assert rows[0][5] == alert


def test_net_disk_max_and_float32_rounding():
    net = [("10:00:00", "s", "100.5", "0"), ("10:00:01", "s", "5000.005", "0"),
           ("10:00:02", "s", "20", "0")]
    disk = [("10:00:00", "s", "1500.005"), ("10:00:01", "s", "3")]
    # float32("5000.005") = 5000.0048828125 -> 5000.00 (not above);
    # float32("1500.005") = 1500.0050048828125 -> 1500.01 (above)
    assert ref.expected_net_disk(net, disk) == [
        ["s", "10:00:00", "10:00:30", "5000.00", "1500.01", "Disk thrash suspected"]]


def test_thresholds_are_configurable_and_compared_as_decimals():
    rows = cpu_mem([(CPU, "10:00:00", "s", "50.1"), (MEM, "10:00:00", "s", "60")],
                   thresholds={"cpu": 50.1, "mem": 59.99})
    assert rows[0][3:] == ["50.10", "60.00", "Memory saturation suspected"]
    rows = cpu_mem([(CPU, "10:00:00", "s", "50.11")], thresholds={"cpu": "50.1"})
    assert rows[0][5] == "CPU spike suspected"


def test_missing_metric_is_empty_and_never_alerts():
    rows = cpu_mem([(MEM, "10:00:00", "s", "99"), (CPU, "10:00:40", "s", "99")],
                   thresholds={"cpu": 0, "mem": 0})
    assert rows == [
        ["s", "10:00:00", "10:00:30", "", "99.00", "Memory saturation suspected"],
        ["s", "10:00:20", "10:00:50", "99.00", "", "CPU spike suspected"],
        ["s", "10:00:30", "10:01:00", "99.00", "", "CPU spike suspected"],
        ["s", "10:00:40", "10:01:10", "99.00", "", "CPU spike suspected"],
    ]
    rows = ref.expected_net_disk([], [("10:00:00", "s", "0")], thresholds={"net_in": -1})
    assert rows == [["s", "10:00:00", "10:00:30", "", "0.00", ""]]


# ------------------------------------------------------------ sorting and format

def test_sorted_by_server_text_then_time():
    rows = cpu_mem([
        (CPU, "10:00:00", "server_2", "1"),
        (CPU, "10:00:00", "server_10", "1"),
        (MEM, "10:00:00", "server_1", "1"),
        (CPU, "10:00:00", "Server_3", "1"),
    ])
    assert [r[0] for r in rows if r[1] == "10:00:00"] == [
        "Server_3", "server_1", "server_10", "server_2"]


def test_two_decimals():
    rows = cpu_mem([(CPU, "10:00:00", "s", "50"), (MEM, "10:00:00", "s", "0.1")])
    assert rows[0][3:5] == ["50.00", "0.10"]
    rows = cpu_mem([(CPU, "10:00:00", "s", "1.01"), (CPU, "10:00:01", "s", "1.02"),
                    (MEM, "10:00:00", "s", "0.125")])
    # (float32(1.01) + float32(1.02)) / 2 = 1.0149999856948853 -> 1.01, not 1.02
    assert rows[0][3:5] == ["1.01", "0.13"]


# ------------------------------------------------------------------ the numbers

@pytest.mark.parametrize("text, expected", [
    ("45.30", 45.29999923706055),
    ("1.01", 1.0099999904632568),
    ("0.125", 0.125),
    ("16777217", 16777216.0),
    # text -> double -> float32 would round twice here: the double is exactly halfway
    ("1.00000005960464477539062501", 1.0000001192092896),
    ("1.000000059604644775390625", 1.0),      # a true tie: to even
    ("1.00000005960464477539062499", 1.0),
    ("-1.00000005960464477539062501", -1.0000001192092896),
])
def test_float32_from_text(text, expected):
    assert ref.float32_from_text(text) == expected


@pytest.mark.parametrize("x, expected", [
    (0.125, "0.13"),          # an exact binary tie: half up
    (2.675, "2.68"),          # double 2.67499999999999982236431605997495353221893310546875, repr 2.675
    (ref.float32_from_text("2.675"), "2.67"),   # float32 widened: 2.674999952316284
    (0.075, "0.08"),          # Python's round(0.075, 2) gives 0.07
    (1.0149999856948853, "1.01"),
    (0.005, "0.01"),
    (ref.float32_from_text("0.005"), "0.00"),
    (-0.004, "0.00"),         # no negative zero
    (-1.005, "-1.01"),        # half up is away from zero
    (150000.125, "150000.13"),
    (1e-7, "0.00"),
    (12345678.9, "12345678.90"),
])
def test_round_half_up_2(x, expected):
    assert ref.format_2dp(ref.round_half_up_2(x)) == expected


def test_avg_is_double_mean_of_float32s():
    values = [ref.float32_from_text(t) for t in ("1.01", "1.02")]
    assert ref.spark_avg(values) == 1.0149999856948853
    assert ref.spark_avg([3.0] + [0.0] * 39) == 0.075


def test_is_above():
    assert not ref.is_above(Decimal("80.00"), 80.0)
    assert ref.is_above(Decimal("80.01"), 80.0)
    assert not ref.is_above(None, -1)
    assert ref.is_above(Decimal("0.11"), 0.1)     # threshold read as the decimal 0.1


# ----------------------------------------------------------------------- files

def test_file_helpers(tmp_path):
    (tmp_path / CSV_OF["cpu"]).write_text(
        "ts,server_id,cpu_pct\n10:00:05,server_2,90.5\n10:00:00,server_10,10\n")
    (tmp_path / CSV_OF["mem"]).write_text("ts,server_id,mem_pct\n10:00:00,server_2,86\n")
    (tmp_path / CSV_OF["net"]).write_text("ts,server_id,net_in,net_out\n10:00:00,a,6000,1\n")
    (tmp_path / CSV_OF["disk"]).write_text("ts,server_id,disk_io\n")
    assert ref.read_csv_rows(tmp_path / CSV_OF["mem"]) == [
        {"ts": "10:00:00", "server_id": "server_2", "mem_pct": "86"}]
    assert ref.expected_cpu_mem_file(tmp_path) == (
        ",".join(JOBS["spark-job1"].header) + "\n"
        "server_10,10:00:00,10:00:30,10.00,,\n"
        "server_2,10:00:00,10:00:30,90.50,86.00,High CPU + Memory stress\n"
    )
    assert ref.expected_net_disk_file(tmp_path) == (
        ",".join(JOBS["spark-job2"].header) + "\n"
        "a,10:00:00,10:00:30,6000.00,,Possible DDoS\n"
    )
    (tmp_path / CSV_OF["net"]).write_text("ts,server_id,net_in,net_out\n")
    assert ref.expected_net_disk_file(tmp_path) == ",".join(JOBS["spark-job2"].header) + "\n"


# ------------------------------------------------- against a brute-force window scan

def brute_force_cpu_mem(cpu, mem, duration, slide):
    """Every grid window from t0 to the last record, every record scanned for each."""
    sods = {ref.parse_ts(ts)[1] for ts, _, _ in cpu + mem}
    start = ref.series_start(sods)

    def t(ts):
        sod = ref.parse_ts(ts)[1]
        return sod + 86400 if sod < start else sod
    t0 = min(t(ts) for ts, _, _ in cpu + mem)
    last = max(t(ts) for ts, _, _ in cpu + mem)
    rows = []
    for server in sorted({sid for _, sid, _ in cpu + mem}):
        k = 0
        while t0 + k * slide <= last:
            lo, hi = t0 + k * slide, t0 + k * slide + duration
            fields = []
            for source in (cpu, mem):
                values = [ref.float32_from_text(v) for ts, sid, v in source
                          if sid == server and lo <= t(ts) < hi]
                fields.append(ref.round_half_up_2(sum(values) / len(values)) if values else None)
            if fields != [None, None]:
                above = (ref.is_above(fields[0], 80.0), ref.is_above(fields[1], 85.0))
                rows.append([server, ref.format_time(lo, "time"), ref.format_time(hi, "time"),
                             ref.format_2dp(fields[0]), ref.format_2dp(fields[1]),
                             ref.ALERT_CPU_MEM[above]])
            k += 1
    return rows


@pytest.mark.parametrize("seed", range(30))
def test_matches_brute_force_scan(seed):
    rng = random.Random(seed)
    duration = rng.choice([30, 30, 20, 15, 7, 60])
    slide = rng.choice([10, 10, 5, 3, 30, duration])
    first = rng.choice([0, 36000, 86400 - 100, 86400 - 7])
    servers = [f"server_{i}" for i in rng.sample(range(1, 13), rng.randint(1, 4))]

    def records():
        out = []
        for _ in range(rng.randint(0, 25)):
            sod = (first + rng.randint(0, 200)) % 86400
            ts = f"{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}"
            out.append((ts, rng.choice(servers), f"{rng.randint(7000, 9500) / 100:.2f}"))
        return out
    cpu, mem = records(), records()
    if not cpu + mem:
        assert ref.expected_cpu_mem(cpu, mem, duration=duration, slide=slide) == []
        return
    assert ref.expected_cpu_mem(cpu, mem, duration=duration, slide=slide) == \
        brute_force_cpu_mem(cpu, mem, duration, slide)
