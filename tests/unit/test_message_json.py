"""The stream jobs read a message's JSON as from_json does, whichever way they take to it.

monitoring.jobs.message_json reads the producer's own form with string functions and hands every
other value to from_json: both must give the same struct for every value, to the float's bits, or
the live CSVs would differ from the team CSVs on some data. The values here are of the producer's
form (monitoring.core.records.encode_messages) with numbers whose float needs every digit, and
values of other forms the jobs may meet on a topic, which must take from_json's way.
"""
import decimal
import random
import struct

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from monitoring.config_file import load_config
from monitoring.core.records import encode_messages, parse_row
from monitoring.jobs.message_json import message_doc, message_schema, own_form, split_value
from monitoring.jobs.stream_job import warm_up_messages
from monitoring.wiring import STREAM_JOBS
from tests.support.pipeline import EXAMPLE_CONFIG

METRICS = ("cpu_pct", "mem_pct")

# Numbers whose nearest float is easy to miss: halfway cases and their neighbours, more digits
# than a double holds, exponents, the float range's ends, integers past 2**24.
HARD_NUMBERS = [
    "0", "0.0", "100", "12.5", "45.30", "0.1", "0.3", "1e2", "1E-3", "1e+2", "2.5e-1",
    "16777217", "16777219", "33554435", "123456789012345678901234567890",
    "0.500000029802322387695312500000000001", "0.500000029802322387695312499999999999",
    "0.5000000298023223876953125",
    "1.00000005960464477539062500000000001", "1.000000059604644775390625",
    "3.4028235e38", "3.4028235677973366e38", "3.4028236e38", "1e39", "1e-46", "1.4e-45", "7e-46",
    "1.1754943508222875e-38", "9.999999999999999999999999e-1", "99.99999999999999999999999",
    "0.000000000000000000000000000000000000000000001",
]


def form(metric: str, number: str, ts: str = "10:00:00", server: str = "web1") -> bytes:
    """A value of the producer's form (test_the_producer_writes_that_form), any number text in it."""
    return f'{{"ts":"{ts}","server_id":"{server}","{metric}":{number}}}'.encode()


def own_form_values(numbers):
    return [form(m, n, f"10:00:{i % 60:02d}", f"web{i % 7}") for i, n in enumerate(numbers) for m in METRICS]


# Of the producer's form, texts it would not send: read the string functions' way, as from_json does.
ODD_TEXTS = [b'{"ts":"","server_id":"","cpu_pct":1}', '{"ts":"10:00:00","server_id":"wéb1","cpu_pct":1}'.encode(),
             b'{"ts":"x y","server_id":"web1","mem_pct":1}',
             b'{"ts":"10:00:00","server_id":"web\xff1","cpu_pct":1}',   # not UTF-8: both read U+FFFD
             b'{"ts":"10:00:00","server_id":"web\xe2\x82","cpu_pct":1}',  # cut or invalid sequences
             b'{"ts":"10:00:00","server_id":"web\xed\xa0\x80","cpu_pct":1}',
             b'{"ts":"10:00:00","server_id":"web\xc0\xaf","cpu_pct":1}']

OTHER_FORMS = [
    b'{"ts": "10:00:00", "server_id": "web1", "cpu_pct": 12.5}',        # spaces
    b'{"server_id":"web1","ts":"10:00:00","cpu_pct":12.5}',             # another order
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":12.5,"x":1}',       # a field more
    b'{"ts":"10:00:00","server_id":"web1"}',                            # no value
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":"12.5"}',           # a number as text
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":null}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":true}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":[1]}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":{"a":1}}',
    b'{"ts":"10:00:00","server_id":"web1","disk_io":12.5}',             # another topic's metric
    b'{"ts":"10\\u003a00:00","server_id":"web1","cpu_pct":12.5}',       # escapes
    b'{"ts":"10:00:00","server_id":"web\\u0031","cpu_pct":12.5}',
    b'{"ts":"10:00:00","server_id":"we\\"b1","cpu_pct":12.5}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1}\n',              # a line break after it
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1}\r\n',
    '{"ts":"10:00:00","server_id":"web1","cpu_pct":1}\u2028'.encode(),
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1.' + b"5" * 150 + b'}',  # a number past 100 characters
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1' + b"0" * 1100 + b'}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":-0}',               # negative: from_json's way
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":-0.0}',
    b'{"ts":"10:00:00","server_id":"web1","mem_pct":-12.5}',
    b'{"ts":"10:00:00","server_id":"web1","mem_pct":-1e-50}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":+1}',               # outside JSON's grammar
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":012}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":.5}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1.}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1e}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":NaN}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":Infinity}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":-}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":0x10}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1f}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":12.5}x',            # not one JSON value
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":12.5',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":12.5,"cpu_pct":13}',  # a field twice
    b'{"ts":"10:00:00","ts":"11:00:00","server_id":"web1","cpu_pct":1}',
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1 }',
    b' {"ts":"10:00:00","server_id":"web1","cpu_pct":1}',
    b'\xef\xbb\xbf{"ts":"10:00:00","server_id":"web1","cpu_pct":1}',   # a byte order mark
    b'{"ts":"10:00:00","server_id":"web1","cpu_pct":1\xff}',
    b'{"ts":"10:00:00\x01","server_id":"web1","cpu_pct":1}',            # a raw control character
    b'{"ts":10,"server_id":"web1","cpu_pct":1}',
    b'[1, 2]', b'"text"', b'12', b'{}', b'', b'not json', b'{"ts":"a"b"}', None,
]


