"""The java role picks the runtime package its host's release packages (roles/java/vars/), unless
java_package says otherwise, and names the variable to set on a release it does not know. The role's
preflight runs on this machine with the release's facts given, as `gather_facts` would report them."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.ansible_tools import REPO, run, venv_tool

pytestmark = pytest.mark.lint

PLAY = """\
- name: The java role's choice of runtime
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The role's preflight
      ansible.builtin.import_role:
        name: java
        tasks_from: preflight
    - name: Show the package
      ansible.builtin.debug:
        msg: "package=<{{ _java_package }}>"
"""


def facts(distribution: str, version: str) -> dict:
    return {"distribution": distribution, "distribution_version": version,
            "distribution_major_version": version.split(".")[0], "pkg_mgr": "apt"}


def java_preflight(tmp_path, release_facts: dict, *extra: str):
    play = tmp_path / "java.yml"
    play.write_text(PLAY)
    return run([venv_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
                "-e", json.dumps({"ansible_facts": release_facts}), *extra])


def chosen(output: str) -> str:
    found = re.findall(r"package=<([^>]*)>", output)
    assert found, output[-3000:]
    return found[-1]


@pytest.mark.parametrize(("distribution", "version", "package"), [
    ("Debian", "12.8", "openjdk-17-jre-headless"),
    ("Debian", "13.2", "openjdk-21-jre-headless"),
    ("Ubuntu", "22.04", "openjdk-17-jre-headless"),
    ("Ubuntu", "24.04", "openjdk-21-jre-headless"),
])
def test_the_release_decides_the_runtime_package(tmp_path, distribution, version, package):
    res = java_preflight(tmp_path, facts(distribution, version))
    assert res.returncode == 0, res.stdout[-4000:]
    assert chosen(res.stdout) == package


def test_java_package_overrides_the_release(tmp_path):
    res = java_preflight(tmp_path, facts("Debian", "12.8"), "-e", "java_package=openjdk-21-jre-headless")
    assert res.returncode == 0, res.stdout[-4000:]
    assert chosen(res.stdout) == "openjdk-21-jre-headless"


def test_an_unknown_release_names_java_package(tmp_path):
    res = java_preflight(tmp_path, facts("Ubuntu", "20.04"))
    assert res.returncode != 0, res.stdout[-3000:]
    text = " ".join(res.stdout.split())
    assert "knows no runtime package for Ubuntu 20.04" in text and "set java_package" in text, res.stdout[-3000:]


def test_each_release_file_names_a_runtime_of_17_or_newer():
    files = sorted((REPO / "roles" / "java" / "vars").glob("*-*.yml"))
    assert {f.stem for f in files} >= {"Debian-12", "Debian-13", "Ubuntu-22.04", "Ubuntu-24.04"}
    for path in files:
        text = path.read_text()
        match = re.search(r"^_java_release_package: openjdk-(\d+)-jre-headless$", text, re.M)
        assert match and int(match.group(1)) >= 17, f"{path.name}: {text}"
