"""The reference's numbers (tests/support/reference.py) against a real local Spark.

What the reference relies on, read in Spark's source (sql/catalyst/.../expressions/
mathExpressions.scala, RoundBase; .../csv/UnivocityParser.scala; .../aggregate/Average.scala):

* CSV text -> FloatType is `datum.toFloat` (java.lang.Float.parseFloat).
* avg(FloatType): `Add(sum, coalesce(child.cast(DoubleType), 0))`, then
  `sum.cast(DoubleType) / count.cast(DoubleType)`.
* round(x, 2): DoubleType `BigDecimal(d).setScale(_scale, mode).toDouble`, FloatType
  `BigDecimal(f.toDouble).setScale(_scale, mode).toFloat` (interpreted), and
  `java.math.BigDecimal.valueOf(x).setScale(...)` (generated code; valueOf(double), so a
  float is widened too). Scala's BigDecimal(d) and Java's valueOf(d) both go through
  Double.toString(d), so the decimal that is rounded is the double's shortest-ish text,
  not its exact binary value.

Each check runs with generated code and with the interpreted path. A disagreement between
Spark and the reference fails the test.
"""

import random

from pyspark.sql import functions as F
from pyspark.sql import types as T

from tests.support import reference as ref

SCHEMA = T.StructType([
    T.StructField("g", T.StringType()),
    T.StructField("a", T.FloatType()),   # averaged, like cpu_pct / mem_pct
    T.StructField("m", T.FloatType()),   # maximised, like net_in / disk_io
])

# Groups of CSV texts; each group is averaged (column a) and maximised (column m).
CRAFTED = {
    # decimal ties that are not ties once read as float32
    "mean of 1.01 and 1.02": ["1.01", "1.02"],          # 1.0149999856948853 -> 1.01
    "1.015": ["1.015"],                                 # 1.0149999856948853 -> 1.01
    "2.675": ["2.675"],                                 # 2.674999952316284 -> 2.67
    "1.005": ["1.005"],                                 # 1.0049999952316284 -> 1.00
    "0.005": ["0.005"],                                 # 0.004999999888241291 -> 0.00
    "0.015": ["0.015"],
    "80.005": ["80.005"],                               # 80.00499725341797 -> 80.00
    "85.005": ["85.005"],
    "80.025": ["80.025"],                               # 80.0250015258789 -> 80.03
    # exact binary ties: half up
    "0.125": ["0.125"],
    "0.375": ["0.375"],
    "mean 1/8": ["1", "0", "0", "0", "0", "0", "0", "0"],           # 0.125 -> 0.13
    # a decimal tie in the double's text only: 0.075 is 0.07499999999999999722...
    "mean 3/40": ["3"] + ["0"] * 39,                                 # -> 0.08
    "mean 1/40": ["1"] + ["0"] * 39,                                 # 0.025 -> 0.03
    # at and around the thresholds
    "80.00": ["80.00"],
    "85.00": ["85.00"],
    "80.01": ["80.01"],
    "mean just above 80": ["80.01", "80.00"],           # 80.00500106811523 -> 80.01
    "mean exactly 85": ["85.01", "84.99"],              # float32s sum to exactly 170
    "5000.005": ["5000.005"],                           # 5000.0048828125 -> 5000.00
    "1500.005": ["1500.005"],                           # 1500.0050048828125 -> 1500.01
    "5000.01": ["5000.01"],
    # float32 cannot hold the second decimal above 131072
    "131072.01": ["131072.01"],                         # 131072.015625 -> 131072.02
    "150000.125": ["150000.125"],                       # round -> 150000.13 -> float 150000.125
    "150000.13": ["150000.13"],
    "300000.03": ["300000.03"],
    "999999.995": ["999999.995"],
    "16777217": ["16777217"],                           # float32 16777216
    # signs
    "-0.004": ["-0.004"],                               # 0.00, no negative zero
    "-1.005": ["-1.005"],
    "mixed signs": ["-2.5", "2.49"],
    # text -> double -> float32 would round twice
    "double rounding": ["1.00000005960464477539062501"],
    "many": [f"{i * 3.37 % 100:.2f}" for i in range(60)],
}


