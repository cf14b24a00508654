"""The templates as Ansible renders them: roles/kafka's server.properties for one and three brokers,
and roles/app's config.yaml.j2, from group_vars/all.yml and a local inventory (nothing runs remotely)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from monitoring import wiring

from tests.support.ansible_tools import REPO, local_inventory, run, venv_tool

pytestmark = pytest.mark.lint

# The config.yaml keys the app reads (app/pipeline/config.py rejects unknown ones).
CONFIG_KEYS = {
    "team_number": None,
    "output_dir": None,
    "data_file": None,
    "kafka": {"bootstrap_servers": None},
    "topics": {"cpu": None, "mem": None, "net": None, "disk": None},
    "hosts": {"producer": None, "broker": None, "consumer1": None, "consumer2": None},
    "thresholds": {"cpu": None, "mem": None, "net_in": None, "disk_io": None},
    "window": {"duration_seconds": None, "slide_seconds": None},
    "producer": {"source": None, "mode": None, "rate": None, "speedup": None, "live_interval_seconds": None},
    "spark": {"master": None, "shuffle_partitions": None},
    "live": {"enabled": None, "connector_dir": None, "allowed_lateness_seconds": None},
}

RENDER_PLAYBOOK = """\
- name: Render server.properties as the kafka role does
  hosts: broker
  gather_facts: false
  vars_files:
    - {repo}/playbooks/vars/wiring.yml
    - {repo}/playbooks/vars/roles.yml
  tasks:
    - name: The role's preflight (checks, and each broker's node id and address)
      ansible.builtin.import_role:
        name: kafka
        tasks_from: preflight
    - name: Render
      ansible.builtin.template:
        src: {repo}/roles/kafka/templates/server.properties.j2
        dest: "{out}/{{{{ inventory_hostname }}}}.properties"
        mode: "0644"
      delegate_to: localhost
    - name: Render the tools' client config and the firewall's rules
      ansible.builtin.template:
        src: "{repo}/roles/kafka/templates/{{{{ item }}}}.j2"
        dest: "{out}/{{{{ inventory_hostname }}}}-{{{{ item }}}}"
        mode: "0644"
      loop: [admin.properties, firewall.nft]
      delegate_to: localhost
    - name: The ACLs the kafka role sets (TYPE|resource|principal|OPERATION)
      ansible.builtin.copy:
        content: "{{{{ _kafka_acls_wanted | to_json }}}}"
        dest: "{out}/acls.json"
        mode: "0644"
      run_once: true
      delegate_to: localhost

- name: Render config.yaml as the app role does
  hosts: producer:consumers:monitored
  gather_facts: false
  vars_files:
    - {repo}/playbooks/vars/wiring.yml
    - {repo}/playbooks/vars/roles.yml
  tasks:
    - name: Read the kafka role's variables
      ansible.builtin.import_role:
        name: kafka
        tasks_from: defaults
    - name: Read the app role's variables
      ansible.builtin.import_role:
        name: app
        tasks_from: defaults
    - name: Write where the spark role takes the connector from (live_enabled)
      ansible.builtin.copy:
        content: "{{{{ spark_connector_src }}}}"
        dest: "{out}/connector-src"
        mode: "0644"
      delegate_to: localhost
      run_once: true
    - name: Render
      ansible.builtin.template:
        src: {repo}/roles/app/templates/config.yaml.j2
        dest: "{out}/{{{{ 'config' if 'producer' in group_names else 'config-' ~ inventory_hostname }}}}.yaml"
        mode: "0644"
      delegate_to: localhost

