"""ansible-lint (production profile) and ansible-playbook --syntax-check on the deployment, with the
.venv's own binaries; and the site play's preflight, which must stop a wrong inventory or variable
before anything is installed, naming it."""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_tools import REPO, local_inventory, run, venv_tool

pytestmark = pytest.mark.lint

PLAYBOOKS = ("site.yml", "run-analysis.yml", "fetch-results.yml")


DEPRECATION = "[DEPRECATION WARNING]"
# A Python library's deprecation printed by every ansible command (cryptography 51 warns on the
# DSA names ansible-core imports): a user sees it on each run just the same.
PY_DEPRECATION = "DeprecationWarning"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook):
    res = run([venv_tool("ansible-playbook"), "--syntax-check", playbook])
    assert res.returncode == 0, f"ansible-playbook --syntax-check {playbook}:\n{res.stdout}"
    assert DEPRECATION not in res.stdout, f"ansible-playbook --syntax-check {playbook}:\n{res.stdout}"
    assert PY_DEPRECATION not in res.stdout, f"ansible-playbook --syntax-check {playbook}:\n{res.stdout}"


def test_ansible_lint_production_profile_passes():
    config = yaml.safe_load((REPO / ".ansible-lint").read_text())
    assert config.get("profile") == "production", ".ansible-lint must ask for the production profile"
    res = run([venv_tool("ansible-lint"), "--nocolor"])
    assert res.returncode == 0, f"ansible-lint failed:\n{res.stdout[-12000:]}"
    assert "Profile 'production' was required, and it passed" in res.stdout, res.stdout[-3000:]


def test_ansible_lint_fails_on_a_bad_playbook(tmp_path):
    """The lint run above can fail: the same config rejects a sloppy playbook."""
    bad = tmp_path / "bad.yml"
    bad.write_text(textwrap.dedent("""\
        ---
        - hosts: all
          tasks:
            - shell: echo hello
            - command: "touch /tmp/x"
        """))
    res = run([venv_tool("ansible-lint"), "--nocolor", "-c", REPO / ".ansible-lint", bad.name], cwd=tmp_path)
    assert res.returncode != 0, res.stdout
    assert "name[" in res.stdout or "fqcn" in res.stdout, res.stdout[-3000:]


# ---------------------------------------------------------------------------------------------
# The preflight plays (playbooks/preflight.yml, the first of site.yml) against a local inventory
# in check mode: they only read variables and the controller's files, and gather facts.
# ---------------------------------------------------------------------------------------------

def preflight(tmp_path: Path, *extra: str, brokers: int = 1, producers: int = 1, stray: bool = False,
              monitored: tuple = ()):
    """The preflight plays; a run that passes must print no deprecation warning either. The app's
    wheel is a stand-in (make wheelhouse builds the real one; the lint tests do not need it)."""
    inventory = local_inventory(tmp_path / "hosts.ini", brokers=brokers, producers=producers, stray=stray,
                                monitored=monitored)
    wheel = tmp_path / "monitoring-1.0.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    res = run([venv_tool("ansible-playbook"), "-i", inventory, "playbooks/preflight.yml", "--check",
               "-e", f"app_wheel_src={wheel}", *extra])
    assert DEPRECATION not in res.stdout, res.stdout[-6000:]
    return res


def one_line(output: str) -> str:
    """The output with its line wrapping undone (the yaml callback wraps long messages)."""
    return " ".join(output.split())


def test_preflight_passes_with_the_defaults(tmp_path):
    res = preflight(tmp_path)
    assert res.returncode == 0, res.stdout[-6000:]


@pytest.fixture(scope="module")
def local_sources(tmp_path_factory) -> tuple[Path, Path]:
    """A Kafka archive and a wheelhouse on the controller, as the lab hands them over."""
    sources = tmp_path_factory.mktemp("sources")
    archive = sources / "kafka_2.13-4.1.1.tgz"
    archive.write_bytes(b"")
    wheels = sources / "wheelhouse"
    wheels.mkdir()
    for name in ("pyspark-4.2.0-py2.py3-none-any.whl", "kafka_python-3.0.12-py3-none-any.whl"):
        (wheels / name).write_bytes(b"")
    return archive, wheels


def test_preflight_passes_with_local_sources(tmp_path, local_sources):
    """The controller-side checks run for each host that needs them, whatever host comes first
    in the play (a run_once there would let the producer's skip stand for the broker)."""
    archive, wheels = local_sources
    res = preflight(tmp_path, "-e", f"kafka_archive_src={archive}", "-e", f"app_wheelhouse_src={wheels}")
    assert res.returncode == 0, res.stdout[-6000:]


