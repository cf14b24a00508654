"""kafka_security: sasl_scram and kafka_firewall on the lab (docs/security.md).

The lab is deployed with SASL/SCRAM over TLS, the ACLs and the nftables rules, with passwords
from an ansible-vault file made here (under .lab/, out of git); then: the pipeline still works end
to end, a client without credentials or with another role's is refused, a fifth host outside the
inventory cannot reach the broker's ports while the inventory's hosts can, no secret reaches the
play's output or the hosts' journals, and a second run changes nothing.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import urllib.request

import pytest

from monitoring import wiring

from .conftest import (LIVE_ON, ROOT, TEAM_CSV, assert_consumer_csvs_exact, assert_nothing_changed, expected_team_csvs,
                       lab, on, playbook, recap)

BROKER = "10.213.0.12"
PORTS = {"client": 9092, "controller": 9093, "internal": 9094}
DASHBOARD = "10.213.0.13"    # consumer1, group_vars' dashboard_host (the session runs with dashboard_enabled)
DASHBOARD_PORT = 8050
APP_HOSTS = ("producer", "consumer1", "consumer2")
SECURITY_DIR = ROOT / ".lab" / "security"
VAULT_FILE = SECURITY_DIR / "vault.yml"
VAULT_PASSWORD_FILE = SECURITY_DIR / "vault-password"
# The secured deployment runs the live path too (its stream jobs log in, write the alerts topic).
SECURED = {"kafka_security": "sasl_scram", "kafka_firewall": True, **LIVE_ON}
TOPIC = {key: topic.default_name for key, topic in wiring.TOPICS.items()}   # group_vars/all.yml keeps the wiring's
TOPIC["alerts"] = wiring.ALERTS_TOPIC_DEFAULT

# Runs on a lab host with the app's virtualenv: one Kafka action with the app's own client options
# (monitoring.config_file + monitoring.kafka_connection), prints OK or REFUSED <error>. It is read
# from stdin by the virtualenv's Python, so the package imported is the one installed from the wheel.
PROBE = r'''
import sys
from monitoring.config_file import load_config
from monitoring.kafka_connection import client_options
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
config, action, topic = sys.argv[1:4]
opts = dict(client_options(load_config(config)), bootstrap_timeout_ms=10000)
try:
    if action == "write":
        producer = KafkaProducer(**opts, acks="all", max_block_ms=10000)
        producer.send(topic, b'{"probe": true}', key=b"probe").get(timeout=15)
        producer.close()
    else:
        consumer = KafkaConsumer(**opts, enable_auto_commit=False)
        found = consumer.partitions_for_topic(topic)
        if not found:  # the broker hides a topic from a user who may not DESCRIBE it
            raise PermissionError(f"{topic} is not visible to this user")
        parts = [TopicPartition(topic, p) for p in sorted(found)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        got = sum(len(records) for records in consumer.poll(timeout_ms=8000).values())
        if not got:
            raise RuntimeError("read nothing")
    print("OK")
except Exception as exc:
    print("REFUSED", type(exc).__name__, str(exc)[:200])
'''


VAULT_USERS = ("broker", "producer", "consumer1", "consumer2", "dashboard", "alerts_reader")


def vault_passwords() -> dict[str, str]:
    return {f"vault_kafka_{who}_password": secrets.token_hex(16) for who in VAULT_USERS}


def make_vault() -> dict[str, str]:
    """An ansible-vault file of new passwords under .lab/security (0600, out of git); the passwords."""
    SECURITY_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(SECURITY_DIR, 0o700)
    if VAULT_FILE.exists() and VAULT_PASSWORD_FILE.exists():
        res = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-vault"), "view", "--vault-password-file",
                              str(VAULT_PASSWORD_FILE), str(VAULT_FILE)], capture_output=True, text=True, check=True)
        kept = dict(re.findall(r"^(vault_\w+): (\S+)$", res.stdout, re.M))
        if set(kept) >= set(vault_passwords()):
            return kept
        # A vault of an earlier run, without a user added since: made anew below.
    passwords = vault_passwords()
    fd = os.open(VAULT_PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(24) + "\n")
    fd = os.open(VAULT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("---\n" + "".join(f"{k}: {v}\n" for k, v in passwords.items()))
    subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(VAULT_PASSWORD_FILE), str(VAULT_FILE)], capture_output=True, text=True, check=True)
    assert VAULT_FILE.read_text().startswith("$ANSIBLE_VAULT;"), "the vault file is not encrypted"
    return passwords


def secured_playbook(name: str, *extra: str):
    return playbook(name, "--vault-password-file", str(VAULT_PASSWORD_FILE), "-e", f"@{VAULT_FILE}",
                    "-e", json.dumps(SECURED), *extra)


def can_connect(host: str, port: int, address: str = BROKER) -> bool:
    out = on(host, "python3 -c " + shlex.quote(
        f"import socket\ntry:\n socket.create_connection(({address!r}, {port}), timeout=4).close(); print('open')\n"
        f"except OSError as e:\n print('closed', e)"), timeout=60)
    return out.strip() == "open"


@pytest.fixture(scope="module")
def secured(lab_hosts):
    """The lab with the outsider, deployed with SASL/SCRAM, ACLs and the firewall; the passwords.
    The consumers' output is emptied first, so every row the checks see came through SASL."""
    lab("up", "--with-outsider", timeout=900)
    passwords = make_vault()
    for host in ("consumer1", "consumer2"):
        on(host, "systemctl stop monitoring-consumer1 monitoring-consumer2 monitoring-stream1 monitoring-stream2 "
                 "2>/dev/null; rm -rf /var/lib/monitoring/output/* /var/lib/monitoring/output/.[!.]*; true")
    res, took = secured_playbook("site.yml")
    assert res.returncode == 0, f"site.yml with SASL failed after {took:.0f} s:\n{res.stdout[-6000:]}\n{res.stderr[-2000:]}"
    print(f"site.yml with sasl_scram and the firewall: {took:.0f} s")
    return {"site": res, "passwords": passwords}


