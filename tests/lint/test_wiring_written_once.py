"""The pipeline's wiring is written once: in app/monitoring/wiring.py.

Its generated copy for Ansible (playbooks/vars/wiring.yml) must be what `make wiring` writes now, and
no other code file may spell out a topic name, a consumer CSV name, a team CSV suffix or a team
CSV header. The patterns come from the wiring itself, so this file restates nothing either.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring import wiring

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "playbooks" / "vars" / "wiring.yml"
CODE_SUFFIXES = {".py", ".sh", ".yml", ".yaml", ".j2", ".toml", ".mk", ".cfg", ".ini"}

# Where a wiring fact may be written, and why (docs and data files are not scanned).
ALLOWED = {
    "app/monitoring/wiring.py": "the wiring itself",
    "playbooks/vars/wiring.yml": "its generated copy",
    "tests/support/reference.py": "the independent reference: it reads the contract on its own, on purpose",
    "app/config/config.yaml": "the example config: a user's file names its topics, as a deployment's does",
}
# The Ansible side reads playbooks/vars/wiring.yml; its test files under tests/ read the wiring module.
ANSIBLE_SIDE = ["roles", "playbooks", "templates", "group_vars", "inventory", "site.yml", "run-analysis.yml",
                "fetch-results.yml", "mk/deploy.mk", "tests/e2e", "tests/lint/test_ansible.py", "tests/lint/test_render.py",
                "tests/lint/test_role_specs.py"]


def test_the_generated_ansible_vars_are_up_to_date():
    res = subprocess.run([sys.executable, "-m", "monitoring", "describe", "--ansible-vars"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert GENERATED.read_text() == res.stdout, "playbooks/vars/wiring.yml is stale: run `make wiring`"


def _patterns() -> dict[str, re.Pattern]:
    facts = {}
    for t in wiring.TOPICS.values():
        facts[t.default_name] = rf"(?<![\w-]){re.escape(t.default_name)}(?![\w-])"
        facts[t.csv] = rf"(?<![\w-]){re.escape(t.csv)}"
    alerts = wiring.ALERTS_TOPIC_DEFAULT
    facts[alerts] = rf"(?<![\w-]){re.escape(alerts)}(?![\w-])"
    for job in wiring.JOBS.values():
        facts[job.suffix] = rf"(_|[\"']){re.escape(job.suffix)}(\.csv|[\"'])"   # team_.._X.csv, "X"
        header = ",".join(job.header)
        # as one text, or as a list of quoted names
        facts[header] = "|".join([re.escape(header), r"[\"']\s*,\s*[\"']".join(map(re.escape, job.header))])
    return {fact: re.compile(p) for fact, p in facts.items()}


def _files(tops) -> list[Path]:
    out = []
    for top in tops:
        path = ROOT / top
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        out += [p for p in candidates if p.suffix in CODE_SUFFIXES or p.name == "Makefile"]
    return out


def _restated(files, skip=()) -> list[str]:
    patterns = _patterns()
    found = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED or any(rel == s or rel.startswith(s + "/") for s in skip) or "__pycache__" in rel:
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            hits = [fact for fact, p in patterns.items() if p.search(line)]
            if hits:
                found.append(f"{rel}:{n}: {', '.join(hits)}: {line.strip()[:100]}")
    return found


def test_the_patterns_find_every_fact_in_the_reference():
    """The scan can fail: the independent reference spells each fact out."""
    text = (ROOT / "tests" / "support" / "reference.py").read_text()
    missing = [fact for fact, p in _patterns().items()
               if not p.search(text) and not fact.startswith("topic-")]  # the reference never reads Kafka
    assert missing == []


def test_no_wiring_fact_is_written_again_in_the_app_tests_or_bench():
    found = _restated(_files(["app", "tests", "bench", "Makefile", "mk", "pytest.ini"]), skip=ANSIBLE_SIDE)
    assert found == [], "write it in app/monitoring/wiring.py and read it from there:\n" + "\n".join(found)


def test_no_wiring_fact_is_written_again_on_the_ansible_side():
    found = _restated(_files(ANSIBLE_SIDE))
    assert found == [], "read it from playbooks/vars/wiring.yml:\n" + "\n".join(found)
