"""Reference implementation of the two Spark jobs' output files, in plain Python.

Written from the output contract only (never from app/), so the tests can grade
the real jobs against something that was derived independently. Stdlib only.

    rows = expected_cpu_mem(cpu_rows, mem_rows, thresholds={"cpu": 80.0, "mem": 85.0})
    text = expected_cpu_mem_file("/var/lib/monitoring/output")   # header + rows, "\\n" endings

Input rows are either dicts keyed by the CSV header (what `read_csv_rows` returns) or
sequences in the file's column order: (ts, server_id, cpu_pct), (ts, server_id, mem_pct),
(ts, server_id, net_in, net_out), (ts, server_id, disk_io). Output rows are lists of
strings, header excluded.

The numbers, as Spark computes them (checked against a real Spark in
tests/unit/test_spark_semantics.py):

* A CSV value read as FloatType is `java.lang.Float.parseFloat(text)`: the float32
  nearest to the decimal text (`float32_from_text`).
* avg() on a FloatType column widens every value to double, adds them in a double and
  divides by the count as doubles (`spark_avg`). The sum is taken exactly here (math.fsum);
  Spark adds in whatever order its partitions give, which yields the same double whenever
  the exact sum fits in 53 bits: always for percentages with two decimals (float32 values
  from 0.01 to 100, summed by the thousand, span well under 53 bits).
* max() on a FloatType column is the largest float32 (`max`).
* round(x, 2) is `BigDecimal(Double.toString(x)).setScale(2, HALF_UP)`; for a float, after
  widening it to double (so 2.675f, widened 2.674999952316284, gives 2.67). The written
  value is `Decimal(repr(x))` rounded half-up (`round_half_up_2`), with exactly two digits
  after the point. repr is the shortest round-tripping decimal, as Double.toString is from
  JDK 19 on; JDK 17's older Double.toString sometimes prints a longer string, which can only
  change a two-decimal HALF_UP result for the double nearest to a decimal ending in 5 at the
  third place; the semantics test checks those on the JVM that runs Spark.
* For a float, round(x, 2) then returns the float32 nearest to that decimal; above 131072
  that float cannot hold the second decimal (150000.13 -> 150000.125). The file still holds
  the decimal (150000.13): what format_string('%.2f', ...) of Spark's result writes.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
import re
import struct
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from operator import itemgetter

SECONDS_PER_DAY = 86400

DEFAULT_DURATION = 30
DEFAULT_SLIDE = 10
DEFAULT_THRESHOLDS = {"cpu": 80.0, "mem": 85.0, "net_in": 5000.0, "disk_io": 1500.0}

CPU_MEM_HEADER = ["server_id", "window_start", "window_end", "avg_cpu", "avg_mem", "alert"]
NET_DISK_HEADER = ["server_id", "window_start", "window_end", "max_net_in", "max_disk_io", "alert"]

# The consumers' CSVs: file name -> its columns (the header), in file order.
INPUT_COLUMNS = {
    "cpu_data.csv": ["ts", "server_id", "cpu_pct"],
    "mem_data.csv": ["ts", "server_id", "mem_pct"],
    "net_data.csv": ["ts", "server_id", "net_in", "net_out"],
    "disk_data.csv": ["ts", "server_id", "disk_io"],
}

ALERT_CPU_MEM = {
    (True, True): "High CPU + Memory stress",
    (True, False): "CPU spike suspected",
    (False, True): "Memory saturation suspected",
    (False, False): "",
}
ALERT_NET_DISK = {
    (True, True): "Network flood + Disk thrash suspected",
    (True, False): "Possible DDoS",
    (False, True): "Disk thrash suspected",
    (False, False): "",
}


# --------------------------------------------------------------------------- numbers

def float32_from_text(text: str) -> float:
    """The float32 nearest to the decimal `text` (ties to even), as a Python float.

    Like java.lang.Float.parseFloat. Going text -> double -> float32 can round twice;
    that only goes wrong when the double lands exactly halfway between two float32s,
    and then the text itself decides, compared exactly.
    """
    as_double = float(text)
    if math.isnan(as_double) or math.isinf(as_double):
        raise ValueError(f"not a finite number: {text!r}")
    nearest = _to_float32(as_double)
    if nearest == as_double:
        return nearest
    other = _float32_step(nearest, toward=as_double)
    halfway = (nearest + other) / 2  # exact: both are float32s of the same binade or adjacent
    if as_double != halfway:
        return nearest
    exact = Decimal(text.strip())
    if exact == Decimal(halfway):
        return nearest  # a true tie: the cast already rounded it to even
    below, above = sorted((nearest, other))
    return above if exact > Decimal(halfway) else below


def _to_float32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _float32_step(f: float, toward: float) -> float:
    """The float32 next to the float32 `f`, in the direction of `toward`."""
    bits = struct.unpack("<I", struct.pack("<f", f))[0]
    away_from_zero = (toward > f) == (f >= 0)
    if f == 0:
        bits = 1 if toward > 0 else 0x80000001
    else:
        bits += 1 if away_from_zero else -1
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def spark_avg(values: Sequence[float]) -> float:
    """avg() of float32 values: sum in double (exactly rounded here), then / count."""
    return math.fsum(values) / len(values)


def round_half_up_2(x: float) -> Decimal:
    """Spark's round(x, 2) as the decimal it computes: BigDecimal(Double.toString(x))
    .setScale(2, HALF_UP). For a FloatType x Spark widens the float to double first,
    so the same function serves both (pass the float32 value as a Python float)."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"not a finite number: {x!r}")
    with localcontext() as ctx:
        ctx.prec = 400
        rounded = Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = Decimal("0.00")  # a BigDecimal has no negative zero
    return rounded


