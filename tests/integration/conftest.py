"""Integration tests: real services on loopback (a real Kafka broker, real Spark).

Every test collected under tests/integration gets the `integration` mark, so
`pytest -m "not integration"` leaves them out.

The Kafka broker comes from build/kafka/kafka_2.13-$KAFKA_VERSION.tgz; without
it the `kafka_broker` fixture errors with "run `make kafka-dist`".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kafka_broker import KafkaBroker

_HERE = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "integration: needs real services on loopback (Kafka broker, Spark)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """One single-node KRaft broker on 127.0.0.1 for the whole session, stopped
    at the end whatever happened. Tests may restart() it, or kill_hard() and
    start() it (same ports, same data); such a test leaves it running."""
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