- name: Render the dashboard's unit and firewall as the services role does
  hosts: consumer1
  gather_facts: false
  vars_files:
    - {repo}/playbooks/vars/wiring.yml
    - {repo}/playbooks/vars/roles.yml
  vars:
    services_components: [dashboard]
  tasks:
    - name: Read the kafka role's variables
      ansible.builtin.import_role:
        name: kafka
        tasks_from: defaults
    - name: Read the app role's variables
      ansible.builtin.import_role:
        name: app
        tasks_from: defaults
    - name: Read the spark role's variables
      ansible.builtin.import_role:
        name: spark
        tasks_from: defaults
    - name: Read the services role's variables
      ansible.builtin.import_role:
        name: services
        tasks_from: defaults
    - name: Render the unit (item is the component, as in the role)
      ansible.builtin.template:
        src: "{repo}/roles/services/templates/monitoring.service.j2"
        dest: "{out}/monitoring-{{{{ item }}}}.service"
        mode: "0644"
      loop: [dashboard]
      delegate_to: localhost
    - name: Render the firewall's rules
      ansible.builtin.template:
        src: "{repo}/roles/services/templates/dashboard-firewall.nft.j2"
        dest: "{out}/dashboard-firewall.nft"
        mode: "0644"
      delegate_to: localhost

- name: Render the live source's unit on the monitored machines
  hosts: monitored
  gather_facts: false
  vars_files:
    - {repo}/playbooks/vars/wiring.yml
    - {repo}/playbooks/vars/roles.yml
  tasks:
    - name: Read the roles' variables
      ansible.builtin.include_role:
        name: "{{{{ item }}}}"
        tasks_from: defaults
        public: true
      loop: [kafka, app, spark, services]
    - name: Render the unit
      ansible.builtin.template:
        src: "{repo}/roles/services/templates/monitoring.service.j2"
        dest: "{out}/monitoring-{{{{ item }}}}-{{{{ inventory_hostname }}}}.service"
        mode: "0644"
      loop: [live]
      delegate_to: localhost
"""


def render(tmp_path: Path, brokers: int, *extra: str, monitored: tuple = ()) -> Path:
    """Run the render playbook against a local inventory with `brokers` broker hosts; the folder
    of the rendered files. The playbook sits in a folder whose group_vars is the repository's."""
    work = tmp_path / f"render-{brokers}"
    out = work / "out"
    out.mkdir(parents=True)
    (work / "group_vars").symlink_to(REPO / "group_vars")
    playbook = work / "render.yml"
    playbook.write_text(RENDER_PLAYBOOK.format(repo=REPO, out=out))
    inventory = local_inventory(work / "hosts.ini", brokers=brokers, monitored=monitored)
    res = run([venv_tool("ansible-playbook"), "-i", inventory, playbook, "-e", f"repo_dir={REPO}", *extra])
    assert res.returncode == 0, f"rendering failed:\n{res.stdout[-6000:]}"
    return out


