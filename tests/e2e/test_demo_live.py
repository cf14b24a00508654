"""`make demo-live` as a newcomer runs it (lab/demo-live.sh): the four lab hosts, each in the group
monitored, publish their own samples; the live path windows them; a CPU burn on one host (broker)
raises "CPU spike suspected" for it on the alerts topic within a minute, and the dashboard, opened in
headless Chromium on the controller, shows all four hosts and that alert.

Marked lab_topologies, not part of `make test`: it brings its own lab up (lab/topologies/monitored.yml)
from fresh disks and down again. `make test-topologies` runs it with the other topologies."""
from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import artifacts, browser, console_errors, full_page_screenshot  # noqa: F401 (fixtures)

from .conftest import ROOT, lab, on

pytestmark = pytest.mark.lab_topologies

HOSTS = ("producer", "broker", "consumer1", "consumer2")
BURN_HOST = "broker"


@pytest.fixture(scope="module")
def demo_live():
    if os.geteuid() != 0:
        pytest.fail("the end-to-end tests need root: run them as root")
    lab("down", "--purge", check=False)   # a newcomer's fresh hosts
    started = time.monotonic()
    try:
        res = subprocess.run(["bash", "lab/demo-live.sh"], cwd=ROOT, capture_output=True, text=True, timeout=2400,
                             env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "DEMO_BURN_HOST": BURN_HOST})
        print(f"make demo-live: {time.monotonic() - started:.0f} s")
        yield res
    finally:
        lab("down", timeout=300, check=False)


def test_the_burn_raises_its_hosts_alert_on_the_alerts_topic_within_a_minute(demo_live):
    out = demo_live.stdout
    assert demo_live.returncode == 0, f"{out[-5000:]}\n{demo_live.stderr[-3000:]}"
    found = re.search(rf'"CPU spike suspected" for {BURN_HOST} (\d+) s after the burn started:.*? {BURN_HOST} ', out)
    assert found and int(found[1]) <= 60, out[-3000:]
    print(f"the alert came {found[1]} s after the burn started")
    # Each host runs its own live source, under its own hostname.
    for host in HOSTS:
        assert on(host, "systemctl is-active monitoring-live").strip() == "active"


def test_the_dashboard_shows_the_four_hosts_and_the_burns_alert(demo_live, browser, artifacts):
    found = re.findall(r"The dashboard: (http://\S+/)", demo_live.stdout)
    assert found, demo_live.stdout[-3000:]
    browser.get(found[-1])
    wait = WebDriverWait(browser, 60, poll_frequency=0.5)
    shown = wait.until(lambda b: (s := set(b.execute_script(
        "return [...document.querySelectorAll('#servers tr')].map(tr => tr.dataset.server)"))) >= set(HOSTS) and s)
    assert shown >= set(HOSTS)
    alerts = wait.until(lambda b: [a for a in b.execute_script(
        "return [...document.querySelectorAll('#alerts li')].map(li => [li.dataset.server, li.textContent]);")
        if a[0] == BURN_HOST and "CPU spike suspected" in a[1]])
    assert alerts
    assert console_errors(browser) == []
    assert full_page_screenshot(browser, artifacts / "dashboard-demo-live.png").stat().st_size > 10_000