def probe(host: str, action: str, topic: str, config: str = "/etc/monitoring/config.yaml") -> str:
    on(host, f"cat > /root/probe.py <<'EOF'\n{PROBE}\nEOF")
    return on(host, f"cd / && /opt/monitoring/venv/bin/python - {config} {action} {topic} < /root/probe.py",
              timeout=120).strip()


def test_site_yml_with_sasl_and_the_firewall_deploys(secured):
    counters = recap(secured["site"].stdout)
    assert counters and all(c["failed"] == 0 and c["unreachable"] == 0 for c in counters.values())


def test_the_vault_keeps_the_passwords_out_of_git_and_out_of_the_output(secured):
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--error-unmatch", str(VAULT_FILE)],
                             capture_output=True, text=True)
    assert tracked.returncode != 0, "the lab's vault file is tracked by git"
    assert not subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(VAULT_FILE)]).returncode
    output = secured["site"].stdout + secured["site"].stderr
    leaked = [name for name, password in secured["passwords"].items() if password in output]
    assert leaked == [], f"site.yml printed {leaked}"


def test_no_secret_reaches_the_hosts_journals(secured):
    """Ansible logs each module's arguments to the journal unless the task has no_log."""
    pattern = "|".join(secured["passwords"].values())
    for host in ("producer", "broker", "consumer1", "consumer2"):
        assert int(on(host, "journalctl --no-pager -o cat | grep -c 'Invoked with' || true")) > 0, \
            f"{host}: no Ansible module in the journal: the check below would see nothing"
        count = on(host, f"journalctl --no-pager -o cat | grep -cE '{pattern}' || true").strip()
        assert count == "0", f"{host}: a password is in the journal {count} times"


def test_secret_files_are_0600_and_owned_by_their_service(secured):
    for host in APP_HOSTS:
        assert on(host, "stat -c '%U %a' /etc/monitoring/kafka-password").split() == ["monitoring", "600"], host
        # The alerts' reader (the live path): its own password file, as `monitoring alerts` reads it.
        assert on(host, "stat -c '%U %a' /etc/monitoring/kafka-password-alerts").split() == ["monitoring", "600"], host
    for path in ("/etc/kafka/server.properties", "/etc/kafka/tls/broker.pem"):
        assert on("broker", f"stat -c '%U %a' {path}").split() == ["kafka", "600"], path
    assert on("broker", "stat -c '%U %a' /etc/kafka/admin.properties").split() == ["root", "600"]


