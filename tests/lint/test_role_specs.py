"""Each role's defaults/main.yml and meta/argument_specs.yml name the same variables, every one
prefixed with the role's name; the roles are laid out by phase, self-contained, with internal and
registered variables named apart from settings; group_vars only sets variables that some role (or
the plays) reads, and restates no role's default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_tools import REPO, ROLES, SHARED_ROLES

pytestmark = pytest.mark.lint

PHASES = ("preflight", "install", "configure", "run")
# Variables of group_vars/all.yml that no role defines: the pipeline's config keys and the plays' own.
PLAY_VARIABLES = {
    "team_number", "thresholds", "topics", "window", "producer", "spark",
    "verify_timeout", "analysis_producer_timeout", "analysis_caught_up_timeout", "analysis_job_timeout",
    "results_dir", "repo_dir", "dashboard_enabled", "dashboard_host", "live_enabled", "live_allowed_lateness_seconds",
    "analysis_live_timeout",
}
# Facts a role sets for the plays (documented in its argument spec's description), not internals.
OUTPUT_FACTS = {"java": {"java_runtime_home"}, "app": {"app_changed"}}


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


def all_defaults() -> dict[str, object]:
    found = {}
    for role in ROLES + SHARED_ROLES:
        found.update(load(REPO / "roles" / role / "defaults" / "main.yml") or {})
    return found


@pytest.mark.parametrize("role", ROLES + SHARED_ROLES)
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
    # tasks/read.yml, the one read of the machine (the host_state role), serves every later phase.
    read_tags = imported.pop("read", None)
    assert set(imported) <= set(PHASES), f"{role}: unknown phases {set(imported) - set(PHASES)}"
    if read_tags is not None:
        later = [f"{role}_{phase}" for phase in imported if phase != "preflight"]
        assert set(later) <= set(read_tags), f"{role}: tasks/read.yml is not tagged with every later phase {later}"
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
    texts += (REPO / "roles" / "app" / "templates" / "config.yaml.j2").read_text()
    texts += (REPO / "group_vars" / "all.yml").read_text()
    for name in sorted(PLAY_VARIABLES):
        # group_vars defines each once; any other occurrence is a use.
        assert texts.count(name) >= 2, f"{name} is in group_vars but no play or template uses it"


def test_group_vars_restate_no_role_default():
    """A value in group_vars/all.yml equal to a role's default masks a later change of that default."""
    group_vars = load(REPO / "group_vars" / "all.yml")
    defaults = all_defaults()
    restated = sorted(k for k, v in group_vars.items() if k in defaults and defaults[k] == v)
    assert restated == [], f"group_vars/all.yml restates the roles' defaults of {restated}"


@pytest.mark.parametrize("role", ROLES + SHARED_ROLES)
def test_roles_are_self_contained(role):
    """A role's defaults do not reach into the repository around it, and its templates are its own."""
    base = REPO / "roles" / role
    defaults_text = (base / "defaults" / "main.yml").read_text()
    assert "playbook_dir" not in defaults_text and "role_path" not in defaults_text, \
        f"{role}: defaults/main.yml points into the repository"
    for path in (base / "tasks").glob("*.yml"):
        for task in iter_tasks(load(path) or []):
            module = task.get("ansible.builtin.template")
            if module:
                src = str(module["src"])
                # A task may name its template in its own vars ({{ _role_file.src }}: a literal there).
                named = re.fullmatch(r"\{\{ (_\w+)\.src \}\}", src)
                if named:
                    src = str(((task.get("vars") or {}).get(named.group(1)) or {}).get("src", src))
                assert "/" not in src and "{{" not in src or src.startswith("{{ item"), f"{path}: template {src}"
                names = [src] if "{{" not in src else []
                for name in names:
                    assert (base / "templates" / name).exists(), f"{path}: no templates/{name} in the role"
    assert not (REPO / "templates").exists(), "templates/ at the top: a role's templates live in the role"


def iter_tasks(tasks: list):
    """Every task of a task list, blocks opened."""
    for task in tasks:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from iter_tasks(task.get(key) or [])


