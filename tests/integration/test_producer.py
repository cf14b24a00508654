"""The producer on bad files, killed mid-run, run twice, and facing a broker that is not there."""
import signal
import subprocess
import sys
import time

import pytest

from tests.support.pipeline import (MAIN, SAMPLE, Service, assert_exactly_once, expected_consumer_rows, run, topics_of,
                                    wait_caught_up, write_config)

GOOD = ["10:00:00,s1,10.00,20.00,100.00,50.00,30.00", "10:00:05,s1,11.00,21.00,101.00,51.00,31.00",
        "10:00:00,s2,12.00,22.00,102.00,52.00,32.00"]


def _consume_all(config, tmp_path, roles=("consumer1", "consumer2")):
    consumers = [Service(config, r, tmp_path).start() for r in roles]
    try:
        for r in roles:
            wait_caught_up(config, r)
    finally:
        for c in consumers:
            c.stop()


def test_bad_rows_are_reported_by_line_and_the_good_ones_go_through(kafka_broker, tmp_path):
    lines = ["ts,server_id,cpu_pct,mem_pct,net_in,net_out,disk_io", GOOD[0],
             "10:00:05,s1,11.00,21.00,101.00,51.00",              # 3: a field missing
             "10:00:05,s2,abc,21.00,101.00,51.00,31.00",           # 4: not a number
             "10:00:05,s3,11.00,21.00,-101.00,51.00,31.00",        # 5: negative
             "25:00:05,s4,11.00,21.00,101.00,51.00,31.00",         # 6: bad ts
             "10:00:05,s5,11.00,21.00,101.00,51.00,31.00,extra",   # 7: extra column
             GOOD[1], "", GOOD[2]]
    data = tmp_path / "bad.csv"
    data.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())  # a BOM and CRLF, as Excel writes
    kafka_broker.create_topics(topics_of("badrows"), partitions=1)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "badrows", data_file=data)
    res = run(config, "producer")
    assert res.returncode == 0, res.stderr[-2000:]
    for line_no, why in [(3, "missing columns"), (4, "cpu_pct is not a number"), (5, "net_in is negative"),
                         (6, "bad ts"), (7, "extra columns")]:
        assert f"line {line_no} rejected: " in res.stderr and why in res.stderr
    assert "done: 8 rows read, 5 rejected, 12 messages acknowledged of 12 sent" in res.stderr
    _consume_all(config, tmp_path)
    good = tmp_path / "good.csv"
    good.write_text("\n".join([lines[0], *GOOD]) + "\n")
    assert_exactly_once(tmp_path / "output", expected_consumer_rows(good))


def test_empty_and_header_only_files_send_nothing_and_say_so(kafka_broker, tmp_path):
    kafka_broker.create_topics(topics_of("empty"), partitions=1)
    for content in ("", "ts,server_id,cpu_pct,mem_pct,net_in,net_out,disk_io\n"):
        data = tmp_path / "empty.csv"
        data.write_text(content)
        config = write_config(tmp_path, kafka_broker.bootstrap_servers, "empty", data_file=data)
        res = run(config, "producer")
        assert res.returncode == 0, res.stderr[-2000:]
        assert "holds no data rows" in res.stderr and "Traceback" not in res.stderr


def test_missing_data_file_is_one_clear_line(kafka_broker, tmp_path):
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "nofile", data_file=tmp_path / "nope.csv")
    res = run(config, "producer")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].endswith("nope.csv: no such file")


def test_killed_mid_run_and_run_again_and_run_twice_hold_each_row_once(kafka_broker, tmp_path):
    kafka_broker.create_topics(topics_of("twice"), partitions=3)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "twice", producer={"mode": "rate", "rate": 4000})
    first = Service(config, "producer", tmp_path).start()
    time.sleep(3)
    first.kill()                                   # part of the file went out
    assert run(config, "producer", "--mode", "fast").returncode == 0   # all of it, again
    assert run(config, "producer", "--mode", "fast").returncode == 0   # and once more
    _consume_all(config, tmp_path)
    assert_exactly_once(tmp_path / "output", expected_consumer_rows(SAMPLE))


def test_unreachable_broker_is_a_clear_error_after_a_bounded_wait(tmp_path):
    config = write_config(tmp_path, "127.0.0.1:9", "nobroker", kafka={"connect_timeout_seconds": 3})
    started = time.monotonic()
    res = run(config, "producer", timeout=60)
    took = time.monotonic() - started
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert "cannot reach the Kafka broker at 127.0.0.1:9 within 3 s" in last
    assert took < 30, f"took {took:.0f} s"


@pytest.mark.parametrize("role", ["producer", "consumer1"])
def test_a_stop_signal_while_connecting_ends_the_wait_at_once(tmp_path, role):
    """systemctl stop (or a reboot) while the broker is down: the process ends now, cleanly, not after
    the connect timeout with 'cannot reach the broker'."""
    config = write_config(tmp_path, "127.0.0.1:9", "nobroker", kafka={"connect_timeout_seconds": 60})
    proc = subprocess.Popen([sys.executable, str(MAIN), "--config", str(config), role],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # imports done, waiting for the broker
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - stopped < 5, err[-2000:]
    assert proc.returncode == 0, err[-2000:]
    assert "stopped before the broker answered" in err and "cannot reach" not in err
