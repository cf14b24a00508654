"""site.yml on the lab's other topologies, each from scratch on fresh hosts: as the user `deploy` whose
sudo asks for a password (lab/topologies/sudo.yml), on Debian 13 (trixie.yml), and on the seven-host mix of
Debian 12 and 13, root and sudo logins, three brokers (mixed.yml). None sets java_package: the java role
picks the release's runtime. Each: the pipeline end to end equal to the reference, then a second run with
changed=0. On the three brokers also: a config change rolled through them while the producer runs, and
the quorum losing a broker to kill -9 mid-replay and another to a power cut after it.

Marked lab_topologies, not part of `make test` (each brings its own lab up and down, ~10 min):
`make test-topologies`, or `.venv/bin/python -m pytest -m lab_topologies tests/e2e`. In a session with the
other e2e tests they run last (tests/e2e/conftest.py), since they purge the four hosts' disks.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nspawnlab import topology

from monitoring.wiring import TOPICS
from tests.support.pipeline import SAMPLE

from .conftest import (CONSUMER_FILES, LIVE_VARS, ROOT, TEAM_CSV, assert_consumer_csvs_exact, assert_nothing_changed,
                       expected_team_csvs, lab, on, playbook, recap)
from .download_checks import REFUSALS, assert_installed_from_the_mirror, assert_refused

pytestmark = pytest.mark.lab_topologies

TOPOLOGIES = ("sudo", "trixie", "mixed")
JAVA = {"bookworm": 17, "trixie": 21}  # the runtime each release packages (roles/java/vars/)


@dataclass
class Deployed:
    name: str
    topo: topology.Topology
    site: object  # the first site.yml's CompletedProcess
    # The data files streamed into this lab so far (the sample by site.yml, then the tests' slices):
    # what its consumer CSVs and team CSVs must reflect, whichever of its tests ran.
    streamed: list[Path] = field(default_factory=lambda: [SAMPLE])

    def hosts(self, group=None):
        return [h for h in self.topo.grouped() if group is None or group in h.groups]


@pytest.fixture(scope="module", params=TOPOLOGIES)
def topo_lab(request):
    if os.geteuid() != 0:
        pytest.fail("the end-to-end tests need root: run them as root")
    path = ROOT / "lab" / "topologies" / f"{request.param}.yml"
    LIVE_VARS.clear()   # these topologies are measured without the live path (they run last)
    LIVE_VARS["live_enabled"] = False
    lab("down", "--purge", check=False)
    lab("up", "--topology", str(path), timeout=1200)
    try:
        res, took = playbook("site.yml")
        assert res.returncode == 0, f"site.yml on {path.name} failed after {took:.0f} s:\n{res.stdout[-6000:]}"
        print(f"{path.name}: site.yml from scratch {took:.0f} s")
        for warning in sorted(set(re.findall(r"^\[WARNING\]: .*", res.stdout + res.stderr, re.M))):
            print(f"{path.name}: site.yml said: {warning[:300]}")
        yield Deployed(request.param, topology.load(str(path)), res)
    finally:
        lab("down", timeout=300, check=False)


def test_site_yml_deploys_from_scratch(topo_lab):
    counters = recap(topo_lab.site.stdout)
    assert set(counters) >= {h.inventory_name for h in topo_lab.hosts()}, topo_lab.site.stdout[-2000:]
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counters.values())
    assert "[DEPRECATION WARNING]" not in topo_lab.site.stdout + topo_lab.site.stderr
    # A sudo login's modules find root's temp folder made (playbooks/become_tmp.yml), not made by one of them.
    assert "Module remote_tmp" not in topo_lab.site.stdout + topo_lab.site.stderr


@pytest.mark.parametrize("topo_lab", ["sudo", "mixed"], indirect=True)
def test_sudo_logins_ran_the_deployment(topo_lab):
    """Where the topology logs in as deploy, deploy's sudo ran Ansible's modules (the journal says so)."""
    sudo_hosts = [h for h in topo_lab.hosts() if h.login.user != "root"]
    assert sudo_hosts, f"{topo_lab.name}: no host with a sudo login"
    for h in sudo_hosts:
        log = on(h.name, "journalctl --no-pager -q _COMM=sudo | grep -c 'deploy : .*USER=root ; COMMAND=' || true")
        assert int(log.strip() or 0) > 10, f"{h.name}: deploy's sudo ran no Ansible module"
        needs = on(h.name, "cat /etc/sudoers.d/lab-login")
        assert ("NOPASSWD" in needs) == (h.login.sudo == "nopasswd"), needs


def test_each_host_runs_its_releases_java(topo_lab):
    for h in topo_lab.hosts("broker") + topo_lab.hosts("consumer1") + topo_lab.hosts("consumer2"):
        out = on(h.name, "java -version 2>&1 | head -1")
        major = int(re.search(r'version "(\d+)', out).group(1))
        assert major == JAVA[h.release], f"{h.name} ({h.release}): {out}"
        package = f"openjdk-{JAVA[h.release]}-jre-headless"
        assert on(h.name, f"dpkg-query -W -f '${{Status}}' {package}") == "install ok installed"


def test_kafka_came_from_the_mirror(topo_lab):
    for h in topo_lab.hosts("broker"):
        assert_installed_from_the_mirror(topo_lab.site.stdout, h.name)


def test_consumer_csvs_and_team_csvs_equal_the_reference(topo_lab):
    res, _ = playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert_consumer_csvs_exact(SAMPLE)
    res, took = playbook("run-analysis.yml")
    assert res.returncode == 0, f"run-analysis.yml failed:\n{res.stdout[-6000:]}"
    res, _ = playbook("fetch-results.yml")
    assert res.returncode == 0, f"fetch-results.yml failed:\n{res.stdout[-6000:]}"
    want_cpu, want_net = expected_team_csvs(SAMPLE)
    assert (ROOT / "results" / TEAM_CSV["spark-job1"]).read_text() == want_cpu
    assert (ROOT / "results" / TEAM_CSV["spark-job2"]).read_text() == want_net
    assert set(CONSUMER_FILES) <= {h.name for h in topo_lab.hosts()}


def test_a_second_site_run_changes_nothing(topo_lab):
    res, took = playbook("site.yml")
    assert_nothing_changed(res)
    print(f"{topo_lab.name}: site.yml, second run {took:.0f} s")


@pytest.mark.parametrize("topo_lab", ["sudo"], indirect=True)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_broken_download_is_refused_through_sudo(topo_lab, case):
    """Once, with the sudo login (as root: the four hosts' test_kafka_download.py)."""
    assert_refused(case, topo_lab.hosts("broker")[0].name)


TOOLS = "java -Dlog4j2.configurationFile=/etc/kafka/tools-log4j2.properties -cp '/opt/kafka/current/libs/*'"


def describe_topics(broker) -> str:
    """TopicCommand --describe, run on `broker` (Java on the broker's own release)."""
    return on(broker.name, f"{TOOLS} org.apache.kafka.tools.TopicCommand --bootstrap-server {broker.address}:9092 "
                           "--describe")


def pipeline_isrs(out: str) -> list[list[str]]:
    """The ISR of every partition of the pipeline's topics, as node ids."""
    names = {t.default_name for t in TOPICS.values()}
    return [sorted(m.group(2).split(",")) for m in re.finditer(r"Topic: (\S+)\tPartition: .*?Isr: ([\d,]+)", out)
            if m.group(1) in names]


@pytest.mark.parametrize("topo_lab", ["mixed"], indirect=True)
def test_three_brokers_keep_three_copies_and_need_two(topo_lab):
    out = describe_topics(topo_lab.hosts("broker")[0])
    names = sorted(t.default_name for t in TOPICS.values())
    heads = {m.group(1): m.group(0) for m in re.finditer(r"Topic: (\S+)\tTopicId.*", out) if m.group(1) in names}
    assert sorted(heads) == names, out
    for topic, head in heads.items():
        assert "ReplicationFactor: 3" in head and "min.insync.replicas=2" in head, head
    isr = pipeline_isrs(out)
    assert len(isr) == 12 and all(i == ["1", "2", "3"] for i in isr), out


@pytest.mark.parametrize("topo_lab", ["mixed"], indirect=True)
def test_a_broker_config_change_rolls_one_broker_at_a_time_while_the_producer_runs(topo_lab, tmp_path):
    """kafka_server_properties changed: each broker restarts in turn, the next only once the last is back
    in the ISR of every partition; a producer streaming all the while loses nothing and doubles nothing."""
    from .test_faults_lab import make_slice, start_producer, wait_producer_done

    brokers = [h.inventory_name for h in topo_lab.hosts("broker")]
    local, remote = make_slice(tmp_path, "16:00:00")
    topo_lab.streamed.append(local)
    start_producer(remote, rate=25)  # 1,440 rows over about a minute: the roll happens under it
    res, took = playbook("site.yml", "--tags", "kafka", "-e", '{"kafka_server_properties": {"log.cleaner.backoff.ms": 15001}}')
    assert res.returncode == 0, res.stdout[-6000:]
    steps = re.findall(r"TASK \[kafka : (Restart kafka on|Wait until the restarted broker [^:]+:) (\S+?)\]", res.stdout)
    want = [(step, b) for b in brokers for step in (
        "Restart kafka on", "Wait until the restarted broker answers:",
        "Wait until the restarted broker is back in the ISR of every partition:")]
    assert steps == want, f"not one broker at a time: {steps}"
    print(f"rolling restart of {len(brokers)} brokers: site.yml --tags kafka {took:.0f} s")
    wait_producer_done(timeout=300)
    res, _ = playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert_consumer_csvs_exact(*topo_lab.streamed)
    res, _ = playbook("site.yml", "--tags", "kafka")  # the config as it was: another roll
    assert res.returncode == 0, res.stdout[-6000:]


@pytest.mark.parametrize("topo_lab", ["mixed"], indirect=True)
def test_the_quorum_loses_its_leader_mid_replay_and_another_broker_to_a_power_cut(topo_lab, tmp_path):
    """kill -9 of the Kafka process of the broker leading the KRaft quorum while the producer replays
    (systemd starts it again), then, once it is back in every ISR, a power cut of another broker: every
    row once in the consumer CSVs, the team CSVs equal the reference."""
    from .test_faults_lab import make_slice, start_producer, wait_producer_done

    brokers = topo_lab.hosts("broker")
    node = {on(b.name, "sed -n 's/^node.id=//p' /etc/kafka/server.properties").strip(): b for b in brokers}
    status = on(brokers[0].name, f"{TOOLS} org.apache.kafka.tools.MetadataQuorumCommand "
                                 f"--bootstrap-server {brokers[0].address}:9092 describe --status")
    killed = node[re.search(r"LeaderId:\s+(\d+)", status).group(1)]
    cut = next(b for b in brokers if b is not killed)

    local, remote = make_slice(tmp_path, "17:00:00")
    topo_lab.streamed.append(local)
    start_producer(remote, rate=60)  # 1,440 rows in about 25 s: the kill lands in the middle
    time.sleep(6)
    on(killed.name, "kill -9 $(systemctl show -p MainPID --value kafka)")
    assert on("producer", "systemctl is-active fault-producer", check=False).strip() == "active", \
        "the replay was over before the kill"
    wait_producer_done(timeout=300)
    assert int(on(killed.name, "systemctl show -p NRestarts --value kafka")) >= 1, "systemd did not restart kafka"

    deadline = time.monotonic() + 180
    while True:  # back in the ISR of every partition before the next broker goes
        isr = pipeline_isrs(describe_topics(cut))
        if len(isr) == 12 and all(len(i) == 3 for i in isr):
            break
        assert time.monotonic() < deadline, f"{killed.name} not back in every ISR after its kill: {isr}"
        time.sleep(3)
    lab("restart", "--hard", cut.name, timeout=300)

    res, _ = playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert_consumer_csvs_exact(*topo_lab.streamed)
    res, _ = playbook("run-analysis.yml")
    assert res.returncode == 0, f"run-analysis.yml failed:\n{res.stdout[-6000:]}"
    res, _ = playbook("fetch-results.yml")
    assert res.returncode == 0, f"fetch-results.yml failed:\n{res.stdout[-6000:]}"
    want_cpu, want_net = expected_team_csvs(*topo_lab.streamed)
    assert (ROOT / "results" / TEAM_CSV["spark-job1"]).read_text() == want_cpu
    assert (ROOT / "results" / TEAM_CSV["spark-job2"]).read_text() == want_net
