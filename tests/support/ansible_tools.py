"""Helpers of the deployment's lint tests: paths, the .venv tools, a local inventory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]  # the repository root
VENV_BIN = REPO / ".venv" / "bin"
ROLES = ("java", "kafka", "spark", "app", "services")  # the deployment's roles, laid out by phase
SHARED_ROLES = ("host_state", "journal", "venv_check")  # small roles the others include (no phases)


def venv_tool(name: str) -> Path:
    """A tool of the repository's .venv (ansible-playbook, ansible-lint)."""
    tool = VENV_BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make setup` first")
    return tool


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for the .venv's Ansible tools: the repository's ansible.cfg and roles."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_ROLES_PATH"] = str(REPO / "roles")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["NO_COLOR"] = "1"
    env["ANSIBLE_LOCAL_TEMP"] = env.get("ANSIBLE_LOCAL_TEMP", "/tmp/ansible-lint-tests")
    env.update(extra)
    return env


def run(argv: list[str], cwd: Path = REPO, timeout: int = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command, output captured (stderr folded into stdout)."""
    return subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=tool_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def local_inventory(path: Path, brokers: int = 1, producers: int = 1, stray: bool = False,
                    monitored: tuple = ()) -> Path:
    """An inventory of the four groups whose hosts are all this machine (ansible_connection=local),
    with lab-like addresses: Ansible runs nothing remote, the templates see real hostvars.
    `monitored`: the group monitored, of these pipeline hosts' names and "web1" (a machine of its own)."""
    lines = ["[producer]"]
    lines += [f"prod{i} ansible_host=10.99.0.{i}" for i in range(1, producers + 1)]
    lines += ["", "[broker]"]
    lines += [f"kafka{i} ansible_host=10.99.0.{10 + i}" for i in range(1, brokers + 1)]
    lines += ["", "[consumer1]", "cons1 ansible_host=10.99.0.21"]
    lines += ["", "[consumer2]", "cons2 ansible_host=10.99.0.22"]
    lines += ["", "[consumers:children]", "consumer1", "consumer2"]
    if stray:  # a host in no role's group, as a typo in a group name leaves one
        lines += ["", "[cosumer2]", "cons3 ansible_host=10.99.0.23"]
    if monitored:
        lines += ["", "[monitored]"] + [f"{h} ansible_host=10.99.0.31" if h == "web1" else h for h in monitored]
    lines += ["", "[all:vars]", "ansible_connection=local", f"ansible_python_interpreter={sys.executable}"]
    path.write_text("\n".join(lines) + "\n")
    return path