def properties(path: Path) -> dict[str, str]:
    """key=value lines of a .properties file; a key set twice fails."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {line!r}"
        assert key not in found, f"{path.name}: {key} is set twice"
        found[key] = value
    return found


def key_tree(data):
    """The nested keys of a mapping, values dropped."""
    if isinstance(data, dict):
        return {k: key_tree(v) for k, v in data.items()}
    return None


@pytest.fixture(scope="module")
def one_broker(tmp_path_factory):
    return render(tmp_path_factory.mktemp("one"), 1)


@pytest.fixture(scope="module")
def three_brokers(tmp_path_factory):
    return render(tmp_path_factory.mktemp("three"), 3)


def test_one_broker_is_its_own_quorum(one_broker):
    props = properties(one_broker / "kafka1.properties")
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@10.99.0.11:9093"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["listeners"] == "PLAINTEXT://10.99.0.11:9092,CONTROLLER://10.99.0.11:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://10.99.0.11:9092,CONTROLLER://10.99.0.11:9093"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["log.dirs"] == "/var/lib/kafka/data"
    # One broker: every replication factor is 1, or Kafka's internal topics cannot be created.
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "default.replication.factor", "transaction.state.log.min.isr"):
        assert props[key] == "1", key
    assert not any(k.startswith("zookeeper") for k in props), "KRaft only"


def test_three_brokers_share_one_quorum(three_brokers):
    rendered = {h: properties(three_brokers / f"{h}.properties") for h in ("kafka1", "kafka2", "kafka3")}
    voters = "1@10.99.0.11:9093,2@10.99.0.12:9093,3@10.99.0.13:9093"
    for i, (host, props) in enumerate(sorted(rendered.items()), start=1):
        address = f"10.99.0.{10 + i}"
        assert props["node.id"] == str(i), host
        assert props["controller.quorum.voters"] == voters, host
        assert props["listeners"] == f"PLAINTEXT://{address}:9092,CONTROLLER://{address}:9093", host
        assert props["advertised.listeners"].startswith(f"PLAINTEXT://{address}:9092"), host
        assert props["offsets.topic.replication.factor"] == "3", host
        assert props["default.replication.factor"] == "3", host
        assert props["transaction.state.log.min.isr"] == "2", host


def test_three_brokers_are_the_bootstrap_servers(three_brokers):
    config = yaml.safe_load((three_brokers / "config.yaml").read_text())
    assert config["kafka"]["bootstrap_servers"] == ["10.99.0.11:9092", "10.99.0.12:9092", "10.99.0.13:9092"]
    assert config["hosts"]["broker"] == "10.99.0.11"


def test_config_yaml_has_exactly_the_apps_keys(one_broker):
    config = yaml.safe_load((one_broker / "config.yaml").read_text())
    assert key_tree(config) == CONFIG_KEYS
    assert config["team_number"] == 42
    assert config["output_dir"] == "/var/lib/monitoring/output"
    assert config["data_file"] == "/opt/monitoring/data/sample_data.csv"
    assert config["kafka"]["bootstrap_servers"] == ["10.99.0.11:9092"]
    assert config["hosts"] == {"producer": "10.99.0.1", "broker": "10.99.0.11",
                               "consumer1": "10.99.0.21", "consumer2": "10.99.0.22"}
    assert config["topics"] == {key: topic.default_name for key, topic in wiring.TOPICS.items()}
    assert config["thresholds"] == {"cpu": 80.0, "mem": 85.0, "net_in": 5000.0, "disk_io": 1500.0}
    assert config["window"] == {"duration_seconds": 30, "slide_seconds": 10}
    assert config["producer"]["source"] == "file"
    assert config["spark"] == {"master": "local[*]", "shuffle_partitions": 4}


def test_config_yaml_keys_are_those_of_the_apps_example(one_broker):
    example = REPO / "app" / "config" / "config.yaml"
    if not example.exists():
        pytest.skip("no app/config/config.yaml yet")
    wanted = key_tree(yaml.safe_load(example.read_text()))
    rendered = key_tree(yaml.safe_load((one_broker / "config.yaml").read_text()))
    # The example also shows optional sections with their defaults; all that is rendered must be in it.
    for section, keys in rendered.items():
        assert section in wanted, f"config.yaml.j2 renders {section}, which the app's example lacks"
        if isinstance(keys, dict):
            assert set(keys) <= set(wanted[section]), f"{section}: {set(keys) - set(wanted[section])} unknown"


def test_a_string_team_number_is_kept_as_written(tmp_path):
    out = render(tmp_path, 1, "-e", json.dumps({"team_number": "04", "producer": {
        "source": "live", "mode": "rate", "rate": 250, "speedup": 2, "live_interval_seconds": 1}}))
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["team_number"] == "04"
    assert config["producer"] == {"source": "live", "mode": "rate", "rate": 250, "speedup": 2,
                                  "live_interval_seconds": 1}
    assert config["live"]["allowed_lateness_seconds"] == 10      # rows at their own pace: a tight watermark


def test_a_fast_replay_gets_an_hour_of_lateness_and_a_real_pace_replay_ten_seconds(one_broker, tmp_path):
    """group_vars' default lateness follows the producer: the sample replayed fast runs hours of event
    time a second, and its partitions' skew would make rows late under a 10 s watermark."""
    assert yaml.safe_load((one_broker / "config.yaml").read_text())["live"]["allowed_lateness_seconds"] == 3600
    out = render(tmp_path, 1, "-e", json.dumps({"producer": {
        "source": "file", "mode": "replay", "rate": 1000, "speedup": 1, "live_interval_seconds": 5}}))
    assert yaml.safe_load((out / "config.yaml").read_text())["live"]["allowed_lateness_seconds"] == 10


def test_the_app_accepts_the_rendered_config(tmp_path):
    """The app's own check-config (the one the app role validates with) on the rendered file."""
    main = REPO / "app" / "main.py"
    if not main.exists():
        pytest.skip("no app/main.py yet")
    out = render(tmp_path, 3)
    python = REPO / ".venv" / "bin" / "python"
    res = run([python, main, "--config", out / "config.yaml", "check-config"])
    assert res.returncode == 0, res.stdout


