"""`monitoring report`: report.html beside the team CSVs, its counts the CSVs' own; bad input is one
line and exit code 2."""
import re
from collections import Counter
from html import escape
from pathlib import Path

import pytest

from monitoring.cli import main
from monitoring.wiring import JOBS, REPORT_FILE
from tests.support.reference import expected_files_from_data

EXAMPLE = Path(__file__).resolve().parents[2] / "app" / "config" / "config.yaml"
TEAM = "42"  # the example config's team_number


@pytest.fixture
def team_dir(tmp_path):
    data = tmp_path / "data.csv"
    assert main(["--log-level", "ERROR", "generate", "--out", str(data), "--servers", "3", "--hours", "0.5",
                 "--start", "23:50:00"]) == 0
    for job, text in zip(JOBS.values(), expected_files_from_data(data)):
        (tmp_path / job.output_name(TEAM)).write_text(text)
    return tmp_path


def test_the_report_is_written_beside_the_team_csvs_and_counts_what_they_hold(team_dir, capsys):
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir),
                 "--data", str(team_dir / "data.csv")]) == 0
    out = team_dir / REPORT_FILE
    assert capsys.readouterr().out.strip() == str(out)
    html = out.read_text()
    shown = {m[0]: int(m[1]) for m in re.findall(r'<span class="count" data-kind="([^"]+)">(\d+)</span>', html)}
    for job in JOBS.values():
        lines = (team_dir / job.output_name(TEAM)).read_text().splitlines()[1:]
        counted = Counter(line.rsplit(",", 1)[1] for line in lines)
        for kind in (job.labels.both, job.labels.first_only, job.labels.second_only):
            assert shown[kind] == counted.get(kind, 0)
    assert len(re.findall(r'class="server" data-server=', html)) == 3
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_top_limits_the_small_multiples_not_the_heatmap(team_dir):
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir), "--top", "2"]) == 0
    html = (team_dir / REPORT_FILE).read_text()
    assert len(re.findall(r'class="server" data-server=', html)) == 2
    assert '<span id="team-server-count">3</span>' in html


def test_the_servers_shown_when_there_are_too_many_are_those_with_most_alerts_most_first(team_dir):
    job = JOBS["spark-job1"]
    path = team_dir / job.output_name(TEAM)
    head, *rows = path.read_text().splitlines()
    last = max(r.split(",")[0] for r in rows)          # the last server by name gets every alert
    rows = [",".join(f[:-1] + ["CPU spike suspected" if f[0] == last else ""]) for f in (r.split(",") for r in rows)]
    path.write_text("\n".join([head, *rows]) + "\n")
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir), "--top", "2"]) == 0
    shown = re.findall(r'class="server" data-server="([^"]+)"><h3>[^<]+<span class="note">(\d+) alert', (team_dir / REPORT_FILE).read_text())
    assert shown[0][0] == last and int(shown[0][1]) > 0
    assert [int(n) for _, n in shown] == sorted((int(n) for _, n in shown), reverse=True)


