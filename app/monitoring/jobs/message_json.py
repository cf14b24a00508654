"""A message's JSON value as the stream jobs read it: the producer's own form with string functions,
any other form through Spark's from_json, to the same struct.

Spark's from_json is most of what a message costs the stream jobs: it wraps each value in a reader
with a buffer of its own and runs outside the generated code (bench/analysis.md, "Live"). The
producer writes one form only (monitoring.core.records.encode_messages):
{"ts":"<ts>","server_id":"<id>","<metric>":<number>}. Split at its quotes, that form is 11 pieces
whose every piece but the values is known; a text without an escape or a control character is its
own value, a number in JSON's grammar (without a sign, at most 100 characters) is read by the same
correctly rounded float parse as from_json's. Any other value (spaces, another order, escapes, more
fields, a line break after it, not JSON) goes to from_json, so both read every message alike
(tests/unit/test_message_json.py).
"""
from __future__ import annotations

# JSON's number grammar without a sign, after the piece's ':' and before the closing brace, which
# ends the value (\z: Java's $ would also match before a final line break, and the cast of "1}"
# would then fail the query). A negative number goes to from_json: it reads "-0" as an integer,
# 0.0, where the float parse gives -0.0 (no measurement is negative; the producer sends none).
NUMBER_PIECE = r"^:(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\}\z"
# Longer numbers go to from_json too: Jackson refuses a number past its length limit (1000 digits
# by default), which the float parse would read. The piece holds the number between ':' and '}'.
NUMBER_MAX = 100
NUMBER_PIECE_MAX = NUMBER_MAX + len(":}")
# A text piece is its own value without an escape or a control character (JSON has none raw).
NOT_PLAIN = r"[\x00-\x1f\\]"
PIECES = 11


def message_schema(metrics: tuple[str, str]):
    from pyspark.sql import types as T

    return T.StructType([T.StructField("ts", T.StringType()), T.StructField("server_id", T.StringType()),
                         # FloatType is the contract: values are read as 32-bit floats before avg/max.
                         *[T.StructField(m, T.FloatType()) for m in metrics]])


def split_value(value):
    """The value as text split at its quotes: the pieces message_doc reads."""
    from pyspark.sql import functions as F

    return F.split(value.cast("string"), '"')


def piece(pieces, i: int):
    """The i-th piece, NULL past the last (p[i] fails the query under ANSI mode, Spark's default,
    and Spark may compute a piece the checks read twice before the count is checked)."""
    from pyspark.sql import functions as F

    return F.get(pieces, i)


def own_form(pieces, metrics: tuple[str, str]):
    """Whether the pieces are of the producer's form, with a value of `metrics` in JSON's grammar."""
    from pyspark.sql import functions as F

    p = [piece(pieces, i) for i in range(PIECES)]
    return ((F.size(pieces) == PIECES) & (p[0] == "{") & (p[1] == "ts") & (p[2] == ":") & (p[4] == ",")
            & (p[5] == "server_id") & (p[6] == ":") & (p[8] == ",") & p[9].isin(*metrics)
            & ~p[3].rlike(NOT_PLAIN) & ~p[7].rlike(NOT_PLAIN)
            & (F.length(p[10]) <= NUMBER_PIECE_MAX) & p[10].rlike(NUMBER_PIECE))


def message_doc(value, pieces, metrics: tuple[str, str]):
    """The struct (ts, server_id, *metrics) of a message's value; `pieces` is split_value(value),
    a column of its own (the checks and the fields read it many times)."""
    from pyspark.sql import functions as F

    p = [piece(pieces, i) for i in range(PIECES)]
    number = F.substring(p[10], F.lit(2), F.length(p[10]) - 2).cast("float")
    fields = F.struct(p[3].alias("ts"), p[7].alias("server_id"), *[F.when(p[9] == m, number).alias(m) for m in metrics])
    other = F.from_json(value.cast("string"), message_schema(metrics))
    return F.when(own_form(pieces, metrics), fields).otherwise(other)