def format_2dp(value: Decimal | None) -> str:
    """The written field: exactly two decimals, or empty for a missing metric."""
    if value is None:
        return ""
    return format(value, "f")


def is_above(value: Decimal | None, threshold) -> bool:
    """Strictly above the threshold, both as decimals; a missing metric never is."""
    if value is None:
        return False
    return value > _as_decimal(threshold)


def _as_decimal(number) -> Decimal:
    if isinstance(number, Decimal):
        return number
    if isinstance(number, float):
        return Decimal(repr(number))  # 80.0 -> Decimal("80.0"), 0.1 -> Decimal("0.1")
    return Decimal(str(number).strip())


# ----------------------------------------------------------------------------- time

_TIME_ONLY = re.compile(r"(\d\d):(\d\d):(\d\d)")
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def parse_ts(text: str) -> tuple[str, int]:
    """("time", seconds of day) for HH:MM:SS, ("datetime", epoch seconds, UTC) for
    YYYY-MM-DD HH:MM:SS. Anything else is an error."""
    match = _TIME_ONLY.fullmatch(text)
    if match:
        hours, minutes, seconds = (int(g) for g in match.groups())
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ValueError(f"bad time: {text!r}")
        return "time", hours * 3600 + minutes * 60 + seconds
    if _DATE_TIME.fullmatch(text):
        moment = _dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=_dt.timezone.utc)
        return "datetime", int(moment.timestamp())
    raise ValueError(f"ts is neither HH:MM:SS nor YYYY-MM-DD HH:MM:SS: {text!r}")


HALF_DAY = SECONDS_PER_DAY // 2


def unwrap_in_order(seconds: Iterable[tuple[str, int]]) -> list[int]:
    """Absolute seconds of (kind, seconds) stamps read in file order.

    Dated stamps are epoch seconds already. A time-only stamp more than 12 hours earlier than
    the previous row's has crossed midnight: one day more from there on (any number of times).
    A later time, or one at most 12 hours earlier (a late row), stays on the same day."""
    out, day, previous = [], 0, None
    for kind, value in seconds:
        if kind == "time":
            if previous is not None and previous - value > HALF_DAY:
                day += 1
            previous = value
            out.append(day * SECONDS_PER_DAY + value)
        else:
            out.append(value)
    return out