def test_the_listeners_are_bound_to_the_lab_address(secured):
    listening = on("broker", "ss -Hltn")
    for port in PORTS.values():
        bound = re.findall(rf"(\S+):{port}\s", listening)
        assert bound and all(BROKER in b for b in bound), f"port {port} is bound to {bound}"


def test_the_pipeline_works_end_to_end_exactly_once(secured):
    res, _ = secured_playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert_consumer_csvs_exact()
    state = on("producer", "systemctl show -p SubState,Result monitoring-producer")
    assert "SubState=exited" in state and "Result=success" in state, state


def test_the_analysis_runs_and_equals_the_reference(secured):
    res, took = secured_playbook("run-analysis.yml")
    assert res.returncode == 0, f"run-analysis.yml failed:\n{res.stdout[-6000:]}"
    print(f"run-analysis.yml with sasl_scram: {took:.0f} s")
    res, _ = secured_playbook("fetch-results.yml")
    assert res.returncode == 0, res.stdout[-6000:]
    want_cpu, want_net = expected_team_csvs()
    assert (ROOT / "results" / TEAM_CSV["spark-job1"]).read_text() == want_cpu
    assert (ROOT / "results" / TEAM_CSV["spark-job2"]).read_text() == want_net


# The live path (tests/e2e/test_live_lab.py's checks, on this deployment): the stream jobs log in as
# their consumers' users, through the firewall; `monitoring alerts` as the alerts' reader.
READER_CONFIG = "/root/reader.yaml"


def reader_config(host: str) -> str:
    """config.yaml with the alerts' reader as the machine's user (what PROBE then logs in as)."""
    on(host, "sed -e 's#^  sasl_username: .*#  sasl_username: \"monitoring-alerts-reader\"#' "
             "-e 's#^  sasl_password_file: \"/etc/monitoring/kafka-password\"$#"
             "  sasl_password_file: \"/etc/monitoring/kafka-password-alerts\"#' "
             f"/etc/monitoring/config.yaml > {READER_CONFIG}")
    assert "monitoring-alerts-reader" in on(host, f"grep '^  sasl_username' {READER_CONFIG}")
    return READER_CONFIG


def test_the_live_csvs_equal_the_team_csvs_with_sasl_and_the_firewall(secured):
    from .test_live_lab import assert_live_equals_batch

    assert_live_equals_batch(secured_playbook)


def test_every_alert_is_on_topic_alerts_and_its_reader_follows_them(secured):
    from .test_live_lab import APP, assert_every_team_alert_is_on_the_topic

    alerts = assert_every_team_alert_is_on_the_topic()   # read as the alerts' reader (kafka.logins)
    # As an operator follows them: one line per alert, each once, until Ctrl-C.
    out = on("consumer2", f"cd / && runuser -u monitoring -- timeout -s INT 45 {APP} alerts --from-beginning; true",
             timeout=120)
    lines = [line for line in out.splitlines() if line.startswith("stream-job")]
    assert len(lines) == len(set(lines)) == alerts, f"{len(lines)} lines ({len(set(lines))} different), {alerts} alerts"


def test_the_alerts_reader_may_only_read_the_alerts(secured):
    reader = reader_config("consumer1")
    assert probe("consumer1", "read", TOPIC["alerts"], reader) == "OK"
    out = probe("consumer1", "read", TOPIC["cpu"], reader)
    assert out == f"REFUSED PermissionError {TOPIC['cpu']} is not visible to this user", out
    out = probe("consumer1", "write", TOPIC["alerts"], reader)
    assert out.startswith("REFUSED") and "Authorization" in out, out
    # A stream job's user writes the alerts but may not read them.
    out = probe("consumer1", "read", TOPIC["alerts"])
    assert out.startswith("REFUSED"), out


def test_a_consumer_host_rebooted_mid_stream_with_sasl_loses_and_doubles_no_window(secured, tmp_path):
    from .test_live_lab import reboot_a_consumer_host_mid_stream

    # After test_live_lab.py's slice (19:10 to 21:10).
    reboot_a_consumer_host_mid_stream(tmp_path, "21:20:00", secured_playbook)


