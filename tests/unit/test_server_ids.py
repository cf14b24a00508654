"""`monitoring server-ids`: the data file's server ids, and --clash, which refuses live hostnames that
are also server ids of the file (the replay and a live source would write one series)."""
import pytest

from monitoring.cli import main
from tests.support.pipeline import write_config

HEADER = "ts,server_id,cpu_pct,mem_pct,net_in,net_out,disk_io\n"


def data(folder, *servers, extra=""):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.csv"
    rows = "".join(f"10:00:{i:02d},{s},10,20,1,2,3\n" for i, s in enumerate(servers))
    path.write_text(HEADER + rows + extra)
    return path


def run(tmp_path, capsys, path, *args):
    cfg = write_config(tmp_path, "127.0.0.1:1", "t", data_file=path)
    code = main(["--config", str(cfg), "--log-level", "ERROR", "server-ids", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.strip().splitlines()


def test_the_distinct_ids_sorted_as_text(tmp_path, capsys):
    path = data(tmp_path, "web-2", "db1", "web-10", "db1", "web-2")
    assert run(tmp_path, capsys, path) == (0, ["db1", "web-10", "web-2"], [])


def test_a_rejected_row_names_no_server(tmp_path, capsys, caplog):
    # The producer never publishes a rejected row: its server cannot clash.
    path = data(tmp_path, "db1", extra="10:00:09,lost,999,20,1,2,3\n")
    assert run(tmp_path, capsys, path) == (0, ["db1"], [])
    assert run(tmp_path, capsys, path, "--clash", "lost")[0] == 0
    assert [r.getMessage() for r in caplog.records if r.name == "server-ids"] == \
        [f"{path}: 1 rows rejected, not counted (first: line 3: cpu_pct is above 100 (999))"] * 2


def test_data_overrides_the_configs_data_file(tmp_path, capsys):
    other = data(tmp_path / "other", "x1")
    code, out, _ = run(tmp_path, capsys, tmp_path / "absent.csv", "--data", str(other))
    assert (code, out) == (0, ["x1"])


@pytest.mark.parametrize("clash", [["--clash", "db1,web1"], ["--clash", "web1", "--clash", "db1.lab.example"],
                                   ["--clash", "db1,"]], ids=["list", "repeated-fqdn", "trailing-comma"])
def test_a_clash_is_refused_naming_the_ids(tmp_path, capsys, clash):
    path = data(tmp_path, "db1", "web1", "web2")
    code, out, err = run(tmp_path, capsys, path, *clash)
    named = "db1, web1" if "web1" in " ".join(clash) else "db1"
    assert (code, out) == (2, [])
    assert err == [f"monitoring server-ids: error: data file {path} names {named}, also the hostname of a live "
                   "source: the replay and that host's samples would write one series"]


def test_a_clash_with_named_hosts_names_for_each_id_its_hosts(tmp_path, capsys):
    # WHO=HOSTNAME, as site.yml's preflight passes the group monitored: the line says which inventory
    # hosts have each clashing id as their hostname.
    path = data(tmp_path, "db1", "web1", "web2")
    code, out, err = run(tmp_path, capsys, path, "--clash",
                         "web1-vm (10.0.0.21)=web1.lab,db-a (10.0.0.5)=db1,db-b=db1.lab.example,spare=web3")
    assert (code, out) == (2, [])
    assert err == [f"monitoring server-ids: error: data file {path}: server id db1 is also the hostname of "
                   "monitored hosts db-a (10.0.0.5) and db-b; server id web1 is also the hostname of monitored "
                   "host web1-vm (10.0.0.21): the replay and those hosts' samples would write one series"]
    code, out, err = run(tmp_path, capsys, path, "--clash", "web1-vm (10.0.0.21)=web1,spare=web3")
    assert err == [f"monitoring server-ids: error: data file {path}: server id web1 is also the hostname of "
                   "monitored host web1-vm (10.0.0.21): the replay and that host's samples would write one series"]
    assert run(tmp_path, capsys, path, "--clash", "spare=web3,other (10.0.0.9)=db2")[:2] == \
        (0, [f"no clash: none of 2 hostnames is among the 3 server ids of {path}"])


def test_no_clash_exits_0(tmp_path, capsys):
    path = data(tmp_path, "db1", "web1")
    # Compared as the live source names its rows: exactly, the first label of the hostname.
    code, out, err = run(tmp_path, capsys, path, "--clash", "producer,broker.lab,DB1,web")
    assert (code, err) == (0, [])
    assert out == [f"no clash: none of 4 hostnames is among the 2 server ids of {path}"]


@pytest.mark.parametrize("clash, message", [
    (",", "--clash names no hostname"),
    ("ok,bad host", "hostname 'bad host': server_id 'bad host' is not a name of letters, digits and _.:- (at most 128)"),
])
def test_a_bad_hostname_is_one_line(tmp_path, capsys, clash, message):
    code, out, err = run(tmp_path, capsys, data(tmp_path, "db1"), "--clash", clash)
    assert (code, out, err) == (2, [], [f"monitoring server-ids: error: {message}"])


@pytest.mark.parametrize("content, why", [
    (None, "no such file"),
    (b"ts,server_id\n\xff\xfe\n", "not UTF-8 text (invalid start byte at byte 13)"),
], ids=["missing", "not-utf8"])
def test_a_bad_data_file_is_one_line(tmp_path, capsys, content, why):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    for args in ([], ["--clash", "db1"]):
        code, out, err = run(tmp_path, capsys, path, *args)
        assert (code, out, err) == (2, [], [f"monitoring server-ids: error: data file {path}: {why}"])


def test_with_data_no_config_is_needed(tmp_path, capsys, monkeypatch):
    # site.yml's preflight asks on the controller, where no config.yaml exists yet.
    monkeypatch.delenv("MONITORING_CONFIG", raising=False)
    path = data(tmp_path, "db1", "web1")
    assert main(["--log-level", "ERROR", "server-ids", "--data", str(path), "--clash", "db1"]) == 2
    assert capsys.readouterr().err.strip() == (f"monitoring server-ids: error: data file {path} names db1, also the "
                                              "hostname of a live source: the replay and that host's samples "
                                              "would write one series")


@pytest.mark.parametrize("content, why", [
    ("", "(it is empty, or only its header)"),
    (HEADER, "(it is empty, or only its header)"),
    (HEADER + "\n\n", "(it is empty, or only its header)"),
    (HEADER + "10:00:00,db1,999,20,1,2,3\n", "the producer would publish: all 1 rejected "
                                             "(first: line 2: cpu_pct is above 100 (999))"),
], ids=["empty", "header-only", "header-and-blank-lines", "all-rejected"])
def test_require_rows_refuses_a_file_without_data_rows(tmp_path, capsys, content, why):
    # The producer would publish nothing; site.yml's preflight asks before anything is installed.
    path = tmp_path / "data.csv"
    path.write_text(content)
    for clash in ([], ["--clash", "db1"]):
        code, out, err = run(tmp_path, capsys, path, "--require-rows", *clash)
        assert (code, out, err) == (2, [], [f"monitoring server-ids: error: data file {path} holds no data rows {why}"])


def test_require_rows_passes_a_file_with_rows(tmp_path, capsys):
    path = data(tmp_path, "db1", "web1")
    assert run(tmp_path, capsys, path, "--require-rows") == (0, [f"{path} holds data rows"], [])
    assert run(tmp_path, capsys, path, "--require-rows", "--clash", "web1")[0] == 2