def test_a_broken_template_fails_the_render(tmp_path):
    """The harness itself: an undefined variable in the template makes the render fail."""
    work = tmp_path / "broken"
    work.mkdir()
    (work / "group_vars").symlink_to(REPO / "group_vars")
    template = work / "bad.j2"
    template.write_text("x={{ kafka_no_such_variable }}\n")
    playbook = work / "bad.yml"
    playbook.write_text(textwrap.dedent(f"""\
        - name: Render a broken template
          hosts: broker
          gather_facts: false
          tasks:
            - name: Render
              ansible.builtin.template:
                src: {template}
                dest: {work}/bad.out
                mode: "0644"
              delegate_to: localhost
        """))
    res = run([venv_tool("ansible-playbook"), "-i", local_inventory(work / "hosts.ini"), playbook])
    assert res.returncode != 0
    assert "kafka_no_such_variable" in res.stdout


# ---------------------------------------------------------------------------------------------
# kafka_security: sasl_scram and kafka_firewall (docs/security.md).
# ---------------------------------------------------------------------------------------------

SECRETS = {
    "vault_kafka_broker_password": "broker-secret-0123456789",
    "vault_kafka_producer_password": "producer-secret-0123456789",
    "vault_kafka_consumer1_password": "consumer1-secret-0123456789",
    "vault_kafka_consumer2_password": "consumer2-secret-0123456789",
    "vault_kafka_dashboard_password": "dashboard-secret-0123456789",
}


@pytest.fixture(scope="module")
def sasl_brokers(tmp_path_factory):
    return render(tmp_path_factory.mktemp("sasl"), 3, "-e", json.dumps({
        "kafka_security": "sasl_scram", "kafka_firewall": True, "dashboard_enabled": True, "live_enabled": False,
        "services_dashboard_firewall_controller": "10.99.0.250", **SECRETS}))


def test_plaintext_has_no_security_settings(one_broker):
    props = properties(one_broker / "kafka1.properties")
    assert not any(k.startswith(("sasl.", "ssl.", "listener.name.", "authorizer", "super.users")) for k in props)
    config = yaml.safe_load((one_broker / "config.yaml").read_text())
    assert config["kafka"] == {"bootstrap_servers": ["10.99.0.11:9092"]}


def test_sasl_listeners_are_tls_with_scram_for_clients_and_plain_for_the_brokers(sasl_brokers):
    props = properties(sasl_brokers / "kafka2.properties")
    assert props["listeners"] == "CLIENT://10.99.0.12:9092,INTERNAL://10.99.0.12:9094,CONTROLLER://10.99.0.12:9093"
    assert props["advertised.listeners"].startswith("CLIENT://10.99.0.12:9092,INTERNAL://10.99.0.12:9094")
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SASL_SSL"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["inter.broker.listener.name"] == "INTERNAL"
    assert props["controller.quorum.voters"] == "1@10.99.0.11:9093,2@10.99.0.12:9093,3@10.99.0.13:9093"
    # Clients: SCRAM-SHA-512 only; the credentials live in the cluster's metadata.
    assert props["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.client.scram-sha-512.sasl.jaas.config"] == \
        "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    # The brokers and controllers: SASL/PLAIN as the broker user, who is the only user PLAIN knows.
    assert props["sasl.mechanism.inter.broker.protocol"] == "PLAIN"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    password = SECRETS["vault_kafka_broker_password"]
    for listener in ("internal", "controller"):
        assert props[f"listener.name.{listener}.sasl.enabled.mechanisms"] == "PLAIN"
        jaas = props[f"listener.name.{listener}.plain.sasl.jaas.config"]
        assert jaas == ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                        f'username="kafka-broker" password="{password}" user_kafka-broker="{password}";')
    assert props["ssl.keystore.type"] == "PEM" and props["ssl.keystore.location"] == "/etc/kafka/tls/broker.pem"
    assert props["ssl.truststore.type"] == "PEM" and props["ssl.truststore.location"] == "/etc/kafka/tls/ca.crt"
    assert props["ssl.endpoint.identification.algorithm"] == "https"


