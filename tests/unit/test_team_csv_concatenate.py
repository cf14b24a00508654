"""The split write's last step: each server's part file, joined in server order, header first."""
import pytest

from monitoring.jobs.windowed_job import ONE_TASK_BYTES, TASK_INPUT_BYTES, JobError, _concatenate, tasks_for


def part(tmp, folder: str, text: str, name: str = "part-00000-x.c000.csv"):
    d = tmp / "spark" / folder
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text)


def test_servers_in_spark_text_order_with_escaped_names(tmp_path):
    # Spark escapes ':' as %3A in the folder name; text order puts 'B' before 'a' and 'a' before 'a:b'.
    part(tmp_path, "_server=a%3Ab", "a:b,1\na:b,2\n")
    part(tmp_path, "_server=a", "a,1\n")
    part(tmp_path, "_server=B", "B,1\n")
    part(tmp_path, "_server=a-1", "a-1,1\n")
    out = tmp_path / "team.csv"
    _concatenate(tmp_path / "spark", out, "server_id,x")
    assert out.read_text() == "server_id,x\nB,1\na,1\na-1,1\na:b,1\na:b,2\n"


def test_a_server_in_two_part_files_is_refused(tmp_path):
    part(tmp_path, "_server=s1", "s1,1\n")
    part(tmp_path, "_server=s1", "s1,2\n", name="part-00001-x.c000.csv")
    with pytest.raises(JobError, match="2 part files"):
        _concatenate(tmp_path / "spark", tmp_path / "team.csv", "server_id,x")


def test_one_task_up_to_its_limit_then_one_per_task_size():
    assert [tasks_for(n) for n in (0, 1, ONE_TASK_BYTES)] == [1, 1, 1]
    above = ONE_TASK_BYTES + 1
    assert tasks_for(above) == -(-above // TASK_INPUT_BYTES) > 1
    assert tasks_for(10 * ONE_TASK_BYTES) == 10 * ONE_TASK_BYTES // TASK_INPUT_BYTES
