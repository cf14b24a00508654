"""The lab tool's argument handling, root check and config parsing: nothing here needs root or touches the machine."""

import json
import os
import subprocess
import sys

import pytest

from nspawnlab import cli, host, image, inventory, mirror, network, paths, topology

pytestmark = pytest.mark.lint

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "lab", "lab.py")

# runs the lab's main() with os.geteuid faked, so the root check is tested the same way as root or not
FAKE_EUID = "import os, sys; euid = int(sys.argv.pop(1)); os.geteuid = lambda: euid; " \
            "from nspawnlab.cli import main; sys.exit(main())"


def run_lab(args, euid=1000, env=None):
    e = dict(os.environ, PYTHONPATH=os.path.join(REPO, "lab"))
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", FAKE_EUID, str(euid)] + args,
                          capture_output=True, text=True, env=e, timeout=30)


def test_the_entry_point_runs_the_package():
    # lab/lab.py as the Makefile runs it: its own directory is on the path, nothing else
    p = subprocess.run([sys.executable, LAB, "--help"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, PYTHONPATH=""), cwd="/")
    assert p.returncode == 0, p.stderr
    assert p.stdout == cli.parser().format_help()


@pytest.mark.parametrize("args", [["up"], ["down"], ["status"], ["ssh", "broker"], ["restart", "consumer1"]])
def test_not_root_is_one_line_and_exit_2(args):
    p = run_lab(args, euid=1000)
    assert p.returncode == 2
    assert p.stderr.strip() == "lab: must run as root (it creates network namespaces and containers)"
    assert p.stdout == ""


def test_help_needs_no_root():
    p = run_lab(["--help"], euid=1000)
    assert p.returncode == 0
    for word in ("up", "down", "status", "ssh", "restart"):
        assert word in p.stdout


@pytest.mark.parametrize("args", [[], ["nosuch"], ["ssh"], ["ssh", "nosuchhost"], ["restart"],
                                  ["restart", "kafka"], ["up", "--bogus"], ["down", "extra"]])
def test_bad_usage_exits_2(args):
    p = run_lab(args, euid=1000)
    assert p.returncode == 2
    assert "usage:" in p.stderr


def test_missing_tools_name_the_package(tmp_path):
    # as (fake) root with an empty PATH: the first tool `up` looks for is missing, nothing else happens
    p = run_lab(["up"], euid=0, env={"PATH": str(tmp_path)})
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "systemd-container" in lines[0] and "make lab-deps" in lines[0]


def test_restart_accepts_hard_and_outsider():
    a = cli.parser().parse_args(["restart", "consumer1", "--hard"])
    assert (a.command, a.host, a.hard) == ("restart", "consumer1", True)
    assert cli.parser().parse_args(["up", "--with-outsider"]).with_outsider
    assert cli.parser().parse_args(["ssh", "outsider"]).host == "outsider"
    a = cli.parser().parse_args(["ssh", "broker", "systemctl", "is-active", "-q", "kafka"])
    assert a.cmd == ["systemctl", "is-active", "-q", "kafka"]


def test_the_default_topology_is_the_four_hosts():
    topo = topology.load()
    assert [(h.name, h.address, h.groups, h.release, h.login.user) for h in topo.hosts] == [
        ("producer", "10.213.0.11", ("producer",), "bookworm", "root"),
        ("broker", "10.213.0.12", ("broker",), "bookworm", "root"),
        ("consumer1", "10.213.0.13", ("consumer1",), "bookworm", "root"),
        ("consumer2", "10.213.0.14", ("consumer2",), "bookworm", "root")]
    outsider = topology.load(with_outsider=True).get("outsider")
    assert (outsider.address, outsider.groups) == ("10.213.0.15", ())


@pytest.mark.parametrize("name", ["default", "seven-hosts", "trixie", "sudo", "mixed"])
def test_the_shipped_topologies_load(name):
    topo = topology.load(os.path.join(topology.TOPOLOGIES, f"{name}.yml"))
    assert len({h.address for h in topo.hosts}) == len(topo.hosts)
    for h in topo.hosts:  # interface names must fit IFNAMSIZ
        assert len(host.Host(h.name, h).veth) <= 15


def test_seven_hosts_three_brokers_and_an_outsider():
    topo = topology.load(os.path.join(topology.TOPOLOGIES, "seven-hosts.yml"))
    assert len(topo.hosts) == 7
    assert [h.name for h in topo.hosts if "broker" in h.groups] == ["broker1", "broker2", "broker3"]
    assert [h.name for h in topo.hosts if not h.groups] == ["outsider"]
    assert topo.with_outsider() is topo


def test_up_takes_a_topology():
    assert cli.parser().parse_args(["up"]).topology == topology.DEFAULT
    a = cli.parser().parse_args(["up", "--topology", "lab/topologies/mixed.yml", "--with-outsider"])
    assert (a.topology, a.with_outsider) == ("lab/topologies/mixed.yml", True)
    assert cli.parser().parse_args(["ssh", "--login", "broker", "id"]).login


