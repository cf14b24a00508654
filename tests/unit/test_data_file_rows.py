"""The data file as the producer (and server-ids) reads it: producer.sources.file_rows."""
from monitoring.producer.sources import file_rows


def test_a_header_after_blank_lines_still_names_the_columns(tmp_path):
    # A header is the first line with content, even when blank lines come before it: read as a
    # data row, it was rejected and the rows that follow were read in the default column order,
    # here swapping cpu_pct and mem_pct without a word.
    path = tmp_path / "data.csv"
    path.write_text("\r\n  \r\nts,server_id,mem_pct,cpu_pct,net_in,net_out,disk_io\r\n10:00:00,web1,90,10,1,2,3\r\n")
    rows = list(file_rows(path))
    assert [(n, r.server_id, r.values["cpu_pct"], r.values["mem_pct"]) for n, r in rows] == [(4, "web1", "10", "90")]


def test_a_header_is_recognised_on_the_first_line_with_content_only(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("10:00:00,web1,10,20,1,2,3\nts,server_id,cpu_pct,mem_pct,net_in,net_out,disk_io\n")
    rows = list(file_rows(path))
    assert rows[0][1].values["cpu_pct"] == "10"
    assert str(rows[1][1]).startswith("bad ts 'ts'")
