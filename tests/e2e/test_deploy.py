"""site.yml from scratch on four fresh hosts, then everything a team relies on, in order."""
import pytest

from monitoring.wiring import REPORT_FILE

from .conftest import (HOSTS, ROOT, TEAM_CSV, UNITS, assert_consumer_csvs_exact, assert_nothing_changed,
                       expected_team_csvs, on, playbook, recap)




def test_site_yml_deploys_from_scratch(deployed):
    counters = recap(deployed.stdout)
    assert {f"{h}-node" for h in HOSTS} <= set(counters), deployed.stdout[-2000:]
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counters.values())
    assert "[DEPRECATION WARNING]" not in deployed.stdout + deployed.stderr, \
        "site.yml printed a deprecation warning:\n" + "\n".join(
            line for line in (deployed.stdout + deployed.stderr).splitlines() if "DEPRECATION" in line)


def test_every_unit_is_active_and_enabled(deployed):
    for host, units in UNITS.items():
        for unit in units:
            assert on(host, f"systemctl is-enabled {unit}").strip() == "enabled", f"{host}: {unit} not enabled"
            assert on(host, f"systemctl is-active {unit}").strip() == "active", f"{host}: {unit} not active"


def test_consumer_csvs_hold_every_produced_row_exactly_once(deployed):
    res, _ = playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert_consumer_csvs_exact()


def test_analysis_and_fetched_team_csvs_equal_the_reference(deployed):
    res, took = playbook("run-analysis.yml")
    assert res.returncode == 0, f"run-analysis.yml failed:\n{res.stdout[-6000:]}"
    print(f"run-analysis.yml: {took:.0f} s")
    res, _ = playbook("fetch-results.yml")
    assert res.returncode == 0, f"fetch-results.yml failed:\n{res.stdout[-6000:]}"
    want_cpu, want_net = expected_team_csvs()
    assert (ROOT / "results" / TEAM_CSV["spark-job1"]).read_text() == want_cpu
    assert (ROOT / "results" / TEAM_CSV["spark-job2"]).read_text() == want_net
    assert "Possible DDoS" in res.stdout and "High CPU + Memory stress" in res.stdout
    report = ROOT / "results" / REPORT_FILE
    assert f"The report: {report} " in res.stdout and report.stat().st_size > 0


def test_a_second_site_run_changes_nothing(deployed):
    res, took = playbook("site.yml")
    assert_nothing_changed(res)
    assert "[DEPRECATION WARNING]" not in res.stdout + res.stderr, res.stdout[-4000:]
    print(f"site.yml, second run: {took:.0f} s")


def test_check_mode_runs_clean_on_deployed_hosts(deployed):
    res, _ = playbook("site.yml", "--check")
    assert res.returncode == 0, res.stdout[-4000:]


def test_the_units_run_the_installed_app_and_no_code_is_copied(deployed):
    for host in ("producer", "consumer1", "consumer2"):
        unit = f"monitoring-{host}"
        exec_start = on(host, f"systemctl show -p ExecStart --value {unit}")
        assert f"argv[]=/opt/monitoring/venv/bin/monitoring --config /etc/monitoring/config.yaml {host} ;" in exec_start, \
            exec_start
        assert on(host, "test -e /opt/monitoring/app && echo copied || echo none").strip() == "none", host
    import hashlib

    assert on("producer", "sha256sum < /opt/monitoring/data/sample_data.csv").split()[0] == \
        hashlib.sha256((ROOT / "app" / "data" / "sample_data.csv").read_bytes()).hexdigest()
    for host in ("consumer1", "consumer2"):
        assert on(host, "test -e /opt/monitoring/data && echo there || echo none").strip() == "none", \
            f"{host}: the producer's data file is deployed there"


def test_site_run_puts_back_an_installed_file_changed_or_deleted_on_a_host(deployed):
    """The app role checks the installed files against pip's RECORD: what differs must be found, and put back."""
    import hashlib

    site = on("producer", "/opt/monitoring/venv/bin/python -c 'import monitoring, os; print(os.path.dirname(monitoring.__file__))'").strip()
    assert site.endswith("/site-packages/monitoring"), site
    on("producer", f"echo '# edited' >> {site}/core/config.py; rm {site}/core/alerts.py; chmod 666 {site}/wiring.py")
    res, _ = playbook("site.yml", "--tags", "app_install", "--limit", "producer-node")
    assert res.returncode == 0, res.stdout[-4000:]
    assert recap(res.stdout)["producer-node"]["changed"] >= 1, res.stdout[-4000:]
    for name in ("core/config.py", "core/alerts.py", "wiring.py"):
        found = on("producer", f"stat -c '%a %U' {site}/{name}; sha256sum < {site}/{name}").split()
        assert found[:2] == ["644", "root"], f"{name}: {found}"
        assert found[2] == hashlib.sha256((ROOT / "app" / "monitoring" / name).read_bytes()).hexdigest(), \
            f"{name} not put back"
    assert on("producer", "systemctl is-active monitoring-producer").strip() == "active"
    # Put back, the check finds nothing more to do.
    res, _ = playbook("site.yml", "--tags", "app_install", "--limit", "producer-node")
    assert_nothing_changed(res)


@pytest.mark.parametrize("host", ["consumer1", "broker", "producer"])
def test_a_restarted_host_brings_its_services_back(deployed, host):
    from .conftest import lab

    lab("restart", host, timeout=300)
    for unit in UNITS[host]:
        state = on(host, f"for i in $(seq 60); do s=$(systemctl is-active {unit}); "
                         f"[ \"$s\" = active ] && break; sleep 1; done; echo $s").strip()
        assert state == "active", f"{host}: {unit} is {state} after a reboot"
    res, _ = playbook("run-analysis.yml", "--tags", "wait")
    assert res.returncode == 0, res.stdout[-4000:]
    assert_consumer_csvs_exact()
