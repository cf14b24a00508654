"""roles/venv_check/files/venv_check.py, the app and spark roles' one check of what is installed: run as the
role runs it (a script, with the machine's python3) on a virtualenv laid out by hand."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "venv_check" / "files" / "venv_check.py"


def check(wheel: Path, venv: Path, requirements: Path) -> dict:
    out = subprocess.run([sys.executable, str(SCRIPT), str(venv), str(requirements), str(wheel), "monitoring"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    for dist in ("PyYAML-6.0.3", "kafka_python-3.0.12"):
        (site / f"{dist}.dist-info").mkdir(parents=True)
    return tmp_path / "venv"


def test_pins_installed_at_their_version_are_not_reported(tmp_path, venv):
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\nkafka-python==3.0.12\n\npyyaml==6.0.3  # the name as pip normalises it\n")
    assert check(tmp_path / "no.whl", venv, req)["requirements"] == []


def test_a_pin_at_another_version_or_missing_is_reported(tmp_path, venv):
    req = tmp_path / "requirements.txt"
    req.write_text("kafka-python==3.0.13\nPyYAML==6.0.3\nnumpy==2.4.6\n")
    found = check(tmp_path / "no.whl", venv, req)["requirements"]
    assert found == ["kafka-python==3.0.13: installed ['3.0.12']", "numpy==2.4.6: installed none"]


def test_no_requirements_file_and_no_wheel_are_problems(tmp_path, venv):
    result = check(tmp_path / "no.whl", venv, tmp_path / "missing.txt")
    assert result["requirements"] == [f"no requirements file at {tmp_path / 'missing.txt'}"]
    assert result["problems"] == [f"no wheel at {tmp_path / 'no.whl'}"]


def test_without_a_wheel_only_the_pins_are_checked(tmp_path, venv):
    """The spark role's use: its PySpark pin, no wheel of its own."""
    req = tmp_path / "requirements-spark.txt"
    req.write_text("pyspark==4.1.1\n")
    out = subprocess.run([sys.executable, str(SCRIPT), str(venv), str(req)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"requirements": ["pyspark==4.1.1: installed none"]}