def internal_names(path: Path, role: str | None) -> list[str]:
    """The registers, set_fact keys and task vars of a task file that break the naming rule:
    registers __<role>_*, internals _<role>_* (in playbooks: __* and _*)."""
    return internal_names_of(load(path) or [], path, role)


def internal_names_of(tasks: list, path: Path, role: str | None) -> list[str]:
    register_prefix, internal_prefix = (f"__{role}_", f"_{role}_") if role else ("__", "_")
    allowed = OUTPUT_FACTS.get(role, set())
    where = f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
    problems = []
    for task in iter_tasks(tasks):
        if "register" in task and not task["register"].startswith(register_prefix):
            problems.append(f"{where}: register {task['register']} (want {register_prefix}*)")
        for key in (task.get("ansible.builtin.set_fact") or {}):
            # The host_state role sets the fact its caller names (checked at the caller, below).
            if key == "{{ host_state_fact }}":
                continue
            if not key.startswith(internal_prefix) and key not in allowed:
                problems.append(f"{where}: set_fact {key} (want {internal_prefix}*)")
        if (task.get("ansible.builtin.import_role") or {}).get("name") == "host_state":
            fact = str((task.get("vars") or {}).get("host_state_fact", ""))
            if not fact.startswith(register_prefix):
                problems.append(f"{where}: host_state_fact {fact or '(unset)'} (want {register_prefix}*)")
        for key in (task.get("vars") or {}):
            # Vars given to an included role are that role's settings.
            if ("ansible.builtin.include_role" in task or "ansible.builtin.import_role" in task) \
                    and not key.startswith("_"):
                continue
            if not key.startswith(internal_prefix):
                problems.append(f"{where}: task var {key} (want {internal_prefix}*)")
    return problems


@pytest.mark.parametrize("role", ROLES + SHARED_ROLES)
def test_internal_and_registered_variables_are_named_apart_from_settings(role):
    base = REPO / "roles" / role
    problems = []
    for path in sorted((base / "tasks").glob("*.yml")) + sorted((base / "handlers").glob("*.yml")):
        problems += internal_names(path, role)
    for key in (load(base / "vars" / "main.yml") or {}) if (base / "vars" / "main.yml").exists() else {}:
        if not key.startswith(f"_{role}_"):
            problems.append(f"roles/{role}/vars/main.yml: {key} (want _{role}_*)")
    assert problems == []


def test_the_plays_name_their_internal_variables_apart_from_settings():
    problems = []
    for path in sorted((REPO / "playbooks").glob("*.yml")):
        for play in load(path):
            problems += [f"{path.name}: play var {k}" for k in (play.get("vars") or {}) if not k.startswith("_")]
            for section in ("pre_tasks", "tasks", "post_tasks"):
                problems += [f"{path.name} ({section}): {p.split(': ', 1)[1]}"
                             for p in internal_names_of(play.get(section) or [], path, None)]
    assert problems == []


def test_the_naming_check_catches_a_bad_name(tmp_path):
    tasks = tmp_path / "t.yml"
    tasks.write_text(yaml.safe_dump([{"name": "x", "ansible.builtin.command": "true", "register": "kafka_out"},
                                     {"name": "y", "ansible.builtin.set_fact": {"kafka_thing": 1}}]))
    problems = internal_names(tasks, "kafka")
    assert len(problems) == 2 and "register kafka_out" in problems[0] and "set_fact kafka_thing" in problems[1]


# The units each role owns: a handler may restart only those.
OWN_UNITS = {"kafka": ("kafka.service", "kafka-firewall.service"), "services": ("monitoring-",)}


@pytest.mark.parametrize("role", ROLES + SHARED_ROLES)
def test_each_handler_restarts_only_its_own_roles_units(role):
    handlers = load(REPO / "roles" / role / "handlers" / "main.yml") or []
    for handler in handlers:
        text = yaml.safe_dump(handler)
        touches_units = "systemd" in text or "systemctl" in text
        if not touches_units:
            continue
        service = handler.get("ansible.builtin.systemd_service") or {}
        if set(service) == {"daemon_reload"}:
            continue    # reloads systemd's unit files, restarts no unit
        unit = str(service.get("name", ""))
        assert unit.startswith(OWN_UNITS.get(role, ("-none-",))), f"{role}: handler {handler['name']} restarts {unit or text}"