def test_sasl_authorizes_with_acls_and_the_broker_user_is_the_only_super_user(sasl_brokers):
    props = properties(sasl_brokers / "kafka1.properties")
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:kafka-broker"


def test_sasl_tools_log_in_as_the_broker_user_on_the_internal_listener(sasl_brokers):
    admin = properties(sasl_brokers / "kafka1-admin.properties")
    assert admin["security.protocol"] == "SASL_SSL"
    assert admin["sasl.mechanism"] == "PLAIN"
    assert f'password="{SECRETS["vault_kafka_broker_password"]}"' in admin["sasl.jaas.config"]
    assert admin["ssl.truststore.location"] == "/etc/kafka/tls/ca.crt"


def test_sasl_config_yaml_logs_each_machine_in_as_its_own_user(sasl_brokers):
    want = {"config.yaml": "monitoring-producer", "config-cons1.yaml": "monitoring-consumer1",
            "config-cons2.yaml": "monitoring-consumer2"}
    for name, user in want.items():
        kafka = yaml.safe_load((sasl_brokers / name).read_text())["kafka"]
        assert kafka == {
            "bootstrap_servers": ["10.99.0.11:9092", "10.99.0.12:9092", "10.99.0.13:9092"],
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": user,
            "sasl_password_file": "/etc/monitoring/kafka-password",
            "ssl_cafile": "/etc/monitoring/kafka-ca.crt",
        }, name
        # The password itself is never in config.yaml (it is in the 0600 file).
        assert not any(secret in (sasl_brokers / name).read_text() for secret in SECRETS.values())


READER_SECRET = {"vault_kafka_alerts_reader_password": "reader-secret-0123456789"}


@pytest.fixture(scope="module")
def sasl_live(tmp_path_factory):
    return render(tmp_path_factory.mktemp("sasl-live"), 1, "-e",
                  json.dumps({"kafka_security": "sasl_scram", "live_enabled": True, **SECRETS, **READER_SECRET}))


def acls_of(out: Path, user: str) -> set[str]:
    """The role's wanted ACLs of one user, as TYPE|PATTERN|resource|OPERATION."""
    found = set()
    for acl in json.loads((out / "acls.json").read_text()):
        kind, pattern, resource, principal, operation = acl.split("|")
        if principal == f"User:{user}":
            found.add(f"{kind}|{pattern}|{resource}|{operation}")
    return found


def test_the_acls_without_the_live_path(sasl_brokers):
    topic = {key: t.default_name for key, t in wiring.TOPICS.items()}
    assert acls_of(sasl_brokers, "monitoring-producer") == {f"TOPIC|LITERAL|{t}|WRITE" for t in topic.values()}
    for role, consumer in wiring.CONSUMERS.items():
        assert acls_of(sasl_brokers, f"monitoring-{role}") == (
            {f"TOPIC|LITERAL|{topic[key]}|READ" for key in consumer.topics} | {f"GROUP|LITERAL|monitoring-{role}|READ"})
    assert acls_of(sasl_brokers, "monitoring-alerts-reader") == set()
    kafka = yaml.safe_load((sasl_brokers / "config-cons1.yaml").read_text())["kafka"]
    assert "logins" not in kafka


def test_with_the_live_path_each_consumers_user_runs_its_stream_job_and_the_reader_reads_the_alerts(sasl_live):
    topic = {key: t.default_name for key, t in wiring.TOPICS.items()}
    alerts = wiring.ALERTS_TOPIC_DEFAULT
    for job in wiring.JOBS.values():
        role = next(r for r, c in wiring.CONSUMERS.items() if c.topics == job.topics)
        assert acls_of(sasl_live, f"monitoring-{role}") == (
            {f"TOPIC|LITERAL|{topic[key]}|READ" for key in job.topics} | {f"GROUP|LITERAL|monitoring-{role}|READ"}
            # The stream job: Spark's generated groups (groupIdPrefix monitoring-<stream job>), the alerts.
            | {f"GROUP|PREFIXED|monitoring-{job.stream}-|READ", f"TOPIC|LITERAL|{alerts}|WRITE"}), role
    assert acls_of(sasl_live, "monitoring-alerts-reader") == {
        f"TOPIC|LITERAL|{alerts}|READ", "GROUP|LITERAL|monitoring-alerts-reader|READ"}
    assert acls_of(sasl_live, "monitoring-producer") == {f"TOPIC|LITERAL|{t}|WRITE" for t in topic.values()}
    for name in ("config.yaml", "config-cons1.yaml", "config-cons2.yaml"):
        text = (sasl_live / name).read_text()
        assert yaml.safe_load(text)["kafka"]["logins"] == {"alerts": {
            "sasl_username": "monitoring-alerts-reader",
            "sasl_password_file": "/etc/monitoring/kafka-password-alerts"}}, name
        assert READER_SECRET["vault_kafka_alerts_reader_password"] not in text