def test_each_role_may_do_what_it_needs(secured):
    assert probe("consumer1", "read", TOPIC["cpu"]) == "OK"
    assert probe("consumer2", "read", TOPIC["disk"]) == "OK"


def test_a_client_without_credentials_is_refused(secured):
    on("consumer1", "sed -E '/^  (security_protocol|sasl_|ssl_cafile)/d' /etc/monitoring/config.yaml > /root/plain.yaml")
    assert probe("consumer1", "read", TOPIC["cpu"], "/root/plain.yaml").startswith("REFUSED")
    # TLS and SCRAM, but a wrong password.
    on("consumer1", "echo not-the-password-0123 > /root/wrong-password && "
                    "sed 's#/etc/monitoring/kafka-password#/root/wrong-password#' /etc/monitoring/config.yaml > /root/wrong.yaml")
    assert probe("consumer1", "read", TOPIC["cpu"], "/root/wrong.yaml").startswith("REFUSED")


def test_the_producers_credentials_cannot_read(secured):
    out = probe("producer", "read", TOPIC["cpu"])
    assert out.startswith("REFUSED") and "Authorization" in out, out


def test_a_consumers_credentials_cannot_write_nor_read_the_other_consumers_topics(secured):
    out = probe("consumer1", "write", TOPIC["cpu"])
    assert out.startswith("REFUSED") and "Authorization" in out, out
    # consumer2's net topic exists (consumer2 reads it), but consumer1 may not even see it.
    assert probe("consumer2", "read", TOPIC["net"]) == "OK"
    out = probe("consumer1", "read", TOPIC["net"])
    assert out == f"REFUSED PermissionError {TOPIC['net']} is not visible to this user", out


def test_the_dashboard_reads_kafka_as_its_reader_which_may_only_read(secured):
    assert on("consumer1", "stat -c '%U %a' /etc/monitoring/kafka-dashboard-password").split() == ["monitoring", "600"]
    assert "--kafka-user monitoring-dashboard" in on("consumer1", "systemctl show -p ExecStart --value monitoring-dashboard")
    # From this controller (the firewall admits it): the board comes from Kafka, through the reader's login.
    snap = json.loads(urllib.request.urlopen(f"http://{DASHBOARD}:{DASHBOARD_PORT}/snapshot", timeout=10).read())
    assert snap["source"] == "kafka" and snap["servers"] and not snap["notice"], {k: snap[k] for k in ("source", "notice")}
    on("consumer1", "sed -e 's#^  sasl_username: .*#  sasl_username: \"monitoring-dashboard\"#' "
                    "-e 's#/etc/monitoring/kafka-password#/etc/monitoring/kafka-dashboard-password#' "
                    "/etc/monitoring/config.yaml > /root/dashboard.yaml")
    for topic in TOPIC.values():
        assert probe("consumer1", "read", topic, "/root/dashboard.yaml") == "OK", topic
    out = probe("consumer1", "write", TOPIC["cpu"], "/root/dashboard.yaml")
    assert out.startswith("REFUSED") and "Authorization" in out, out


def test_only_the_inventory_and_the_controller_reach_the_dashboard(secured):
    assert can_connect("producer", DASHBOARD_PORT, DASHBOARD)
    assert not can_connect("outsider", DASHBOARD_PORT, DASHBOARD), "the outsider reaches the dashboard"
    assert can_connect("outsider", 22, DASHBOARD)


def test_the_outsider_cannot_reach_the_brokers_ports(secured):
    for name, port in PORTS.items():
        assert not can_connect("outsider", port), f"the outsider reaches the {name} port {port}"
    # The outsider is on the network (ssh on the broker answers it): only Kafka's ports are closed.
    assert can_connect("outsider", 22)


def test_the_inventory_hosts_reach_the_client_port(secured):
    for host in APP_HOSTS:
        assert can_connect(host, PORTS["client"]), f"{host} cannot reach {BROKER}:{PORTS['client']}"
    assert not can_connect("producer", PORTS["controller"]), "only the brokers may reach the controller port"


