"""The stream job's pure pieces around a micro-batch: the latest event times the sink and the idle
flush take from a batch's updated windows, and the checkpoint's leftover checksum files."""
from monitoring.jobs.stream_job import MARK_SERVER, drop_checksums, latest_event_times


def window(server, latest):
    return (server, latest, 7, True, "10:00:00", "10:00:30", 1.5, 2.5, "")


def test_the_flush_marks_windows_are_not_the_datas_latest_event_time():
    # A mark's own window holds the mark's event time, past all data: counted for the sink's closing
    # rule, never for the idle flush (each mark would call for the next one).
    rows = [window("server_01", 43300), window(MARK_SERVER, 43500), window("server_02", 43345)]
    assert latest_event_times(rows) == (43500, 43345)


def test_a_batch_of_flush_marks_alone_has_no_data():
    assert latest_event_times([window(MARK_SERVER, 43500)]) == (43500, None)


def test_a_batch_without_updated_windows_has_no_event_time():
    # Duplicates, late rows or unusable messages alone update no window.
    assert latest_event_times([]) == (None, None)
    assert latest_event_times([window("server_01", None)]) == (None, None)


def test_an_earlier_versions_checksum_files_are_removed_and_nothing_else(tmp_path):
    spark = tmp_path / "spark"
    for name in ("offsets/0", "offsets/.0.crc", "commits/0", "commits/.0.crc", "state/0/0/1.delta",
                 "state/0/0/.1.delta.crc", "metadata", ".metadata.crc", "offsets/notes.crc"):
        (spark / name).parent.mkdir(parents=True, exist_ok=True)
        (spark / name).write_text("x")
    assert drop_checksums(spark) == 4
    left = sorted(str(p.relative_to(spark)) for p in spark.rglob("*") if p.is_file())
    assert left == ["commits/0", "metadata", "offsets/0", "offsets/notes.crc", "state/0/0/1.delta"]
    assert drop_checksums(spark) == 0
    assert drop_checksums(tmp_path / "none") == 0