def write_groups(path, groups, max_texts=None):
    """A CSV g,a,m: every text of a group in both columns (or m from max_texts)."""
    lines = ["g,a,m"]
    for name, texts in groups.items():
        for i, text in enumerate(texts):
            m_text = max_texts[name][i] if max_texts else text
            lines.append(f"{name},{text},{m_text}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def spark_results(spark, path):
    """{group: Row(avg, max, round(avg, 2), round(max, 2), their '%.2f' texts)}."""
    df = spark.read.csv(path, header=True, schema=SCHEMA)
    out = (df.groupBy("g")
           .agg(F.avg("a").alias("avg"), F.max("m").alias("max"))
           .select("g", "avg", "max",
                   F.round("avg", 2).alias("r_avg"),
                   F.round("max", 2).alias("r_max"),
                   F.format_string("%.2f", F.round("avg", 2)).alias("s_avg"),
                   F.format_string("%.2f", F.round("max", 2)).alias("s_max")))
    return {row.g: row for row in out.collect()}


def check_group(row, avg_texts, max_texts):
    """Spark's numbers for one group == the reference's; returns a list of differences."""
    a_values = [ref.float32_from_text(t) for t in avg_texts]
    m_values = [ref.float32_from_text(t) for t in max_texts]
    avg, top = ref.spark_avg(a_values), max(m_values)
    r_avg, r_max = ref.round_half_up_2(avg), ref.round_half_up_2(top)
    expected = {
        "avg": avg,
        "max": top,
        # round on DoubleType returns the double of the rounded decimal ...
        "r_avg": float(r_avg),
        # ... on FloatType the float32 nearest to it
        "r_max": ref.float32_from_text(str(r_max)),
        "s_avg": ref.format_2dp(r_avg),
        "s_max": ref.format_2dp(r_max),
    }
    return [f"{row.g} {key}: spark {row[key]!r} reference {value!r}"
            for key, value in expected.items() if row[key] != value]


def test_csv_text_to_float32(engine, tmp_path):
    texts = [t for texts in CRAFTED.values() for t in texts] + [
        "45.30", "0.1", "1e-3", "3.4028234e38", "1.17549435E-38", "7.0064923216240854E-46",
        "0.000000000000000000000000000000000000000000001", "33554431", "+12.5", " 12.5"]
    path = tmp_path / "floats.csv"
    path.write_text("g,a,m\n" + "".join(f"{i},{t},0\n" for i, t in enumerate(texts)))
    rows = engine.read.csv(str(path), header=True, schema=SCHEMA).collect()
    differences = [f"{texts[int(r.g)]!r}: spark {r.a!r} reference {ref.float32_from_text(texts[int(r.g)])!r}"
                   for r in rows if r.a != ref.float32_from_text(texts[int(r.g)])]
    assert len(rows) == len(texts)
    assert differences == []


def test_round_avg_and_max_on_crafted_values(engine, tmp_path):
    results = spark_results(engine, write_groups(tmp_path / "crafted.csv", CRAFTED))
    assert sorted(results) == sorted(CRAFTED)
    differences = []
    for name, texts in CRAFTED.items():
        differences += check_group(results[name], texts, texts)
    assert differences == []


def test_crafted_values_round_as_documented(spark, tmp_path):
    """The crafted cases above do hit what they are meant to (so the comparison is not
    vacuous): Spark's own results, pinned."""
    results = spark_results(spark, write_groups(tmp_path / "crafted.csv", CRAFTED))
    pinned = {
        "mean of 1.01 and 1.02": ("1.01", "1.02"),
        "2.675": ("2.67", "2.67"),
        "0.005": ("0.00", "0.00"),
        "0.125": ("0.13", "0.13"),
        "mean 1/8": ("0.13", "1.00"),
        "mean 3/40": ("0.08", "3.00"),
        "80.005": ("80.00", "80.00"),
        "mean just above 80": ("80.01", "80.01"),
        "mean exactly 85": ("85.00", "85.01"),
        "1500.005": ("1500.01", "1500.01"),
        "150000.125": ("150000.13", "150000.13"),
        "-0.004": ("0.00", "0.00"),
        "-1.005": ("-1.00", "-1.00"),
    }
    assert {name: (results[name].s_avg, results[name].s_max) for name in pinned} == pinned
    assert results["150000.125"].r_max == 150000.125   # the float cannot hold .13


def test_round_avg_and_max_on_random_values(engine, tmp_path):
    rng = random.Random(20240601)
    avg_groups, max_groups = {}, {}
    for g in range(2500):
        size = rng.choice([1, 2, 3, 8, 10, 29, 30, 31, 40, rng.randint(1, 60)])
        if g % 5 == 0:     # whole numbers: means like x.125 or x.075 are decimal ties
            avg = [str(rng.randint(0, 100)) for _ in range(size)]
        else:              # percentages with two decimals (sometimes one or three)
            digits = rng.choice([2, 2, 2, 1, 3])
            avg = [f"{rng.randint(0, 100 * 10 ** digits) / 10 ** digits:.{digits}f}"
                   for _ in range(size)]
        scale = rng.choice([100, 5000, 100000, 131072, 1000000, 20000000])
        top = [f"{rng.uniform(0, scale):.{rng.choice([2, 2, 3])}f}" for _ in range(size)]
        avg_groups[f"g{g}"], max_groups[f"g{g}"] = avg, top
    results = spark_results(engine, write_groups(tmp_path / "random.csv", avg_groups, max_groups))
    assert len(results) == len(avg_groups)
    differences = []
    for name in avg_groups:
        differences += check_group(results[name], avg_groups[name], max_groups[name])
    assert differences[:20] == []


def test_round_on_doubles_nearest_to_decimal_ties(engine):
    """round(d, 2) for every double nearest to a decimal x.xx5 below 2000, and for a spread
    of them up to 10 million: where the double's text decides (JDK 17's Double.toString is
    not always the shortest text, this is where it would matter)."""
    small = engine.range(0, 200_000).select((F.col("id") * 10 + 5).alias("k"))
    spread = engine.range(0, 100_000).select(
        ((F.col("id") * 99_991 % 1_000_000) * 10_000 + 2_000_005).alias("k"))
    df = small.union(spread).select("k", F.round(F.col("k") / 1000, 2).alias("r"))
    rows = df.collect()
    assert len(rows) == 300_000
    differences = [(k, r) for k, r in rows if r != float(ref.round_half_up_2(k / 1000))]
    assert differences[:20] == []
    # and they are all rounded up, as decimals
    assert all(r == ((k + 5) // 10) / 100 for k, r in rows[:1000])


def test_round_on_double_column(engine, tmp_path):
    """round(double, 2) read from CSV as DoubleType (exact binary ties and decimal ties)."""
    values = [0.125, 0.375, 2.675, 1.005, 0.285, 1.015, 0.075, 80.005, 85.005, 5000.005,
              1500.005, 1e-7, 0.1 + 0.2, 123456789.125, 2.0049999999999999, 2.0050000000000001,
              -0.004, -2.675, 4.35, 4.345, 4.3449999999999998, 99999.995, 1234567.895]
    path = tmp_path / "doubles.csv"
    path.write_text("i,d\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(values)))
    schema = T.StructType([T.StructField("i", T.IntegerType()), T.StructField("d", T.DoubleType())])
    rows = (engine.read.csv(str(path), header=True, schema=schema)
            .select("i", "d", F.round("d", 2).alias("r")).collect())
    differences = [(values[row.i], row.r, ref.round_half_up_2(values[row.i]))
                   for row in rows
                   if row.d != values[row.i] or row.r != float(ref.round_half_up_2(values[row.i]))]
    assert len(rows) == len(values)
    assert differences == []