def test_preflight_names_a_wheelhouse_without_pyspark(tmp_path, local_sources):
    _, wheels = local_sources
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "kafka_python-3.0.12-py3-none-any.whl").write_bytes(b"")
    res = preflight(tmp_path, "-e", f"app_wheelhouse_src={partial}")
    assert res.returncode != 0, res.stdout[-3000:]
    assert f"spark_wheelhouse_src: no pyspark-*.whl in {partial}" in res.stdout, res.stdout[-4000:]


def test_preflight_passes_with_three_brokers(tmp_path):
    res = preflight(tmp_path, brokers=3)
    assert res.returncode == 0, res.stdout[-6000:]


BAD = [
    # The pipeline's settings: the app's own check-config, on config.yaml rendered on the controller.
    ({"window": {"duration_seconds": 10, "slide_seconds": 30}},
     "config.yaml (from group_vars/all.yml and the inventory): window.slide_seconds: must not exceed"),
    ({"thresholds": {"cpu": -1.0, "mem": 85.0, "net_in": 5000.0, "disk_io": 1500.0}}, "thresholds.cpu: must be >= 0"),
    ({"thresholds": {"cpu": 80.0, "mem": 85.0, "net_in": 5000.0}}, "thresholds.disk_io: is missing"),
    ({"producer": {"source": "kafka", "mode": "fast", "rate": 1, "speedup": 1, "live_interval_seconds": 5}},
     "producer.source: must be one of file, live"),
    ({"topics": {"cpu": "t", "mem": "t", "net": "n", "disk": "d"}}, "topics: must name four different topics"),
    # The roles' variables.
    ({"kafka_version": "3.9.1"}, "kafka_version must be a 4.x release"),
    ({"kafka_topic_replication_factor": 3}, "kafka_topic_replication_factor must be between 1 and the number of brokers"),
    ({"kafka_port": "ninety"}, "kafka_port"),
    ({"kafka_min_insync_replicas": 2}, "kafka_min_insync_replicas must be between 1 and kafka_topic_replication_factor (1)"),
    ({"java_min_version": "seventeen"}, "java_min_version"),
    ({"kafka_archive_src": "/nonexistent/kafka.tgz"}, "kafka_archive_src: no file /nonexistent/kafka.tgz"),
    ({"kafka_security": "ssl"}, "value of kafka_security must be one of: plaintext, sasl_scram"),
    ({"kafka_security": "sasl_scram"}, "kafka_sasl_broker_password must be set (from the vault"),
    ({"kafka_security": "sasl_scram", "vault_kafka_broker_password": "b" * 20, "vault_kafka_producer_password": "p" * 20,
      "vault_kafka_consumer1_password": "short", "vault_kafka_consumer2_password": "c" * 20,
      "vault_kafka_dashboard_password": "d" * 20, "vault_kafka_alerts_reader_password": "r" * 20},
     "not so for ['monitoring-consumer1']"),
    ({"kafka_security": "sasl_scram", "kafka_tls_pki_dir": "", **{f"vault_kafka_{who}_password": who * 20 for who in
      ("broker", "producer", "consumer1", "consumer2", "dashboard")}}, "kafka_tls_pki_dir must be an absolute folder on the controller"),
    ({"kafka_firewall": True, "kafka_firewall_client_sources": ["broker.example"]},
     "kafka_firewall: kafka_firewall_client_sources and kafka_firewall_broker_sources must be IP addresses"),
    ({"app_source_dir": "/nonexistent/app"}, "app_source_dir must be the app's folder on the controller"),
    ({"app_wheel_src": "/nonexistent/monitoring-1.0.0-py3-none-any.whl"},
     "app_wheel_src: no wheel /nonexistent/monitoring-1.0.0-py3-none-any.whl on the controller (make wheelhouse builds"),
    ({"app_data_src": "/nonexistent/data.csv"}, "app_data_src: no file /nonexistent/data.csv on the controller"),
    ({"verify_timeout": "soon"}, "verify_timeout"),
]


