"""Rows of the data file and the messages made from them: parsing and validation."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..wiring import DATA_COLUMNS, TOPICS
from .timeline import Stamp, TimestampError, parse_ts

COLUMNS = DATA_COLUMNS
METRICS = COLUMNS[2:]
PERCENT_METRICS = ("cpu_pct", "mem_pct")

# ASCII digits only: Python's \d also takes other scripts' digits, which JSON and Spark do not.
_NUMBER_RE = re.compile(r"^\d+(\.\d+)?$", re.ASCII)
SERVER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"   # also the stream jobs' Spark filter
_SERVER_RE = re.compile(SERVER_PATTERN)


class RowError(ValueError):
    """Why one row or message cannot be used; the text names the field."""


@dataclass(frozen=True)
class MetricRow:
    ts: str
    stamp: Stamp
    server_id: str
    values: dict  # metric name -> its text, as in the file (a valid JSON number)

    def fields(self, names) -> tuple[str, ...]:
        out = []
        for name in names:
            out.append(self.ts if name == "ts" else self.server_id if name == "server_id" else self.values[name])
        return tuple(out)


def number_text(name: str, raw: str) -> str:
    """The number's text, kept as written; only leading zeros, which JSON forbids, are dropped."""
    text = raw.strip()
    if text.startswith("-") and _NUMBER_RE.match(text[1:]):
        raise RowError(f"{name} is negative ({text})")
    if not _NUMBER_RE.match(text):
        raise RowError(f"{name} is not a number ({short(raw)})" if text else f"{name} is empty")
    if len(text) > 1 and text[0] == "0" and text[1] != ".":
        text = text.lstrip("0") or "0"
        if text.startswith("."):
            text = "0" + text
    if name in PERCENT_METRICS and float(text) > 100:
        raise RowError(f"{name} is above 100 ({text})")
    return text


def server_text(raw: str) -> str:
    text = raw.strip()
    if not _SERVER_RE.match(text):
        raise RowError(f"server_id {short(raw)} is not a name of letters, digits and _.:- (at most 128)")
    return text


def stamp_of(raw: str) -> Stamp:
    try:
        return parse_ts(raw.strip())
    except TimestampError as exc:
        raise RowError(str(exc)) from None


def parse_row(fields: list[str], columns: tuple[str, ...] = COLUMNS, ts_kind: str | None = None) -> MetricRow:
    """One data-file row, its fields already split; `columns` is the file's header order."""
    if len(fields) != len(columns):
        what = "extra" if len(fields) > len(columns) else "missing"
        raise RowError(f"{len(fields)} fields where {len(columns)} are expected ({what} columns)")
    by_name = dict(zip(columns, fields))
    stamp = stamp_of(by_name["ts"])
    if ts_kind is not None and stamp.kind != ts_kind:
        raise RowError(f"ts {by_name['ts'].strip()!r} is not in the same form as the first row's")
    values = {m: number_text(m, by_name[m]) for m in METRICS}
    return MetricRow(by_name["ts"].strip(), stamp, server_text(by_name["server_id"]), values)


def header_columns(fields: list[str]) -> tuple[str, ...] | None:
    """The column order if `fields` is a header naming all seven columns, else None."""
    names = tuple(f.strip().lower() for f in fields)
    if set(COLUMNS) <= set(names) and len(set(names)) == len(names):
        return names
    return None


def encode_messages(row: MetricRow) -> dict[str, bytes]:
    """The JSON value for each topic; numbers go out with the file's own text."""
    head = f'{{"ts":{json.dumps(row.ts)},"server_id":{json.dumps(row.server_id)}'
    return {k: (head + "".join(f',"{name}":{row.values[name]}' for name in topic.fields[2:]) + "}").encode()
            for k, topic in TOPICS.items()}


def decode_message(topic_key: str, value: bytes | None) -> tuple[str, ...]:
    """The CSV fields of one message, numbers as the text they were sent with."""
    if value is None:
        raise RowError("empty message")
    try:
        # parse_float/int=str keep each number's exact text ("45.30" stays "45.30").
        doc = json.loads(value, parse_float=str, parse_int=str)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RowError(f"not JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None
    if not isinstance(doc, dict):
        raise RowError("not a JSON object")
    names = TOPICS[topic_key].fields
    missing = [n for n in names if n not in doc]
    if missing:
        raise RowError(f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for name in ("ts", "server_id"):
        if not isinstance(doc[name], str):
            raise RowError(f"{name} is not a string")
    stamp_of(doc["ts"])
    out = [doc["ts"].strip(), server_text(doc["server_id"])]
    for name in names[2:]:
        if not isinstance(doc[name], str):  # parse_float/int made numbers text; bools, null are not
            raise RowError(f"{name} is not a number")
        out.append(number_text(name, doc[name]))
    return tuple(out)


# Record headers the producer sets: where the order of the data file is known, so the event time
# of a time-only row (its day) and the row's origin travel with the message.
EVENT_TIME_HEADER = "event_time"   # epoch milliseconds, ASCII digits
# 9999-12-31 23:59:59.999 UTC: the latest a timestamp is written as; the stream jobs skip a later
# one too (Spark's timestamps overflow far beyond it and fail the query under ANSI mode).
MAX_EVENT_MS = 253_402_300_799_999
ORIGIN_HEADER = "origin"           # "<data file digest>:<line number>"


def message_headers(event_time: int, origin: tuple[str, int] | None) -> list[tuple[str, bytes]]:
    headers = [(EVENT_TIME_HEADER, str(event_time * 1000).encode())]
    if origin is not None:
        headers.append((ORIGIN_HEADER, f"{origin[0]}:{origin[1]}".encode()))
    return headers


def message_event_time(headers: dict) -> int | None:
    """The event time in seconds the producer gave the message, or None if it has none."""
    raw = headers.get(EVENT_TIME_HEADER)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > len(str(MAX_EVENT_MS)) or int(raw) > MAX_EVENT_MS:
        raise RowError(f"header {EVENT_TIME_HEADER} is not epoch milliseconds up to year 9999 ({short(raw)})")
    return int(raw) // 1000


def message_origin(headers: dict) -> tuple[str, int] | None:
    raw = headers.get(ORIGIN_HEADER)
    if raw is None:
        return None
    digest, _, line = raw.decode(errors="replace").rpartition(":")
    if not digest or not (line.isascii() and line.isdigit()):
        raise RowError(f"header {ORIGIN_HEADER} is not <digest>:<line> ({short(raw)})")
    return digest, int(line)


def short(value, limit: int = 200) -> str:
    """A value for a log line: at most `limit` characters of it, and how long it was."""
    text = value.decode(errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def csv_line(fields: tuple[str, ...]) -> str:
    return ",".join(fields) + "\n"