def format_time(seconds: int, kind: str) -> str:
    if kind == "time":
        seconds %= SECONDS_PER_DAY
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    moment = _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def window_starts(t: int, t0: int, duration: int, slide: int) -> range:
    """Starts of every window [t0 + k*slide, t0 + k*slide + duration), k >= 0, holding t."""
    first_k = max(0, (t - t0 - duration) // slide + 1)
    last_k = (t - t0) // slide
    return range(t0 + first_k * slide, t0 + last_k * slide + 1, slide)


# ----------------------------------------------------------------------------- jobs

class _Columns:
    """Re-iterable (ts, server_id, metric text) of a job's input rows: dicts keyed by the
    header, or sequences in the file's column order."""

    def __init__(self, rows, columns: list[str], metric: str):
        self.rows = rows if isinstance(rows, (list, tuple)) else list(rows)
        self.names = ("ts", "server_id", metric)
        self.indexes = tuple(columns.index(name) for name in self.names)

    def __iter__(self):
        if not self.rows:
            return iter(())
        keys = self.names if isinstance(self.rows[0], Mapping) else self.indexes
        return map(itemgetter(*keys), self.rows)


class _CsvColumns:
    """Re-iterable (ts, server_id, metric text) of a consumer CSV, read afresh each time
    (a 2.88-million-row file is never held in memory as dicts)."""

    def __init__(self, path, metric: str):
        self.path, self.metric = path, metric

    def __iter__(self):
        with open(self.path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return
            get = itemgetter(*(header.index(n) for n in ("ts", "server_id", self.metric)))
            yield from map(get, reader)


def _absolute_rows(sources):
    """(per source: [(absolute seconds, server_id, metric text)] in its order, "time" or
    "datetime"). Each source is read in its own order: the data file's, or a consumer CSV
    written by hand in file order."""
    cache, kinds, out, first = {}, set(), [], None
    for source in sources:
        rows = list(source)
        stamps = []
        for ts, _, _ in rows:
            if ts not in cache:
                cache[ts] = parse_ts(ts)
            stamps.append(cache[ts])
        kinds.update(kind for kind, _ in stamps)
        times = unwrap_in_order(stamps)
        if times and stamps[0][0] == "time":
            # Two time-only files start on the same day, or on days next to each other: the
            # second is put on the day that brings its first row nearest to the first's.
            if first is None:
                first = times[0]
            shift = min((-SECONDS_PER_DAY, 0, SECONDS_PER_DAY), key=lambda d: abs(times[0] + d - first))
            times = [t + shift for t in times]
        out.append([(t, server_id, text) for t, (_, server_id, text) in zip(times, rows)])
    if len(kinds) > 1:
        raise ValueError("the job's data mixes time-only and full-date ts")
    return out, (kinds.pop() if kinds else None)


def _expected_rows(sources, aggregate, thresholds, alerts, duration, slide):
    """sources: the job's two inputs, each re-iterable (ts, server_id, metric text).
    Returns the output rows."""
    if duration <= 0 or slide <= 0:
        raise ValueError("duration and slide must be positive")
    timed, kind = _absolute_rows(sources)
    if not any(timed):
        return []
    t0 = min(t for rows in timed for t, _, _ in rows)

    floats = {}   # metric text -> float32 value (the same texts recur)
    records = {}  # server_id -> ([(t, value) of input 0], [(t, value) of input 1])
    for index, rows in enumerate(timed):
        for t, server_id, text in rows:
            value = floats.get(text)
            if value is None:
                value = floats[text] = float32_from_text(text)
            if server_id not in records:
                if "," in server_id or "\n" in server_id or '"' in server_id:
                    raise ValueError(f"server_id needs quoting: {server_id!r}")
                records[server_id] = ([], [])
            records[server_id][index].append((t, value))

    times = {}  # absolute seconds -> formatted
    def formatted(moment):
        if moment not in times:
            times[moment] = format_time(moment, kind)
        return times[moment]

    rows = []
    for server_id in sorted(records):
        series = []  # per input: (sorted times, values in the same order)
        for server_records in records[server_id]:
            server_records.sort(key=itemgetter(0))
            series.append(([t for t, _ in server_records], [v for _, v in server_records]))
        # every window holding at least one record of this server, in either input
        starts = sorted({start
                         for server_times, _ in series
                         for t in set(server_times)
                         for start in window_starts(t, t0, duration, slide)})
        for start in starts:
            metrics = []
            for server_times, values in series:
                # the records with start <= t < start + duration
                first = bisect_left(server_times, start)
                end = bisect_left(server_times, start + duration)
                metrics.append(round_half_up_2(aggregate(values[first:end])) if end > first else None)
            above = tuple(is_above(m, t) for m, t in zip(metrics, thresholds))
            rows.append([server_id, formatted(start), formatted(start + duration),
                         format_2dp(metrics[0]), format_2dp(metrics[1]), alerts[above]])
    return rows


def _thresholds(given, names):
    merged = dict(DEFAULT_THRESHOLDS)
    merged.update(given or {})
    return [merged[name] for name in names]


def expected_cpu_mem(cpu_rows, mem_rows, thresholds=None,
                     duration=DEFAULT_DURATION, slide=DEFAULT_SLIDE) -> list[list[str]]:
    """Rows of team_<N>_CPU_MEM.csv (header excluded). thresholds: {"cpu": .., "mem": ..}."""
    sources = [_Columns(cpu_rows, INPUT_COLUMNS["cpu_data.csv"], "cpu_pct"),
               _Columns(mem_rows, INPUT_COLUMNS["mem_data.csv"], "mem_pct")]
    return _cpu_mem_rows(sources, thresholds, duration, slide)


def expected_net_disk(net_rows, disk_rows, thresholds=None,
                      duration=DEFAULT_DURATION, slide=DEFAULT_SLIDE) -> list[list[str]]:
    """Rows of team_<N>_NET_DISK.csv (header excluded). thresholds: {"net_in": .., "disk_io": ..}.
    net_out is neither written nor alerted on."""
    sources = [_Columns(net_rows, INPUT_COLUMNS["net_data.csv"], "net_in"),
               _Columns(disk_rows, INPUT_COLUMNS["disk_data.csv"], "disk_io")]
    return _net_disk_rows(sources, thresholds, duration, slide)


def _cpu_mem_rows(sources, thresholds, duration, slide):
    return _expected_rows(sources, spark_avg, _thresholds(thresholds, ["cpu", "mem"]),
                          ALERT_CPU_MEM, duration, slide)


def _net_disk_rows(sources, thresholds, duration, slide):
    return _expected_rows(sources, max, _thresholds(thresholds, ["net_in", "disk_io"]),
                          ALERT_NET_DISK, duration, slide)


# ------------------------------------------------------------------------------ files

def read_csv_rows(path) -> list[dict[str, str]]:
    """A consumer CSV (with its header) as a list of dicts."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def to_csv_text(header: list[str], rows: list[list[str]]) -> str:
    """Plain CSV, no quoting, "\\n" line endings."""
    return "".join(",".join(fields) + "\n" for fields in [header, *rows])


def expected_cpu_mem_file(output_dir, thresholds=None,
                          duration=DEFAULT_DURATION, slide=DEFAULT_SLIDE) -> str:
    """Exact text of team_<N>_CPU_MEM.csv for the consumers' CSVs in output_dir."""
    sources = [_CsvColumns(os.path.join(output_dir, "cpu_data.csv"), "cpu_pct"),
               _CsvColumns(os.path.join(output_dir, "mem_data.csv"), "mem_pct")]
    rows = _cpu_mem_rows(sources, thresholds, duration, slide)
    return to_csv_text(CPU_MEM_HEADER, rows)


def expected_net_disk_file(output_dir, thresholds=None,
                           duration=DEFAULT_DURATION, slide=DEFAULT_SLIDE) -> str:
    """Exact text of team_<N>_NET_DISK.csv for the consumers' CSVs in output_dir."""
    sources = [_CsvColumns(os.path.join(output_dir, "net_data.csv"), "net_in"),
               _CsvColumns(os.path.join(output_dir, "disk_data.csv"), "disk_io")]
    rows = _net_disk_rows(sources, thresholds, duration, slide)
    return to_csv_text(NET_DISK_HEADER, rows)


# ------------------------------------------------------------------------ data file

DATA_COLUMNS = ["ts", "server_id", "cpu_pct", "mem_pct", "net_in", "net_out", "disk_io"]
_NUMBER = re.compile(r"\d+(\.\d+)?")
_SERVER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def _valid_data_row(row: dict) -> bool:
    """The producer's contract for one data-file row: a ts in one of the two forms, a server
    name, and every metric a plain non-negative decimal (percentages at most 100). A row
    failing any of it is rejected whole, so it reaches none of the topics."""
    try:
        parse_ts(row["ts"].strip())
    except ValueError:
        return False
    if not _SERVER.fullmatch(row["server_id"].strip()):
        return False
    for name in DATA_COLUMNS[2:]:
        text = row[name].strip()
        if not _NUMBER.fullmatch(text):
            return False
        if name in ("cpu_pct", "mem_pct") and Decimal(text) > 100:
            return False
    return True


def data_file_rows(path) -> list[dict[str, str]]:
    """The valid rows of a data file, in file order, as the consumers' CSVs hold their fields
    (a header in any column order, a UTF-8 BOM and CRLF line ends accepted)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        rows = []
        for fields in reader:
            if len(fields) != len(header):
                continue
            row = dict(zip(header, fields))
            if _valid_data_row(row):
                rows.append({name: row[name].strip() for name in DATA_COLUMNS})
    return rows


def expected_files_from_data(paths, thresholds=None, duration=DEFAULT_DURATION,
                             slide=DEFAULT_SLIDE) -> tuple[str, str]:
    """Exact text of (team_<N>_CPU_MEM.csv, team_<N>_NET_DISK.csv) after the data files in
    `paths` were replayed, in that order, into an empty pipeline."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows = [row for path in paths for row in data_file_rows(path)]
    return (to_csv_text(CPU_MEM_HEADER, expected_cpu_mem(rows, rows, thresholds, duration, slide)),
            to_csv_text(NET_DISK_HEADER, expected_net_disk(rows, rows, thresholds, duration, slide)))