@pytest.mark.parametrize(("variables", "message"), BAD, ids=[m.split()[0] for _, m in BAD])
def test_preflight_names_a_wrong_variable(tmp_path, variables, message):
    res = preflight(tmp_path, "-e", json.dumps(variables))
    assert res.returncode != 0, f"preflight accepted {variables}:\n{res.stdout[-3000:]}"
    assert message in one_line(res.stdout), f"expected {message!r} in:\n{res.stdout[-4000:]}"


def test_preflight_names_a_host_in_no_group(tmp_path):
    res = preflight(tmp_path, stray=True)
    assert res.returncode != 0, res.stdout[-3000:]
    assert "cons3 is in none of the groups producer, broker, consumer1, consumer2" in res.stdout, res.stdout[-3000:]


def test_preflight_passes_with_monitored_machines(tmp_path):
    res = preflight(tmp_path, monitored=("cons1", "web1"))
    assert res.returncode == 0, res.stdout[-6000:]


@pytest.mark.parametrize("monitored, hosts", [
    (("web1",), "monitored host web1 (10.99.0.31): the replay and that host's samples"),
    (("cons1", "web1"), "monitored hosts cons1 (10.99.0.21) and web1 (10.99.0.31): the replay and those hosts' samples"),
], ids=["one-host", "two-hosts"])
def test_preflight_refuses_a_monitored_hostname_that_is_a_server_id_of_the_data_file(tmp_path, monitored, hosts):
    # Every host of the local inventory is this machine: its hostname is what each live source would use.
    # The refusal names, for the id, the inventory hosts of monitored that have that hostname.
    sid = socket.gethostname().split(".")[0]
    data = tmp_path / "clash.csv"
    data.write_text("ts,server_id,cpu_pct,mem_pct,net_in,net_out,disk_io\n"
                    f"10:00:00,{sid},10,20,1,2,3\n10:00:00,other,10,20,1,2,3\n")
    res = preflight(tmp_path, "-e", f"app_data_src={data}", monitored=monitored)
    assert res.returncode != 0, res.stdout[-3000:]
    assert (f"The group monitored: data file {data}: server id {sid} is also the hostname of {hosts} would write "
            "one series. Rename those servers" in one_line(res.stdout)), res.stdout[-4000:]


@pytest.mark.parametrize("content", ["", "ts,server_id,cpu_pct,mem_pct,net_in,net_out,disk_io\n"],
                         ids=["empty", "header-only"])
def test_preflight_refuses_a_data_file_without_data_rows(tmp_path, content):
    # The producer replays it (producer.source file): it would publish nothing, and the failure
    # showed only at the analysis.
    data = tmp_path / "empty.csv"
    data.write_text(content)
    res = preflight(tmp_path, "-e", f"app_data_src={data}")
    assert res.returncode != 0, res.stdout[-3000:]
    assert (f"app_data_src: data file {data} holds no data rows (it is empty, or only its header): the producer"
            in one_line(res.stdout)), res.stdout[-4000:]


def test_preflight_refuses_the_producer_monitored_while_its_own_source_is_live(tmp_path):
    live = {"producer": {"source": "live", "mode": "fast", "rate": 1, "speedup": 1, "live_interval_seconds": 5}}
    res = preflight(tmp_path, "-e", json.dumps(live), monitored=("prod1", "web1"))
    assert res.returncode != 0, res.stdout[-3000:]
    assert "prod1 is in the group monitored and its producer has source live" in one_line(res.stdout), res.stdout[-4000:]


def test_preflight_checks_the_inventory(tmp_path):
    res = preflight(tmp_path, producers=2)
    assert res.returncode != 0, res.stdout[-3000:]
    assert "exactly one host in each of the groups producer, consumer1 and consumer2" in res.stdout, res.stdout[-3000:]


def test_the_preflight_comes_first_in_site_yml():
    site = yaml.safe_load((REPO / "site.yml").read_text())
    order = [entry["ansible.builtin.import_playbook"] for entry in site]
    assert order[0] == "playbooks/preflight.yml"
    assert order.index("playbooks/kafka.yml") < order.index("playbooks/app.yml") < order.index("playbooks/services.yml")
    services = yaml.safe_load((REPO / "playbooks" / "services.yml").read_text())
    # The consumers before the producer; the live source's play on every host (it removes monitoring-live
    # where a machine left the group monitored).
    assert [play["hosts"] for play in services] == ["consumers", "producer", "all"], "consumers must start before the producer"


