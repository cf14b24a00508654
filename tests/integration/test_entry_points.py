"""The seed's scripts run as the seed says, as does the package itself:

    python app/main.py --config F ROLE            monitoring --config F ROLE      python -m monitoring
    python app/producer/producer.py --config F    python app/consumers/consumer1.py --config F   (and 2)
    python app/spark-jobs/spark_job1.py --config F (and 2)    spark-submit app/spark-jobs/spark_job1.py --config F

Each answers --help with its role's own help; each does its real work on a small data file against
the session's broker and a local Spark.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring.cli import ROLES
from monitoring.wiring import CONSUMERS, JOBS
from tests.support import reference
from tests.support.pipeline import (MAIN, SCRIPTS, Service, assert_exactly_once, expected_consumer_rows, run,
                                    team_csv, topics_of, wait_caught_up, write_config)

VENV_BIN = Path(sys.executable).parent


def _help(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("role", sorted(SCRIPTS))
def test_each_seed_script_answers_help_with_its_role(role):
    res = _help([sys.executable, str(SCRIPTS[role])])
    assert res.returncode == 0, res.stderr
    assert " ".join(ROLES[role].split()) in " ".join(res.stdout.split())
    assert "--config FILE" in res.stdout


@pytest.mark.parametrize("cmd", [[sys.executable, str(MAIN)], [str(VENV_BIN / "monitoring")],
                                 [sys.executable, "-m", "monitoring"]], ids=["main.py", "console-script", "-m"])
def test_the_cli_answers_help_with_every_role(cmd):
    res = _help(cmd)
    assert res.returncode == 0, res.stderr
    assert all(role in res.stdout for role in ROLES)


@pytest.fixture(scope="module")
def scripted_run(kafka_broker, tmp_path_factory):
    """A small data file through the seed's scripts: producer.py, then consumer1.py and consumer2.py."""
    work = tmp_path_factory.mktemp("scripts")
    data = work / "small.csv"
    made = run(None, "generate", "--out", str(data), "--servers", "3", "--hours", "0.1")
    assert made.returncode == 0, made.stderr
    kafka_broker.create_topics(topics_of("scripts"), partitions=2)
    config = write_config(work, kafka_broker.bootstrap_servers, "scripts", data_file=data)
    consumers = [Service(config, role, work, script=True).start() for role in CONSUMERS]
    try:
        produced = run(config, "producer", script=True)
        assert produced.returncode == 0, produced.stderr[-2000:]
        for role in CONSUMERS:
            wait_caught_up(config, role, timeout=60)
    finally:
        codes = [c.stop() for c in consumers]
    return work, config, data, produced, codes, consumers


def test_producer_and_consumer_scripts_move_every_row_once(scripted_run):
    work, _, data, produced, codes, consumers = scripted_run
    assert "done: 216 rows read, 0 rejected, 864 messages acknowledged of 864 sent" in produced.stderr
    assert codes == [0, 0], [c.text()[-2000:] for c in consumers]
    assert all(f"{c.role} stopped: 432 rows written" in c.text() for c in consumers)
    assert_exactly_once(work / "output", expected_consumer_rows(data))


EXPECTED = {"spark-job1": reference.expected_cpu_mem_file, "spark-job2": reference.expected_net_disk_file}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_spark_job_scripts_write_the_team_csv(scripted_run, job):
    work, config, *_ = scripted_run
    out = work / "output" / team_csv(job)
    out.unlink(missing_ok=True)
    res = run(config, job, script=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert out.read_text() == EXPECTED[job](str(work / "output"))


def test_a_spark_job_script_runs_through_spark_submit(scripted_run):
    work, config, *_ = scripted_run
    out = work / "output" / team_csv("spark-job1")
    out.unlink(missing_ok=True)
    # As with the virtualenv active: spark-submit starts the driver with the `python3` on PATH.
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    res = subprocess.run([str(VENV_BIN / "spark-submit"), str(SCRIPTS["spark-job1"]), "--config", str(config)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert out.read_text() == EXPECTED["spark-job1"](str(work / "output"))


def test_a_script_fails_with_its_one_line(tmp_path):
    res = run(tmp_path / "missing.yaml", "consumer2", script=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("consumer2.py consumer2: error: config error: ")