def test_a_missing_team_csv_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["--config", str(EXAMPLE), "report", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("monitoring report: error: ")
    assert str(tmp_path / JOBS["spark-job1"].output_name(TEAM)) in err[0] and "no such file" in err[0]


def test_a_wrong_header_is_one_line_and_exit_code_2(team_dir, capsys):
    name = JOBS["spark-job2"].output_name(TEAM)
    (team_dir / name).write_text("server,when\n")
    assert main(["--config", str(EXAMPLE), "report", "--dir", str(team_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{name}: header is 'server,when', expected" in err[0]
    assert not (team_dir / REPORT_FILE).exists()


def test_live_csvs_beside_the_team_csvs_get_their_own_sections(team_dir):
    job = JOBS["spark-job1"]
    lines = (team_dir / job.output_name(TEAM)).read_text().splitlines()
    (team_dir / job.live_csv).write_text("\n".join(lines[:40]) + "\n")   # only one job's live CSV so far
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir), "--top", "1"]) == 0
    html = (team_dir / REPORT_FILE).read_text()
    assert 'id="live-alerts"' in html and f"{job.live_csv}</td><td>39 rows" in html
    assert 'id="team-alerts"' in html


def _replace_row(path, index, fields):
    lines = path.read_text().splitlines()
    lines[index] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("column, text, why", [
    (3, "inf", "avg_cpu is not a number ('inf')"),
    (3, "nan", "avg_cpu is not a number ('nan')"),
    (4, "-5.00", "avg_mem is negative ('-5.00')"),
    (4, "1e308", "avg_mem is not a number ('1e308')"),
    (0, "", "server_id is empty"),
    (1, "2026-01-01 10:00:00", "window_start '2026-01-01 10:00:00' is dated, the rows before it time only"),
])
def test_a_broken_row_is_one_line_naming_its_line_and_exit_code_2(team_dir, capsys, column, text, why):
    # A number that is not finite drew no figure (a traceback from matplotlib), nan or a negative
    # value drew a wrong one; a row in the other clock form put the windows 20,000 days apart.
    name = JOBS["spark-job1"].output_name(TEAM)
    path = team_dir / name
    fields = path.read_text().splitlines()[3].split(",")
    fields[column] = text
    _replace_row(path, 3, fields)
    assert main(["--config", str(EXAMPLE), "report", "--dir", str(team_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"monitoring report: error: {path}: line 4: {why}"]
    assert not (team_dir / REPORT_FILE).exists()


def test_team_csvs_of_two_clock_forms_are_one_line_and_exit_code_2(team_dir, capsys):
    path = team_dir / JOBS["spark-job2"].output_name(TEAM)
    header, *rows = path.read_text().splitlines()
    path.write_text("\n".join([header] + [r.replace(",23:", ",2026-01-01 23:").replace(",00:", ",2026-01-02 00:")
                                          for r in rows]) + "\n")
    assert main(["--config", str(EXAMPLE), "report", "--dir", str(team_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(f"{path}: its windows are dated, those of "
                                             f"{team_dir / JOBS['spark-job1'].output_name(TEAM)} time only")


def test_a_run_without_any_alert_says_so_instead_of_an_empty_table(team_dir):
    for job in JOBS.values():
        path = team_dir / job.output_name(TEAM)
        header, *rows = path.read_text().splitlines()
        path.write_text("\n".join([header] + [r.rsplit(",", 1)[0] + "," for r in rows]) + "\n")
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir)]) == 0
    html = (team_dir / REPORT_FILE).read_text()
    assert "0 windows with an alert; 0 of 3 servers had one." in html
    assert '<p class="note" id="team-no-alert">none: no server had an alert</p>' in html
    assert "<th>server</th><th>alert windows</th>" not in html


@pytest.mark.parametrize("content, problem", [
    (b"", "empty (no header, no rows)"),
    (None, "line 41: 3 fields where 6 are expected"),                  # a half-written last line
    (b"server_id,window_start\n", "header is 'server_id,window_start', expected"),
    ((",".join(JOBS["spark-job1"].header) + "\nweb1,10:00:00,10:00:30,inf,2.00,\n").encode(),
     "line 2: avg_cpu is not a number ('inf')"),
], ids=["0-byte", "half-written-last-line", "bad-header", "bad-value"])
def test_a_broken_live_csv_is_left_out_with_one_warning_and_the_report_still_made(team_dir, capsys, caplog,
                                                                                   content, problem):
    # The live CSVs are the stream jobs', maybe still being written: the team CSVs (the graded ones)
    # still make the report, without that live CSV's section, which says why it is not there.
    broken, fine = JOBS["spark-job1"], JOBS["spark-job2"]
    path = team_dir / broken.live_csv
    if content is None:
        lines = (team_dir / broken.output_name(TEAM)).read_text().splitlines()[:40]
        content = ("\n".join(lines) + "\n" + lines[-1][:lines[-1].index(",", lines[-1].index(",") + 1) + 4]).encode()
    path.write_bytes(content)
    (team_dir / fine.live_csv).write_text((team_dir / fine.output_name(TEAM)).read_text())
    caplog.set_level("WARNING")
    assert main(["--config", str(EXAMPLE), "report", "--dir", str(team_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(team_dir / REPORT_FILE)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and warned[0].startswith(f"{path} left out of the report: {problem}"), warned
    html = (team_dir / REPORT_FILE).read_text()
    assert 'id="team-alerts"' in html and 'id="live-alerts"' in html
    assert f"<code>{broken.live_csv}</code> was left out: {escape(problem)}" in html
    assert f"{fine.live_csv}</td><td>" in html and f"{broken.live_csv}</td><td>" not in html


def test_a_broken_live_csv_alone_leaves_out_the_live_sections_and_says_why(team_dir, capsys):
    (team_dir / JOBS["spark-job2"].live_csv).write_text("")
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir)]) == 0
    html = (team_dir / REPORT_FILE).read_text()
    assert 'id="live-left-out"' in html and 'id="live-alerts"' not in html and 'id="team-alerts"' in html
    assert f"<code>{JOBS['spark-job2'].live_csv}</code> was left out: empty (no header, no rows)" in html


def test_a_broken_team_csv_is_still_an_error_beside_broken_live_csvs(team_dir, capsys):
    (team_dir / JOBS["spark-job1"].live_csv).write_text("")
    (team_dir / JOBS["spark-job2"].output_name(TEAM)).write_text("")
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"{team_dir / JOBS['spark-job2'].output_name(TEAM)}: "
                                                    "empty (no header, no rows)")
    assert not (team_dir / REPORT_FILE).exists()


def _run_table(html: str) -> dict:
    section = html[html.index('id="team-run"'):html.index('id="team-alerts"')]
    return dict(re.findall(r"<tr><td>([^<]+)</td><td>(.*?)</td></tr>", section))


def test_dir_without_data_claims_no_data_file(team_dir):
    # Another folder's run may be of any data file: the config's data_file and its digest need not be it.
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir)]) == 0
    run = _run_table((team_dir / REPORT_FILE).read_text())
    assert run["data file"] == "not given (use --data)"
    assert run["data file digest"] == "not given (use --data or --data-digest)"
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir),
                 "--data-digest", "0123456789abcdef"]) == 0
    run = _run_table((team_dir / REPORT_FILE).read_text())
    assert (run["data file"], run["data file digest"]) == ("not given (use --data)", "<code>0123456789abcdef</code>")


