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


@pytest.mark.parametrize("args,message", [
    (["--interval", "0"], "--interval must be a whole number of seconds, at least 1 (got 0)"),
    (["--start", "25:00:00"], "--start must be HH:MM:SS or 'YYYY-MM-DD HH:MM:SS' (got '25:00:00')"),
    (["--hours", "nan"], "--hours must be a number of hours above 0 (got nan)"),
    (["--hours", "-1"], "--hours must be a number of hours above 0 (got -1.0)"),
    (["--servers", "0"], "--servers must be between 1 and 100000 (got 0)"),
    (["--hours", "0.0001"], "--hours 0.0001 is shorter than one --interval (5 s): no rows"),
])
def test_generate_checks_its_arguments(tmp_path, capsys, args, message):
    out = tmp_path / "data.csv"
    assert main(["generate", "--out", str(out), *args], prog="main.py") == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"main.py generate: error: {message}"]
    assert not out.exists()


def test_generate_into_a_folder_is_one_line(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path)], prog="main.py") == 2
    assert capsys.readouterr().err.strip() == \
        f"main.py generate: error: --out {tmp_path} is a folder: give the path of the CSV file to write"


def test_reset_removes_a_consumers_series_and_nothing_else(tmp_path, capsys):
    from monitoring.wiring import CONSUMERS, EVENTS_DIR, JOBS
    from tests.support.pipeline import write_config

    out = tmp_path / "output"
    cfg = write_config(tmp_path, "127.0.0.1:1", "t")
    first, second = CONSUMERS["consumer1"].csvs
    job1, job2 = JOBS["spark-job1"], JOBS["spark-job2"]
    mine = [first, second, f"{EVENTS_DIR}/{first}", f"{EVENTS_DIR}/{second}", f"{first}.20261201T000000.aside",
            ".consumer1.checkpoint.json", job1.output_name("42"), job1.live_csv, f"{job1.live_csv}.20261201T000000.aside"]
    other = CONSUMERS["consumer2"].csvs
    others = [other[0], f"{EVENTS_DIR}/{other[1]}", ".consumer2.checkpoint.json", job2.output_name("42"),
              job2.live_csv, f".live/{job2.stream}/sink.json", "notes.txt"]
    for name in mine + others + [f".live/{job1.stream}/spark/commits/0"]:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("x\n")
    mine.append(f".live/{job1.stream}")     # the stream job's checkpoint folder, removed whole

    assert main(["--config", str(cfg), "reset", "consumer1"]) == 0
    listed = capsys.readouterr().out
    assert f"{len(mine)} files; run again with --yes" in listed
    assert all((out / name).exists() for name in mine), "without --yes nothing is removed"

    assert main(["--config", str(cfg), "reset", "consumer1", "--yes"]) == 0
    removed = capsys.readouterr().out.splitlines()
    assert sorted(removed) == sorted(f"removed {out / name}" for name in mine)
    assert [name for name in mine if (out / name).exists()] == []
    assert [name for name in others if not (out / name).exists()] == []


def test_a_dashboard_address_it_cannot_listen_on_is_one_line_and_exit_code_1(capsys):
    # 192.0.2.1 (TEST-NET-1) is never this machine's address.
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "dashboard", "--bind", "192.0.2.1", "--port", "18999"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("monitoring dashboard: error: cannot listen on 192.0.2.1:18999: ")


@pytest.mark.parametrize("args, message", [
    (["--kafka-user", "monitoring-dashboard"], "--kafka-user and --kafka-password-file go together"),
    (["--kafka-password-file", "/x"], "--kafka-user and --kafka-password-file go together"),
    (["--kafka-user", "u", "--kafka-password-file", "/x"], "--kafka-user needs kafka.security_protocol SASL_SSL (got PLAINTEXT)"),
])
def test_the_dashboards_kafka_login_options_are_checked(capsys, args, message):
    assert main(["--config", str(EXAMPLE), "dashboard", "--port", "18999", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"monitoring dashboard: error: {message}"]


def test_check_config_reads_standard_input_with_config_dash(monkeypatch, tmp_path, capsys):
    """site.yml's preflight pipes each machine's rendered config.yaml in: no file on the controller."""
    import io

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(EXAMPLE.read_bytes())))
    assert main(["check-config", "--config", "-"]) == 0
    assert capsys.readouterr().out.startswith("<stdin>: OK: team ")

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(
        EXAMPLE.read_text().replace("cpu: 80.0", "cpu: -5").encode())))
    assert main(["check-config", "--config", "-"]) == 2
    assert capsys.readouterr().err.strip() == \
        "monitoring check-config: error: config error: <stdin>: thresholds.cpu: must be >= 0 (got -5)"
