"""The live dashboard on the deployed lab (the deploy session runs with dashboard_enabled): site.yml
prints its URL; opened in headless Chromium on this controller while the producer replays a fresh
slice, the page's values change and the slice's alerts appear, without a reload. Without the live
path (the default session) the alerts are the slice's samples over a threshold; with it (E2E_LIVE=1) the slice's windows'
alerts, from the alerts topic."""
import csv
import re
import time
from decimal import Decimal

from selenium.webdriver.support.ui import WebDriverWait

from monitoring.wiring import JOBS
from tests.browser.conftest import artifacts, browser, console_errors, full_page_screenshot  # noqa: F401 (fixtures)

from .conftest import expected_team_csvs, live_on, on
from .test_faults_lab import make_slice, start_producer, wait_producer_done

CONSUMER1 = "10.213.0.13"
THRESHOLDS = {"cpu_pct": 80, "mem_pct": 85, "net_in": 5000, "disk_io": 1500}    # group_vars/all.yml's
LABELS = {m.metric: job.labels.first_only if i == 0 else job.labels.second_only
          for job in JOBS.values() for i, m in enumerate((job.first, job.second))}
SERVER = "server_11"


def _slice_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _row(b, server):
    """The server's row of the page (time and values), read in one script call."""
    return b.execute_script(
        "const tr = document.querySelector(`tr[data-server='${arguments[0]}']`);"
        "return tr ? [...tr.children].map(td => td.textContent.trim()) : null;", server)


def _alerts(b):
    return b.execute_script(
        "return [...document.querySelectorAll('#alerts li')].map(li => [li.dataset.server, li.textContent]);")


def test_the_dashboard_shows_a_replay_live_in_a_browser_on_the_controller(deployed, browser, artifacts, tmp_path):
    started = time.monotonic()
    found = re.findall(r"The dashboard: (http://\S+/)", deployed.stdout)
    assert found and found[-1] == f"http://{CONSUMER1}:8050/", deployed.stdout[-3000:]
    url = found[-1]
    assert on("consumer1", "systemctl is-active monitoring-dashboard").strip() == "active"

    browser.get(url)
    wait = WebDriverWait(browser, 60, poll_frequency=0.3)
    # The sample the deploy replayed, read back from Kafka: its 20 servers.
    wait.until(lambda b: b.execute_script("return document.querySelectorAll('#servers tr').length") >= 20)
    assert browser.execute_script("return document.getElementById('source').textContent").startswith("From Kafka")
    before = _row(browser, SERVER)
    browser.execute_script("window.notReloaded = true")

    # 720 rows, 3 minutes of 20 servers. It starts more than a window after the sample's end: the
    # stream jobs' idle flush has closed the windows up to then, so earlier rows would come late.
    local, remote = make_slice(tmp_path, "12:10:00")
    rows = _slice_rows(local)
    times = [r["ts"] for r in rows if r["server_id"] == SERVER]
    start_producer(remote, rate=20)                          # 36 s of replay
    # Mid-replay: the server's row shows a time of the slice, not yet its last one...
    mid = wait.until(lambda b: (r := _row(b, SERVER)) and r[1] in times[:-3] and r)
    # ...and then its last row, with its values.
    last = next(r for r in reversed(rows) if r["server_id"] == SERVER)
    end = WebDriverWait(browser, 120, poll_frequency=0.5).until(lambda b: (r := _row(b, SERVER)) and r[1] == times[-1] and r)
    assert mid != end != before
    assert end[2] == f"{Decimal(last['cpu_pct']):.2f}", (end, last)

    # Listed newest first: without the live path the slice's samples over a threshold, with it the
    # alerts of the slice's windows (the team CSVs' rows for the slice alone: the same 10 s grid).
    if live_on():
        expected = {(w[0], w[1], w[-1]) for text in expected_team_csvs(local)
                    for w in csv.reader(text.splitlines()[1:]) if w[-1]}
    else:
        expected = {(r["server_id"], r["ts"], LABELS[m]) for r in rows for m, t in THRESHOLDS.items()
                    if Decimal(f"{Decimal(r[m]):.2f}") > t}
    assert expected
    alerts = wait.until(lambda b: (a := _alerts(b)) and a[0][1].startswith("12:") and a)
    # (With the live path, windows that start before the slice hold its first rows too: left out.)
    shown = {(server, text[:8], text.split(": ", 1)[1]) for server, text in alerts if "12:10:00" <= text[:8] < "13:"}
    assert shown and shown <= expected, shown - expected
    assert browser.execute_script("return window.notReloaded") is True
    wait_producer_done()

    time.sleep(2.5)          # the charts follow at most every 2 s
    wait.until(lambda b: b.execute_script(
        "return [...document.querySelectorAll('#charts img')].every(i => i.complete && i.naturalWidth > 0)"))
    assert console_errors(browser) == []
    shot = full_page_screenshot(browser, artifacts / "dashboard-lab.png")
    assert shot.stat().st_size > 10_000
    print(f"the dashboard's lab test: {time.monotonic() - started:.0f} s")