@pytest.mark.parametrize("playbook", ["java", "kafka", "app", "services", "verify", "analysis"])
def test_a_failure_on_one_machine_stops_the_run(playbook):
    """Without any_errors_fatal a failed host drops out and the others carry on (a consumer
    deployed against a broker that was never installed, a Spark job on half the data)."""
    plays = yaml.safe_load((REPO / "playbooks" / f"{playbook}.yml").read_text())
    for play in plays:
        assert play.get("any_errors_fatal") is True, f"{playbook}.yml: {play['name']}"


def test_preflight_passes_with_sasl_and_prints_no_secret(tmp_path):
    secrets = {f"vault_kafka_{who}_password": f"{who}-S3cr3t-{'x' * 12}"
               for who in ("broker", "producer", "consumer1", "consumer2", "dashboard")}
    res = preflight(tmp_path, "-v", "-e", json.dumps({"kafka_security": "sasl_scram", "kafka_firewall": True,
                                                      "live_enabled": False, **secrets}))
    assert res.returncode == 0, res.stdout[-6000:]
    leaked = [name for name, secret in secrets.items() if secret in res.stdout]
    assert leaked == [], f"the preflight printed {leaked}"


def test_preflight_passes_with_the_live_path_and_sasl_and_prints_no_secret(tmp_path):
    secrets = {f"vault_kafka_{who}_password": f"{who}-S3cr3t-{'x' * 12}"
               for who in ("broker", "producer", "consumer1", "consumer2", "dashboard", "alerts_reader")}
    res = preflight(tmp_path, "-v", "-e", json.dumps({"kafka_security": "sasl_scram", "kafka_firewall": True,
                                                      "live_enabled": True, **secrets}))
    assert res.returncode == 0, res.stdout[-6000:]
    leaked = [name for name, secret in secrets.items() if secret in res.stdout]
    assert leaked == [], f"the preflight printed {leaked}"


def test_preflight_names_the_missing_password_of_the_alerts_reader(tmp_path):
    secrets = {f"vault_kafka_{who}_password": who * 20
               for who in ("broker", "producer", "consumer1", "consumer2", "dashboard")}
    res = preflight(tmp_path, "-e", json.dumps({"kafka_security": "sasl_scram", "live_enabled": True, **secrets}))
    assert res.returncode != 0, res.stdout[-3000:]
    assert "not so for ['monitoring-alerts-reader']" in one_line(res.stdout), res.stdout[-4000:]


@pytest.mark.parametrize(("written", "read_as"), [("04", 4), ("010", 8)])
def test_preflight_refuses_an_unquoted_team_number_with_a_leading_zero(tmp_path, written, read_as):
    """YAML reads 04 as 4 and 010 as 8: the results would be named team_4_... without a word."""
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(f"---\nteam_number: {written}   # ours\n")
    res = preflight(tmp_path)
    assert res.returncode != 0, res.stdout[-3000:]
    out = one_line(res.stdout)
    assert f'is read by YAML as the number {read_as}' in out, res.stdout[-3000:]
    assert f'quote it: team_number: "{written}"' in out, res.stdout[-3000:]


def test_preflight_accepts_a_quoted_team_number_with_a_leading_zero(tmp_path):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text('---\nteam_number: "04"\n')
    res = preflight(tmp_path)
    assert res.returncode == 0, res.stdout[-3000:]


def test_preflight_refuses_a_pipeline_machine_listed_in_monitored_by_its_address(tmp_path):
    # "10.99.0.21" is cons1's ansible_host: two hosts to Ansible, one machine, whose monitoring-live
    # the live source's play would install on one host's turn and remove on the other's.
    res = preflight(tmp_path, monitored=("10.99.0.21", "web1"))
    assert res.returncode != 0, res.stdout[-3000:]
    assert ("10.99.0.21 (in monitored) and cons1 (not) are one machine, 10.99.0.21: its monitoring-live would be"
            in one_line(res.stdout)), res.stdout[-4000:]


def test_fetch_results_names_the_data_file_to_the_report():
    # report --dir without --data claims no data file: results.yml passes the producer's data file
    # (its path there) with its digest.
    plays = yaml.safe_load((REPO / "playbooks" / "results.yml").read_text())
    tasks = [t for play in plays for task in play.get("tasks", []) for t in [task, *task.get("block", [])]]
    argv = next(t["ansible.builtin.command"]["argv"] for t in tasks if t.get("name", "").startswith("Make the report"))
    assert "'report', '--dir', results_dir]" in argv
    assert "['--data', _results_data.path, '--data-digest', _results_data.checksum[:16]]" in argv