def test_apt_sources_parsing(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://mirror.example/debian bookworm main contrib\n"
        "deb-src http://mirror.example/debian bookworm main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://other.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://other.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\n")
    (tmp_path / "sources.list.d" / "thirdparty.list").write_text("deb http://vendor.example/apt cloud-bookworm main\n")
    (tmp_path / "sources.list.d" / "ignored.list.disabled").write_text("deb http://x.example/debian bookworm main\n")
    entries = image.parse_apt_sources(str(tmp_path))
    assert ("http://mirror.example/debian", "bookworm", ["main", "contrib"]) in entries
    assert not any("off.example" in u or "x.example" in u for u, _, _ in entries)
    src = image.debian_sources(entries, env={})
    assert src[0][1] == "bookworm"
    suites = {s for _, s, _ in src}
    assert suites == {"bookworm", "bookworm-updates", "bookworm-security"}
    assert not any("vendor.example" in u for u, _, _ in src)
    # LAB_MIRROR replaces the archive (not the security archive)
    src = image.debian_sources(entries, env={"LAB_MIRROR": "http://lab.example/debian/"})
    assert [u for u, s, _ in src if s == "bookworm"] == ["http://lab.example/debian"]
    assert [u for u, s, _ in src if s == "bookworm-updates"] == ["http://lab.example/debian"]
    assert [u for u, s, _ in src if s == "bookworm-security"] == ["http://other.example/debian-security"]


def test_another_release_from_the_controllers_mirror():
    # a Debian 12 controller lists only bookworm suites: a trixie host gets the same archives' trixie suites
    entries = [("http://mirror.example/debian", "bookworm", ["main"]),
               ("http://mirror.example/debian", "bookworm-updates", ["main"]),
               ("http://mirror.example/debian-security", "bookworm-security", ["main"]),
               ("http://vendor.example/apt", "cloud-bookworm", ["main"])]
    assert image.debian_sources(entries, env={}, release="trixie") == [
        ("http://mirror.example/debian", "trixie", ["main"]),
        ("http://mirror.example/debian-security", "trixie-security", ["main"]),
        ("http://mirror.example/debian", "trixie-updates", ["main"])]
    assert image.base_dir("trixie") != image.base_dir("bookworm")
    assert image.recipe_hash("trixie") != image.recipe_hash("bookworm")


def test_no_mirror_is_a_clear_error():
    with pytest.raises(image.LabError, match="LAB_MIRROR"):
        image.debian_sources([("http://vendor.example/apt", "cloud-bookworm", ["main"])], env={})
    assert image.debian_sources([], env={"LAB_MIRROR": "http://lab.example/debian"})[0][0] == \
        "http://lab.example/debian"


def test_inventory_groups(tmp_path):
    inventory.write_inventory(topology.load(with_outsider=True), str(tmp_path / "inventory.ini"),
                              str(tmp_path / "lab-vars.yml"))
    text = (tmp_path / "inventory.ini").read_text()
    for name, ip in {h.name: h.address for h in topology.load().hosts}.items():
        assert f"[{name}]\n{name}-node ansible_host={ip}\n" in text
    assert "[consumers:children]\nconsumer1\nconsumer2\n" in text
    assert "ansible_user=root" in text and f"ansible_ssh_private_key_file={paths.KEY}" in text
    assert "ansible_python_interpreter=/usr/bin/python3" in text
    assert "outsider" not in text


def test_lab_vars_point_the_roles_at_local_sources(tmp_path):
    inventory.write_inventory(topology.load(), str(tmp_path / "inventory.ini"), str(tmp_path / "lab-vars.yml"))
    text = (tmp_path / "lab-vars.yml").read_text()
    assert f'kafka_mirror: "http://{network.GATEWAY}:{mirror.PORT}/kafka"' in text
    assert "kafka_archive_src" not in text, "the lab's Kafka comes through the download path, from its mirror"
    assert f'app_wheelhouse_src: "{paths.REPO}/build/wheelhouse"' in text


def ansible_inventory(path):
    """What Ansible makes of an inventory file: {host: vars}, {group: hosts}."""
    tool = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if not os.path.exists(tool):
        pytest.fail("ansible-inventory is not next to this python: run the lint tests with .venv/bin/python (make setup)")
    p = subprocess.run([tool, "-i", str(path), "--list"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "WARNING" not in p.stderr, p.stderr
    data = json.loads(p.stdout)
    groups = {g: set(v.get("hosts", [])) for g, v in data.items() if g not in ("_meta", "all")}
    return data["_meta"]["hostvars"], groups


def test_the_inventory_follows_the_topology(tmp_path, monkeypatch):
    monkeypatch.setattr(inventory, "BECOME_DIR", str(tmp_path / "become"))
    topo = topology.load(os.path.join(topology.TOPOLOGIES, "mixed.yml"))
    inventory.write_inventory(topo, str(tmp_path / "inventory.ini"), str(tmp_path / "lab-vars.yml"))
    hostvars, groups = ansible_inventory(tmp_path / "inventory.ini")
    assert groups["broker"] == {"broker1-node", "broker2-node", "broker3-node"}
    assert "outsider-node" not in hostvars
    assert set(hostvars) == {"producer-node", "broker1-node", "broker2-node", "broker3-node", "consumer1-node",
                             "consumer2-node"}
    assert hostvars["broker3-node"]["ansible_user"] == "root" and "ansible_become" not in hostvars["broker3-node"]
    assert hostvars["producer-node"]["ansible_user"] == "deploy"
    assert hostvars["producer-node"]["ansible_become"] is True
    assert "ansible_become_password" not in hostvars["producer-node"]
    # the password is read from its own file when Ansible needs it: the inventory holds only the file's name
    pw = hostvars["broker1-node"]["ansible_become_password"]
    assert str(tmp_path / "become" / "broker1") in pw and "lookup" in pw


def test_a_sudo_password_is_generated_once_into_a_0600_file(tmp_path, monkeypatch):
    monkeypatch.setattr(inventory, "BECOME_DIR", str(tmp_path / "become"))
    first = inventory.become_password("broker1")
    assert len(first) >= 20 and first == inventory.become_password("broker1")
    assert first != inventory.become_password("broker2")
    assert os.stat(tmp_path / "become" / "broker1").st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "become").st_mode & 0o777 == 0o700