def test_dir_with_data_names_that_file_and_its_digest(team_dir):
    from monitoring.producer.sources import file_digest

    data = team_dir / "data.csv"
    assert main(["--config", str(EXAMPLE), "--log-level", "ERROR", "report", "--dir", str(team_dir),
                 "--data", str(data)]) == 0
    run = _run_table((team_dir / REPORT_FILE).read_text())
    assert (run["data file"], run["data file digest"]) == (f"<code>{data}</code>", f"<code>{file_digest(data)}</code>")


def test_without_dir_the_configs_own_run_names_its_data_file(team_dir, tmp_path_factory):
    # The config's own output_dir: its run replayed the config's data_file (today's behaviour).
    from monitoring.producer.sources import file_digest

    folder = tmp_path_factory.mktemp("cfg")
    (folder / "config.yaml").write_text(EXAMPLE.read_text().replace("output_dir: ../output", f"output_dir: {team_dir}")
                                        .replace("data_file: ../data/sample_data.csv", f"data_file: {team_dir / 'data.csv'}"))
    assert main(["--config", str(folder / "config.yaml"), "--log-level", "ERROR", "report"]) == 0
    run = _run_table((team_dir / REPORT_FILE).read_text())
    data = team_dir / "data.csv"
    assert (run["data file"], run["data file digest"]) == (f"<code>{data}</code>", f"<code>{file_digest(data)}</code>")