def test_with_the_live_path_the_spark_role_takes_the_connector_of_the_pinned_pyspark(sasl_live, one_broker, sasl_brokers):
    pinned = re.search(r"(?m)^pyspark==(\S+)$", (REPO / "app" / "requirements-spark.txt").read_text()).group(1)
    assert (sasl_live / "connector-src").read_text() == f"{REPO}/build/spark-kafka/spark-kafka-{pinned}"
    assert (one_broker / "connector-src").read_text() == f"{REPO}/build/spark-kafka/spark-kafka-{pinned}"   # on by default
    assert (sasl_brokers / "connector-src").read_text() == ""                                             # live_enabled false


def test_the_alerts_command_logs_in_as_the_reader(sasl_live):
    from monitoring.config_file import load_config

    cfg = load_config(sasl_live / "config-cons1.yaml")
    assert cfg.for_command("alerts").kafka.sasl_username == "monitoring-alerts-reader"
    assert cfg.for_command("stream-job1").kafka.sasl_username == "monitoring-consumer1"


def test_the_app_accepts_the_sasl_config(sasl_brokers):
    main = REPO / "app" / "main.py"
    res = run([REPO / ".venv" / "bin" / "python", main, "--config", sasl_brokers / "config-cons1.yaml", "check-config"])
    assert res.returncode == 0, res.stdout


def test_the_firewall_admits_the_client_port_from_the_inventory_and_the_others_from_the_brokers(sasl_brokers):
    rules = (sasl_brokers / "kafka1-firewall.nft").read_text()
    sets = dict(re.findall(r"set (\w+) \{[^}]*?elements = \{ ([^}]*) \}", rules))
    assert set(sets["client_sources_v4"].split(", ")) == {
        "10.99.0.1", "10.99.0.11", "10.99.0.12", "10.99.0.13", "10.99.0.21", "10.99.0.22"}
    assert set(sets["broker_sources_v4"].split(", ")) == {"10.99.0.11", "10.99.0.12", "10.99.0.13"}
    assert 'iif "lo" accept' in rules
    assert "tcp dport 9092 ip saddr @client_sources_v4 accept" in rules
    assert "tcp dport { 9093, 9094 } ip saddr @broker_sources_v4 accept" in rules
    assert "tcp dport { 9092, 9093, 9094 } counter drop" in rules
    # Only Kafka's ports: ssh (22) and everything else are left to the machine's own rules.
    assert " 22" not in rules and "policy accept" in rules
    assert "delete table inet kafka_firewall" in rules and "flush ruleset" not in rules


def test_the_dashboards_reader_may_only_read_the_metric_topics_and_the_alerts_topic(sasl_brokers):
    """READ (which implies DESCRIBE) on the four topics and the alerts topic; no group, no write."""
    acls = json.loads((sasl_brokers / "acls.json").read_text())
    mine = sorted(a for a in acls if "|User:monitoring-dashboard|" in a)
    topics = [t.default_name for t in wiring.TOPICS.values()] + [wiring.ALERTS_TOPIC_DEFAULT]
    assert mine == sorted(f"TOPIC|LITERAL|{t}|User:monitoring-dashboard|READ" for t in topics)
    # The other users keep what they had: the consumers read their topics and their group only.
    assert "GROUP|LITERAL|monitoring-consumer1|User:monitoring-consumer1|READ" in acls
    alerts = f"TOPIC|LITERAL|{wiring.ALERTS_TOPIC_DEFAULT}|"
    assert not [a for a in acls if a.startswith(alerts) and "dashboard" not in a]


