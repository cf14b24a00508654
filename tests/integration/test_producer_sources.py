"""The producer's other sources and paces: live samples of this machine, replay at the pace of ts."""
import json
import socket
import time

from tests.support.pipeline import Service, read_topic, run, topics_of, wait_for, write_config


def test_live_source_samples_this_machine_under_its_hostname(kafka_broker, tmp_path):
    kafka_broker.create_topics(topics_of("live"), partitions=1)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "live")
    live = Service(config, "producer", tmp_path, "--source", "live", "--interval", "0.5").start()
    try:
        wait_for(lambda: len(read_topic(kafka_broker.bootstrap_servers, "live-net")) >= 3, 60, "three live samples")
    finally:
        assert live.stop() == 0, live.text()[-2000:]
    host = socket.gethostname().split(".")[0]
    values = [json.loads(r.value) for r in read_topic(kafka_broker.bootstrap_servers, "live-net")]
    assert all(v["server_id"] == host for v in values)
    assert all(len(v["ts"]) == 19 and v["ts"][4] == "-" for v in values)   # YYYY-MM-DD HH:MM:SS
    assert all(v["net_in"] >= 0 and v["net_out"] >= 0 for v in values)
    cpu = [json.loads(r.value)["cpu_pct"] for r in read_topic(kafka_broker.bootstrap_servers, "live-cpu")]
    assert all(0 <= c <= 100 for c in cpu)
    assert "live source: sampling" in live.text() and "done:" in live.text()


def test_replay_keeps_the_pace_of_ts_with_a_speedup(kafka_broker, tmp_path):
    data = tmp_path / "paced.csv"
    # 2 servers, 30 rows 5 s apart: 145 s of ts, replayed 50 times faster: about 2.9 s.
    assert run(None, "generate", "--out", str(data), "--servers", "2", "--hours", str(150 / 3600)).returncode == 0
    kafka_broker.create_topics(topics_of("replay"), partitions=1)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "replay", data_file=data)
    started = time.monotonic()
    res = run(config, "producer", "--mode", "replay", "--speedup", "50")
    assert res.returncode == 0, res.stderr[-2000:]
    stamps = sorted(r.timestamp for r in read_topic(kafka_broker.bootstrap_servers, "replay-cpu"))
    assert len(stamps) == 60
    spread = (stamps[-1] - stamps[0]) / 1000
    assert 145 / 50 * 0.9 <= spread, f"replay went too fast: {spread:.2f} s for 2.9 s of paced ts"
    assert time.monotonic() - started >= 2.6
