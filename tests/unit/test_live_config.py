"""The config's live-path keys: `live:` (the stream jobs) and `topics.alerts`."""
from pathlib import Path

import pytest

from monitoring.core.config import ConfigError
from monitoring.wiring import ALERTS_TOPIC_DEFAULT, TOPICS
from tests.unit.test_config import build


def test_the_live_defaults():
    cfg = build()
    assert cfg.topics.alerts == ALERTS_TOPIC_DEFAULT
    assert cfg.live.enabled is True
    assert cfg.live.checkpoint_dir == cfg.output_dir / ".live"
    assert cfg.live.connector_dir is None
    assert (cfg.live.allowed_lateness_seconds, cfg.live.trigger_seconds, cfg.live.flush_after_seconds) == (10, 0.5, 20.0)
    assert cfg.live.shuffle_partitions == 1


def test_a_relative_checkpoint_dir_is_under_output_dir_and_the_connector_beside_the_config():
    cfg = build(live={"checkpoint_dir": "ck", "connector_dir": "jars", "allowed_lateness_seconds": 0})
    assert cfg.live.checkpoint_dir == cfg.output_dir / "ck"
    assert cfg.live.connector_dir == Path("/srv/monitoring/jars")
    assert cfg.live.allowed_lateness_seconds == 0


@pytest.mark.parametrize("changes,message", [
    ({"live": {"enabled": "yes"}}, "live.enabled: must be true or false"),
    ({"live": {"allowed_lateness_seconds": -1}}, "live.allowed_lateness_seconds: must be >= 0"),
    ({"live": {"trigger_seconds": 0}}, "live.trigger_seconds: must be >= 0.1"),
    ({"live": {"trigger_seconds": 30}}, "live.trigger_seconds: must be <= 5"),
    ({"live": {"flush_after_seconds": 120}}, "live.flush_after_seconds: must be <= 50"),
    ({"live": {"flush": 1}}, "live.flush: is not a known key"),
    ({"live": {"shuffle_partitions": 0}}, "live.shuffle_partitions: must be >= 1"),
    ({"topics__alerts": TOPICS["cpu"].default_name}, "topics.alerts: must not be one of the data topics"),
    ({"topics__alerts": "a b"}, "topics.alerts: must be a Kafka topic name"),
])
def test_each_live_mistake_is_one_line_naming_the_key(changes, message):
    with pytest.raises(ConfigError, match=message) as err:
        build(**changes)
    assert "\n" not in str(err.value)