def test_the_dashboard_logs_in_as_its_reader_with_sasl_and_as_the_config_says_without(one_broker, sasl_brokers):
    def exec_start(folder):
        return next(line for line in (folder / "monitoring-dashboard.service").read_text().splitlines()
                    if line.startswith("ExecStart="))

    assert exec_start(sasl_brokers) == (
        "ExecStart=/opt/monitoring/venv/bin/monitoring --config /etc/monitoring/config.yaml dashboard"
        " --bind 10.99.0.21 --port 8050 --kafka-user monitoring-dashboard"
        " --kafka-password-file /etc/monitoring/kafka-dashboard-password")
    assert exec_start(one_broker) == (
        "ExecStart=/opt/monitoring/venv/bin/monitoring --config /etc/monitoring/config.yaml dashboard"
        " --bind 10.99.0.21 --port 8050")
    assert "ReadWritePaths" not in (sasl_brokers / "monitoring-dashboard.service").read_text()


def test_the_dashboards_firewall_admits_its_port_from_the_inventory_and_the_controller(sasl_brokers):
    rules = (sasl_brokers / "dashboard-firewall.nft").read_text()
    sets = dict(re.findall(r"set (\w+) \{[^}]*?elements = \{ ([^}]*) \}", rules))
    assert set(sets["sources_v4"].split(", ")) == {
        "10.99.0.1", "10.99.0.11", "10.99.0.12", "10.99.0.13", "10.99.0.21", "10.99.0.22", "10.99.0.250"}
    assert "tcp dport 8050 ip saddr @sources_v4 accept" in rules
    assert "tcp dport 8050 counter drop" in rules and 'iif "lo" accept' in rules
    assert " 22" not in rules and " 9092" not in rules and "policy accept" in rules
    assert "delete table inet monitoring_dashboard" in rules and "flush ruleset" not in rules


@pytest.fixture(scope="module")
def sasl_monitored(tmp_path_factory):
    return render(tmp_path_factory.mktemp("sasl-monitored"), 1, "-e",
                  json.dumps({"kafka_security": "sasl_scram", "live_enabled": True, **SECRETS, **READER_SECRET}),
                  monitored=("cons1", "web1"))


def test_a_monitored_machine_publishes_its_samples_as_the_producer(sasl_monitored):
    from monitoring.config_file import load_config

    # A machine that is only monitored logs in as the producer; a consumer that is also monitored
    # keeps its own user and gives the producer command the producer's login.
    web1 = load_config(sasl_monitored / "config-web1.yaml")
    assert (web1.kafka.sasl_username, set(web1.kafka.logins)) == ("monitoring-producer", {"alerts"})
    cons1 = load_config(sasl_monitored / "config-cons1.yaml")
    assert cons1.kafka.sasl_username == "monitoring-consumer1"
    assert cons1.for_command("producer").kafka.sasl_username == "monitoring-producer"
    assert cons1.for_command("consumer1").kafka.sasl_username == "monitoring-consumer1"
    cons2 = load_config(sasl_monitored / "config-cons2.yaml")
    assert set(cons2.kafka.logins) == {"alerts"}
    for name in ("config-web1.yaml", "config-cons1.yaml"):
        assert not any(secret in (sasl_monitored / name).read_text() for secret in SECRETS.values())


def test_the_live_source_unit_runs_the_producer_on_this_machines_metrics(sasl_monitored):
    for host in ("cons1", "web1"):
        unit = (sasl_monitored / f"monitoring-live-{host}.service").read_text()
        lines = unit.splitlines()
        assert "ExecStart=/opt/monitoring/venv/bin/monitoring --config /etc/monitoring/config.yaml producer --source live" in lines
        # Runs until stopped, restarted on failure, hardened like the others.
        assert "RemainAfterExit=yes" not in lines and "Restart=on-failure" in lines
        assert {"NoNewPrivileges=yes", "ProtectSystem=strict", "MemoryDenyWriteExecute=yes", "CapabilityBoundingSet="} <= set(lines)
    assert not list(sasl_monitored.glob("monitoring-live-cons2.service"))
