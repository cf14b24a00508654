"""Each role's defaults/main.yml and meta/argument_specs.yml name the same variables, every one
prefixed with the role's name; the roles are laid out by phase; group_vars only sets variables
that some role (or the plays) reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.ansible_tools import REPO, ROLES

pytestmark = pytest.mark.lint

PHASES = ("preflight", "install", "configure", "run")
# Variables of group_vars/all.yml that no role defines: the pipeline's config keys and the plays' own.
PLAY_VARIABLES = {
    "team_number", "thresholds", "topics", "window", "producer", "spark",
    "verify_timeout", "analysis_producer_timeout", "analysis_caught_up_timeout", "analysis_job_timeout",
    "results_dir", "repo_dir",
}


def load(path: Path):
    return yaml.safe_load(path.read_text())


def spec_drift(role: str, defaults: dict, options: dict) -> list[str]:
    """What is wrong between a role's defaults and its argument spec's options, one line each."""
    problems = []
    for key in sorted(set(defaults) - set(options)):
        problems.append(f"{role}: {key} is in defaults/main.yml but not in meta/argument_specs.yml")
    for key in sorted(set(options) - set(defaults)):
        problems.append(f"{role}: {key} is in meta/argument_specs.yml but not in defaults/main.yml")
    for key in sorted(set(defaults) | set(options)):
        if not key.startswith(f"{role}_"):
            problems.append(f"{role}: {key} is not prefixed with {role}_")
    for key, option in sorted(options.items()):
        if not isinstance(option, dict) or "type" not in option or not option.get("description"):
            problems.append(f"{role}: the option {key} needs a type and a description")
    return problems


def role_spec(role: str) -> tuple[dict, dict, dict]:
    base = REPO / "roles" / role
    defaults = load(base / "defaults" / "main.yml") or {}
    specs = load(base / "meta" / "argument_specs.yml")["argument_specs"]
    return defaults, specs["main"]["options"], specs


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_name_the_same_variables(role):
    defaults, options, _ = role_spec(role)
    assert spec_drift(role, defaults, options) == []


@pytest.mark.parametrize("role", ROLES)
def test_the_preflight_entry_point_checks_the_same_variables(role):
    _, options, specs = role_spec(role)
    assert "preflight" in specs, f"{role}: no preflight entry point (the site's preflight play uses it)"
    assert specs["preflight"]["options"] == options


def test_the_drift_check_catches_drift():
    """The check above can fail: a missing, an extra, an unprefixed and an undocumented variable."""
    defaults = {"kafka_port": 9092, "kafka_new": 1, "heap": "1g", "kafka_bare": 1}
    options = {"kafka_port": {"type": "int", "description": "x"}, "kafka_old": {"type": "int", "description": "y"},
               "heap": {"type": "str", "description": "z"}, "kafka_bare": {}}
    problems = spec_drift("kafka", defaults, options)
    assert any("kafka_new is in defaults" in p for p in problems)
    assert any("kafka_old is in meta" in p for p in problems)
    assert any("heap is not prefixed" in p for p in problems)
    assert any("kafka_bare needs a type" in p for p in problems)


@pytest.mark.parametrize("role", ROLES)
def test_tasks_are_split_by_phase_and_tagged(role):
    base = REPO / "roles" / role
    main = load(base / "tasks" / "main.yml")
    imported = {}
    for task in main:
        target = task.get("ansible.builtin.import_tasks")
        assert target, f"{role}: tasks/main.yml must only import phase files, found {task}"
        imported[Path(target).stem] = task.get("tags", [])
    assert "preflight" in imported, f"{role}: no preflight phase"
    assert set(imported) <= set(PHASES), f"{role}: unknown phases {set(imported) - set(PHASES)}"
    for phase, tags in imported.items():
        assert (base / "tasks" / f"{phase}.yml").exists(), f"{role}: tasks/{phase}.yml is missing"
        assert f"{role}_{phase}" in tags, f"{role}: the {phase} phase is not tagged {role}_{phase}"
    for directory in ("defaults", "meta", "handlers"):
        assert (base / directory).is_dir(), f"{role}: no {directory}/"


def test_group_vars_set_only_variables_someone_reads():
    """A misspelt variable in group_vars/all.yml would silently do nothing: every key must be a
    role's default or one of the plays' own variables."""
    group_vars = load(REPO / "group_vars" / "all.yml")
    known = set(PLAY_VARIABLES)
    for role in ROLES:
        known |= set(load(REPO / "roles" / role / "defaults" / "main.yml") or {})
    unknown = sorted(set(group_vars) - known)
    assert unknown == [], f"group_vars/all.yml sets variables no role or play reads: {unknown}"


def test_group_vars_play_variables_are_used_by_the_plays():
    texts = "\n".join(p.read_text() for p in (REPO / "playbooks").rglob("*.yml"))
    texts += (REPO / "templates" / "config.yaml.j2").read_text()
    texts += (REPO / "group_vars" / "all.yml").read_text()
    for name in sorted(PLAY_VARIABLES):
        # group_vars defines each once; any other occurrence is a use.
        assert texts.count(name) >= 2, f"{name} is in group_vars but no play or template uses it"