def test_the_controller_keeps_ssh(secured):
    assert on("broker", "nft list table inet kafka_firewall | grep -c drop").strip() == "1"
    assert lab("ssh", "broker", "true", timeout=60).returncode == 0


def test_systemd_analyze_security_scores(secured):
    """Records the exposure of each unit (lower is better; docs/security.md has the numbers)."""
    scores = {}
    for host, unit in (("broker", "kafka"), ("producer", "monitoring-producer"),
                       ("consumer1", "monitoring-consumer1"), ("consumer2", "monitoring-consumer2"),
                       ("consumer1", "monitoring-dashboard")):
        line = on(host, f"systemd-analyze security --no-pager {unit}.service | tail -1")
        match = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", line)
        assert match, line
        scores[unit] = (float(match.group(1)), match.group(2))
    print("systemd-analyze security:", scores)
    assert all(score < 2.0 and rating == "OK" for score, rating in scores.values()), scores


def test_a_second_secured_run_changes_nothing(secured):
    res, took = secured_playbook("site.yml")
    assert_nothing_changed(res)
    print(f"site.yml with sasl_scram, second run: {took:.0f} s")


def test_a_password_changed_in_the_vault_is_set_on_the_broker_and_the_machine(secured):
    """site.yml sets the new password on the broker and in consumer2's password file; the old one stops working."""
    old = on("consumer2", "cat /etc/monitoring/kafka-password").strip()
    new = secrets.token_hex(16)
    res, _ = secured_playbook("site.yml", "-e", json.dumps({"vault_kafka_consumer2_password": new}))
    assert res.returncode == 0, res.stdout[-4000:]
    assert new not in res.stdout + res.stderr
    changed = {h: c["changed"] for h, c in recap(res.stdout).items()}
    assert changed["broker-node"] >= 1 and changed["consumer2-node"] >= 1, changed
    assert changed["consumer1-node"] == 0 and changed["producer-node"] == 0, changed
    assert probe("consumer2", "read", TOPIC["disk"]) == "OK"
    on("consumer2", f"echo {old} > /root/old-password && "
                    "sed 's#/etc/monitoring/kafka-password#/root/old-password#' /etc/monitoring/config.yaml > /root/old.yaml")
    assert probe("consumer2", "read", TOPIC["disk"], "/root/old.yaml").startswith("REFUSED")
    assert on("consumer2", "systemctl is-active monitoring-consumer2").strip() == "active"
    # Back to the vault's password: the other tests' state, and a change the other way.
    res, _ = secured_playbook("site.yml")
    assert res.returncode == 0, res.stdout[-4000:]
    assert probe("consumer2", "read", TOPIC["disk"]) == "OK"


def test_the_live_path_turned_off_is_removed_and_a_second_run_changes_nothing(secured):
    """live_enabled false after a deployment with it on: the stream units are stopped, disabled and
    their unit files removed; the consumers go on; one more run changes nothing. Last in the module:
    the lab is left without the live path."""
    off = ("-e", json.dumps({"live_enabled": False}))
    res, took = secured_playbook("site.yml", *off)
    assert res.returncode == 0, f"site.yml with live_enabled false failed:\n{res.stdout[-6000:]}\n{res.stderr[-2000:]}"
    print(f"site.yml turning the live path off: {took:.0f} s")
    for host, stream in (("consumer1", "monitoring-stream1"), ("consumer2", "monitoring-stream2")):
        state = on(host, f"systemctl show --property=LoadState,ActiveState {stream}.service; "
                         f"test -e /etc/systemd/system/{stream}.service && echo unit-file-left; "
                         "pgrep -f '[m]onitoring --config .* stream-job' >/dev/null && echo stream-job-running; true")
        assert "LoadState=not-found" in state and "ActiveState=inactive" in state, (host, state)
        assert "unit-file-left" not in state and "stream-job-running" not in state, (host, state)
        consumer = stream.replace("stream", "consumer")
        assert on(host, f"systemctl is-active {consumer}").strip() == "active", host
    res, took = secured_playbook("site.yml", *off)
    assert_nothing_changed(res)
    print(f"site.yml with the live path off, second run: {took:.0f} s")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
