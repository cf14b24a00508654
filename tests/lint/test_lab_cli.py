"""The lab tool's argument handling, root check and config parsing: nothing here needs root or touches the machine."""

import os
import subprocess
import sys

import pytest

from nspawnlab import cli, host, image, inventory, paths, topology

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


def test_hosts_and_addresses():
    assert topology.HOSTS == {"producer": "10.213.0.11", "broker": "10.213.0.12",
                              "consumer1": "10.213.0.13", "consumer2": "10.213.0.14"}
    assert topology.OUTSIDER == ("outsider", "10.213.0.15")
    for name in topology.ALL_HOSTS:  # interface names must fit IFNAMSIZ
        assert len(host.Host(name).veth) <= 15


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


def test_no_mirror_is_a_clear_error():
    with pytest.raises(image.LabError, match="LAB_MIRROR"):
        image.debian_sources([("http://vendor.example/apt", "cloud-bookworm", ["main"])], env={})
    assert image.debian_sources([], env={"LAB_MIRROR": "http://lab.example/debian"})[0][0] == \
        "http://lab.example/debian"


def test_inventory_groups(tmp_path):
    inventory.write_inventory(str(tmp_path / "inventory.ini"), str(tmp_path / "lab-vars.yml"))
    text = (tmp_path / "inventory.ini").read_text()
    for name, ip in topology.HOSTS.items():
        assert f"[{name}]\n{name}-node ansible_host={ip}\n" in text
    assert "[consumers:children]\nconsumer1\nconsumer2\n" in text
    assert "ansible_user=root" in text and f"ansible_ssh_private_key_file={paths.KEY}" in text
    assert "ansible_python_interpreter=/usr/bin/python3" in text
    assert "outsider" not in text


def test_lab_vars_point_the_roles_at_local_sources(tmp_path):
    inventory.write_inventory(str(tmp_path / "inventory.ini"), str(tmp_path / "lab-vars.yml"))
    text = (tmp_path / "lab-vars.yml").read_text()
    assert "kafka_archive_src: " in text and "{{ kafka_version }}.tgz" in text
    assert f'app_wheelhouse_src: "{paths.REPO}/build/wheelhouse"' in text
