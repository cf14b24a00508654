import hashlib
from pathlib import Path

from monitoring.core import generator
from monitoring.core.records import parse_row

SAMPLE = Path(__file__).resolve().parents[2] / "app" / "data" / "sample_data.csv"


def test_same_arguments_same_rows():
    spec = generator.Spec(servers=3, hours=0.1)
    assert list(generator.rows(spec)) == list(generator.rows(spec))
    assert list(generator.rows(spec)) != list(generator.rows(generator.Spec(servers=3, hours=0.1, seed=7)))


def test_shipped_sample_is_what_the_generator_makes():
    text = ",".join(generator.header()) + "\n" + "".join(",".join(r) + "\n" for r in generator.rows())
    assert hashlib.sha256(text.encode()).hexdigest() == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()


def test_sample_shape_and_bursts_of_every_kind():
    rows = [parse_row(r) for r in generator.rows()]
    assert len(rows) == 28_800
    assert len({r.server_id for r in rows}) == 20 and len({r.ts for r in rows}) == 1440
    assert rows[0].ts == "10:00:00" and rows[-1].ts == "11:59:55"
    assert all(len(v.split(".")[1]) == 2 for r in rows for v in r.values.values())
    v = lambda r, m: float(r.values[m])  # noqa: E731
    assert any(v(r, "cpu_pct") > 80 and v(r, "mem_pct") > 85 for r in rows)
    assert any(v(r, "cpu_pct") > 80 and v(r, "mem_pct") <= 85 for r in rows)
    assert any(v(r, "cpu_pct") <= 80 and v(r, "mem_pct") > 85 for r in rows)
    assert any(v(r, "net_in") > 5000 and v(r, "disk_io") > 1500 for r in rows)
    assert any(v(r, "net_in") > 5000 and v(r, "disk_io") <= 1500 for r in rows)
    assert any(v(r, "net_in") <= 5000 and v(r, "disk_io") > 1500 for r in rows)


def test_a_series_can_start_before_midnight():
    rows = list(generator.rows(generator.Spec(servers=1, hours=0.01, interval=5, start="23:59:50")))
    assert [r[0] for r in rows[:4]] == ["23:59:50", "23:59:55", "00:00:00", "00:00:05"]
