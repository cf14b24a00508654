"""Messages a consumer cannot use (not JSON, missing fields, another producer's) are skipped, not fatal."""
from kafka import KafkaProducer

from tests.support.pipeline import CSV_OF, Service, run, topics_of, wait_caught_up, write_config


def test_bad_messages_are_logged_counted_and_skipped(kafka_broker, tmp_path):
    kafka_broker.create_topics(topics_of("junk"), partitions=1)
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "junk")
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    for value in (b"not json", b'{"ts": "10:00:00", "server_id": "s1"}', b'{"temperature": 21.5}', b"[]",
                  b'{"ts": "10:00:00", "server_id": "s1", "cpu_pct": 5.5}'):
        producer.send("junk-cpu", value)
    producer.send("junk-mem", b'{"ts": "10:00:00", "server_id": "s1", "mem_pct": 7.25, "from": "other-app"}')
    producer.flush()
    producer.close()
    consumer = Service(config, "consumer1", tmp_path).start()
    try:
        wait_caught_up(config, "consumer1", timeout=60)
    finally:
        assert consumer.stop() == 0
    out = tmp_path / "output"
    assert (out / CSV_OF["cpu"]).read_text() == "ts,server_id,cpu_pct\n10:00:00,s1,5.5\n"
    assert (out / CSV_OF["mem"]).read_text() == "ts,server_id,mem_pct\n10:00:00,s1,7.25\n"
    log = consumer.text()
    assert "skipped junk-cpu partition 0 offset 0: not JSON" in log
    assert "offset 1: missing field cpu_pct" in log and "offset 3: not a JSON object" in log
    assert "4 bad messages skipped" in log
    assert run(config, "check-config").returncode == 0
