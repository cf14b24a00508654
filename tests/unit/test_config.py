import copy
from pathlib import Path

import pytest
import yaml

from monitoring.config_file import load_config
from monitoring.core.config import ConfigError, config_from_mapping
from monitoring.wiring import TOPICS

EXAMPLE = Path(__file__).resolve().parents[2] / "app" / "config" / "config.yaml"
BASE = yaml.safe_load(EXAMPLE.read_text())
HERE = Path("/srv/monitoring/config.yaml")


def build(**changes):
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node, *path = data, *dotted.split("__")
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node[k]
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return config_from_mapping(data, HERE)


DELETE = object()


def test_the_example_config_is_valid_and_typed():
    cfg = load_config(EXAMPLE)
    assert cfg.team_number == "42"
    assert cfg.kafka.bootstrap_servers == ("10.0.0.2:9092",)
    assert cfg.thresholds.net_in == 5000.0 and cfg.window.slide_seconds == 10
    assert cfg.output_dir == EXAMPLE.parent.parent / "output"
    assert cfg.data_file == EXAMPLE.parent.parent / "data" / "sample_data.csv"


def test_team_number_string_is_kept_as_written():
    assert build(team_number="04").team_number == "04"


def test_relative_paths_follow_the_config_file_and_absolute_stay():
    cfg = build(output_dir="out", data_file="/data/x.csv")
    assert cfg.output_dir == Path("/srv/monitoring/out") and cfg.data_file == Path("/data/x.csv")


@pytest.mark.parametrize("changes,message", [
    ({"team_number": DELETE}, "team_number: is missing"),
    ({"team_number": True}, "team_number: must be"),
    ({"team_number": "4/2"}, "team_number: must be letters"),
    ({"team_number": -1}, "team_number: must be >= 0"),
    ({"kafka__bootstrap_servers": []}, "kafka.bootstrap_servers: must list at least one"),
    ({"kafka__bootstrap_servers": ["10.0.0.2"]}, r"kafka.bootstrap_servers\[0\]: must be host:port"),
    ({"kafka__bootstrap_servers": ["h:99999"]}, "port must be 1-65535"),
    # Arabic-Indic digits: int() reads them, Kafka's clients do not.
    ({"kafka__bootstrap_servers": ["h:\u0669\u0660\u0669\u0662"]}, r"kafka.bootstrap_servers\[0\]: must be host:port"),
    ({"spark__driver_memory": "\u0661g"}, "spark.driver_memory"),
    ({"kafka": DELETE}, "kafka: is missing"),
    ({"thresholds__cpu": -5}, "thresholds.cpu: must be >= 0"),
    ({"thresholds__cpu": "80"}, "thresholds.cpu: must be a number"),
    ({"thresholds__cpu": 120}, "thresholds.cpu: is a percentage"),
    ({"thresholds__disk_io": DELETE}, "thresholds.disk_io: is missing"),
    ({"thresholds__cpuu": 3}, "thresholds.cpuu: is not a known key"),
    ({"window__slide_seconds": 40}, "window.slide_seconds: must not exceed window.duration_seconds"),
    ({"window__duration_seconds": 0}, "window.duration_seconds: must be >= 1"),
    ({"window__duration_seconds": 30.5}, "window.duration_seconds: must be a whole number"),
    ({"topics__net": TOPICS["cpu"].default_name}, "topics: must name four different topics"),
    ({"topics__net": "bad topic!"}, "topics.net: must be a Kafka topic name"),
    ({"hosts__broker": ""}, "hosts.broker: must be a non-empty address"),
    ({"producer__mode": "slow"}, "producer.mode: must be one of fast, rate, replay"),
    ({"producer__rate": 0}, "producer.rate: must be > 0"),
    ({"spark__shuffle_partitions": 0}, "spark.shuffle_partitions: must be >= 1"),
    ({"output_dir": 5}, "output_dir: must be a non-empty path"),
    ({"colour": "blue"}, "colour: is not a known key"),
])
def test_each_mistake_is_one_line_naming_the_key(changes, message):
    with pytest.raises(ConfigError, match=message) as err:
        build(**changes)
    assert "\n" not in str(err.value)


def test_not_a_mapping():
    with pytest.raises(ConfigError, match="config: must be a mapping"):
        config_from_mapping(["a"], HERE)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("team_number: [1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML at line \d"):
        load_config(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump({**BASE, "window": {"duration_seconds": 30, "slide_seconds": 60}}))
    with pytest.raises(ConfigError, match="wrong.yaml: window.slide_seconds"):
        load_config(wrong)


def sasl(**more):
    return build(kafka={"bootstrap_servers": ["b:9092"], "security_protocol": "SASL_SSL",
                        "sasl_username": "monitoring-consumer1", "sasl_password_file": "/etc/m/kafka-password",
                        **more})


def test_a_command_without_a_login_of_its_own_logs_in_as_the_machines_user():
    cfg = sasl(logins={"alerts": {"sasl_username": "monitoring-alerts-reader",
                                  "sasl_password_file": "/etc/m/kafka-password-alerts"}})
    for command in ("consumer1", "stream-job1", "wait-caught-up"):
        assert cfg.for_command(command).kafka.sasl_username == "monitoring-consumer1"
        assert cfg.for_command(command).kafka.sasl_password_file == Path("/etc/m/kafka-password")
    reader = cfg.for_command("alerts").kafka
    assert (reader.sasl_username, reader.sasl_password_file) == ("monitoring-alerts-reader",
                                                                 Path("/etc/m/kafka-password-alerts"))
    assert reader.bootstrap_servers == ("b:9092",) and reader.security_protocol == "SASL_SSL"
    assert sasl().for_command("alerts").kafka.sasl_username == "monitoring-consumer1"


@pytest.mark.parametrize("logins,message", [
    ({"nope": {"sasl_username": "u", "sasl_password_file": "/p"}}, "kafka.logins.nope: is not a command that uses Kafka"),
    ({"alerts": {"sasl_username": "u"}}, "kafka.logins.alerts.sasl_password_file: is missing"),
    ({"alerts": {"sasl_username": "a b", "sasl_password_file": "/p"}}, "kafka.logins.alerts.sasl_username: must be a Kafka user name"),
    ({"alerts": {"sasl_username": "u", "sasl_password_file": "/p", "x": 1}}, "kafka.logins.alerts.x: is not a known key"),
    (["alerts"], "kafka.logins: must map commands"),
])
def test_a_wrong_login_is_named(logins, message):
    with pytest.raises(ConfigError) as err:
        sasl(logins=logins)
    assert str(err.value).startswith(message), err.value


def test_a_config_from_standard_input_has_paths_relative_to_the_working_folder(monkeypatch, tmp_path):
    import io

    text = yaml.safe_dump({**BASE, "output_dir": "out"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    cfg = load_config("-")
    assert cfg.path == Path("<stdin>")
    assert cfg.output_dir == tmp_path / "out"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"team_number: [1\n")))
    with pytest.raises(ConfigError, match=r"^<stdin>: not valid YAML at line \d"):
        load_config("-")
