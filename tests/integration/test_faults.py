"""Faults while data flows: the broker restarted or killed mid-run, a full or read-only output disk."""
import os
import subprocess
import time

import pytest

from tests.support.pipeline import (CSV_OF, SAMPLE, Service, assert_exactly_once, data_lines,
                                    expected_consumer_rows, run, topics_of, wait_caught_up, wait_for, write_config)


@pytest.mark.parametrize("hard", [False, True], ids=["restart", "kill-9"])
def test_producer_rides_out_a_broker_restart(kafka_broker, tmp_path, hard):
    prefix = f"bounce{int(hard)}"
    kafka_broker.create_topics(topics_of(prefix), partitions=3)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, prefix, producer={"mode": "rate", "rate": 3000})
    consumers = [Service(config, r, tmp_path).start() for r in ("consumer1", "consumer2")]
    producer = Service(config, "producer", tmp_path).start()
    try:
        wait_for(lambda: data_lines(tmp_path / "output" / CSV_OF["cpu"]) > 3000, 60, "the first rows")
        kafka_broker.restart(hard=hard)
        assert producer.proc.wait(180) == 0, producer.text()[-3000:]
        for r in ("consumer1", "consumer2"):
            wait_caught_up(config, r, timeout=120)
    finally:
        producer.stop()
        for c in consumers:
            c.stop()
    assert "28800 rows read, 0 rejected, 115200 messages acknowledged of 115200 sent" in producer.text()
    assert_exactly_once(tmp_path / "output", expected_consumer_rows(SAMPLE))


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs as the output folder: a real disk that can fill up and turn read-only."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_pauses_the_consumer_and_nothing_is_lost(kafka_broker, tmp_path, small_disk):
    kafka_broker.create_topics(topics_of("full"), partitions=3)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "full", output_dir=str(small_disk / "output"))
    filler = small_disk / "filler"
    filler.write_bytes(b"x" * (1_900 * 1024))     # leaves room for a few hundred rows, not 28,800
    consumer = Service(config, "consumer1", tmp_path).start()
    try:
        assert run(config, "producer").returncode == 0
        wait_for(lambda: "No space left on device" in consumer.text(), 60, "the consumer to report the full disk")
        assert "consumption paused, nothing committed" in consumer.text()
        assert consumer.proc.poll() is None, "the consumer must wait, not die"
        filler.unlink()                           # space is back
        wait_for(lambda: "again; nothing was lost" in consumer.text(), 30, "the consumer to say it writes again")
        wait_caught_up(config, "consumer1", timeout=120)
    finally:
        consumer.stop()
    expected = expected_consumer_rows(SAMPLE)
    assert_exactly_once(small_disk / "output", expected, (CSV_OF["cpu"], CSV_OF["mem"]))


def test_a_read_only_output_folder_is_reported_then_resumed(kafka_broker, tmp_path, small_disk):
    kafka_broker.create_topics(topics_of("rofs"), partitions=1)
    data = tmp_path / "small.csv"
    assert run(None, "generate", "--out", str(data), "--servers", "3", "--hours", "0.1").returncode == 0
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "rofs", data_file=data,
                          output_dir=str(small_disk / "output"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    consumer = Service(config, "consumer1", tmp_path).start()
    try:
        wait_for(lambda: "Read-only file system" in consumer.text(), 30, "the consumer to report the read-only disk")
        assert consumer.proc.poll() is None
        assert run(config, "producer").returncode == 0
        time.sleep(1)
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
        wait_caught_up(config, "consumer1", timeout=60)
    finally:
        consumer.stop()
    assert_exactly_once(small_disk / "output", expected_consumer_rows(data), (CSV_OF["cpu"], CSV_OF["mem"]))
