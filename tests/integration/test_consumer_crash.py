"""SIGKILL a consumer mid-stream, again and again: every message lands exactly once, no torn line."""
import random

from tests.support.pipeline import (CSV_FILES, CSV_OF, Service, assert_exactly_once, data_lines,
                                    expected_consumer_rows, run, topics_of, wait_caught_up, wait_for, write_config)


def test_sigkill_mid_stream_then_restart(kafka_broker, tmp_path):
    data = tmp_path / "data.csv"
    assert run(None, "generate", "--out", str(data), "--servers", "20", "--hours", "0.5").returncode == 0
    kafka_broker.create_topics(topics_of("crash"), partitions=3)
    # Small poll batches and a steady rate keep the consumer writing while it is killed.
    config = write_config(tmp_path, kafka_broker.bootstrap_servers, "crash", data_file=data,
                          consumer={"max_poll_records": 200},
                          producer={"mode": "rate", "rate": 2500})
    out = tmp_path / "output"
    consumer = Service(config, "consumer1", tmp_path).start()
    producer = Service(config, "producer", tmp_path).start()
    rng = random.Random(7)
    kills = 0
    try:
        for goal in (1000, 2500, 4000, 5500, 6500):  # of 7,200 rows
            goal += rng.randint(0, 300)
            wait_for(lambda: data_lines(out / CSV_OF["cpu"]) >= goal, 60, f"{CSV_OF['cpu']} to pass {goal} rows")
            consumer.kill()
            kills += 1
            consumer.start()
        assert producer.proc.wait(120) == 0, producer.text()[-2000:]
        wait_caught_up(config, "consumer1")
    finally:
        producer.stop()
        consumer.stop()
    assert kills == 5
    assert_exactly_once(out, expected_consumer_rows(data), CSV_FILES["consumer1"])
    assert "dropping" in consumer.text() or "holds" in consumer.text()
