"""The command line's options: --config and --log-level before or after the role, one-line errors."""
from pathlib import Path

import pytest

from monitoring.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "app" / "config" / "config.yaml"


@pytest.mark.parametrize("argv", [
    ["--config", str(EXAMPLE), "check-config"],
    ["check-config", "--config", str(EXAMPLE)],
    ["--log-level", "ERROR", "check-config", "--config", str(EXAMPLE)],
    ["--config", str(EXAMPLE), "check-config", "--log-level", "ERROR"],
], ids=["before", "after", "split", "level-after"])
def test_options_before_or_after_the_role(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"{EXAMPLE}: OK: team 42, ")


def test_an_option_after_the_role_does_not_undo_one_before(tmp_path, capsys, monkeypatch):
    # The role's own --config has no default: it must not put $MONITORING_CONFIG back over --config.
    monkeypatch.setenv("MONITORING_CONFIG", str(tmp_path / "elsewhere.yaml"))
    assert main(["--config", str(EXAMPLE), "check-config", "--log-level", "WARNING"]) == 0
    assert capsys.readouterr().out.startswith(f"{EXAMPLE}: OK")


def test_a_missing_config_is_one_line_and_exit_code_2(capsys, monkeypatch):
    monkeypatch.delenv("MONITORING_CONFIG", raising=False)
    assert main(["check-config"], prog="main.py") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["main.py check-config: error: no config: give --config FILE (or set MONITORING_CONFIG)"]


def test_a_bad_config_names_the_key(tmp_path, capsys):
    bad = tmp_path / "config.yaml"
    bad.write_text(EXAMPLE.read_text().replace("cpu: 80.0", "cpu: -5"))
    assert main(["check-config", "--config", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"monitoring check-config: error: config error: {bad}: thresholds.cpu: must be >= 0 (got -5)"