def random_numbers(count: int, seed: int = 7) -> list[str]:
    """Decimals of up to 25 digits and exponents, around floats' halfway points too."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.4:
            out.append(f"{rng.randrange(10 ** rng.randint(1, 12))}.{rng.randrange(10 ** rng.randint(1, 13))}")
        elif kind < 0.7:
            # the exact decimal of a halfway point between two floats, cut or nudged
            f = struct.unpack("<f", struct.pack("<I", rng.randrange(0x3c000000, 0x42c80000)))[0]
            nxt = struct.unpack("<f", struct.pack("<I", struct.unpack("<I", struct.pack("<f", f))[0] + 1))[0]
            half = str(decimal.Decimal((f + nxt) / 2))      # exact: two floats' mean is a double
            out.append(half if rng.random() < 0.5 else half + rng.choice(["0000001", "1", "9999"]))
        else:
            out.append(f"{rng.randrange(1, 10 ** rng.randint(1, 9))}e{rng.randint(-50, 40)}")
    return out


def read_both(spark, values, metrics=METRICS):
    schema = T.StructType([T.StructField("value", T.BinaryType())])
    frame = spark.createDataFrame([(v,) for v in values], schema).select(
        "value", split_value(F.col("value")).alias("pieces"))
    return frame.select(
        message_doc(F.col("value"), F.col("pieces"), metrics).alias("ours"),
        F.from_json(F.col("value").cast("string"), message_schema(metrics)).alias("spark"),
        own_form(F.col("pieces"), metrics).alias("own_form")).collect()


def bits(doc):
    """A struct's fields with each float as its bits (NaN and -0.0 compare as themselves)."""
    if doc is None:
        return None
    return tuple(struct.pack("<d", v) if isinstance(v, float) else v for v in doc)


@pytest.mark.parametrize("kind", ["hard numbers", "random", "other forms"])
def test_both_readings_give_the_same_struct(engine, kind):
    values = {"hard numbers": own_form_values(HARD_NUMBERS) + ODD_TEXTS, "random": own_form_values(random_numbers(3000)),
              "other forms": OTHER_FORMS}[kind]
    rows = read_both(engine, values)
    different = [(v, r["ours"], r["spark"]) for v, r in zip(values, rows) if bits(r["ours"]) != bits(r["spark"])]
    assert not different, different[:5]
    if kind == "other forms":
        # Both sides are from_json here: what these check is that none takes the string functions' way.
        assert not any(r["own_form"] for r in rows)
    else:
        # Not a vacuous check: the values of the producer's form all take the string functions' way.
        assert all(r["own_form"] for r in rows)
        assert all(r["ours"] is not None for r in rows)


def test_the_producer_writes_that_form():
    """The producer's messages are of the form the stream jobs read without from_json (a change of
    the producer's JSON would send every message the slow way)."""
    row = parse_row(["2026-12-03 16:52:04", "web-1.a:b_c", "0012.50", "7", "1.25", "0", "100"])
    messages = encode_messages(row)
    assert messages["cpu"] == form("cpu_pct", "12.50", "2026-12-03 16:52:04", "web-1.a:b_c")
    assert messages["mem"] == form("mem_pct", "7", "2026-12-03 16:52:04", "web-1.a:b_c")


def test_the_warm_up_messages_take_the_data_messages_way(spark):
    """The stream jobs' warm-up compiles the code the data's messages run: its made-up messages are
    of the producer's form too."""
    cfg = load_config(EXAMPLE_CONFIG)
    for job in STREAM_JOBS.values():
        values = [m["value"].encode() for m in warm_up_messages(cfg, job)]
        rows = read_both(spark, values, (job.first.metric, job.second.metric))
        assert all(r["own_form"] for r in rows)
