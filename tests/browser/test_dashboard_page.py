"""The dashboard in a real browser, on loopback: rows appended to the consumers' CSVs (by the test,
no Kafka) change the page's values and bring an alert, without a reload."""
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from monitoring.wiring import JOBS, TOPICS
from tests.browser.conftest import console_errors, full_page_screenshot, requested_urls

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "app" / "config" / "config.yaml"
CPU = JOBS["spark-job1"].first       # its metric's column in the cpu topic's CSV
SERVERS = [f"server_{i}" for i in range(1, 5)]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _append(out: Path, second: int, cpu: dict[str, float]) -> None:
    ts = f"10:00:{second:02d}"
    for topic in TOPICS.values():
        with open(out / topic.csv, "a") as f:
            for server in SERVERS:
                values = {"ts": ts, "server_id": server, CPU.metric: cpu.get(server, 20.0)}
                f.write(",".join(str(values.get(c, 10.0)) for c in topic.fields) + "\n")


@pytest.fixture
def dashboard(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    for topic in TOPICS.values():
        (out / topic.csv).write_text(",".join(topic.fields) + "\n")
    _append(out, 0, {})
    config = tmp_path / "config.yaml"
    config.write_text(EXAMPLE.read_text().replace("output_dir: ../output", f"output_dir: {out}"))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "monitoring", "--config", str(config), "dashboard",
                             "--bind", "127.0.0.1", "--port", str(port), "--poll", "0.3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "snapshot", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the dashboard did not start: {proc.stdout.read()}")
            time.sleep(0.3)
    yield url, out
    proc.terminate()
    proc.wait(timeout=20)


# The page re-renders its table and list on every update: read them in one script call, never
# through element handles that an update may have replaced.
def _cell(browser, server, metric, what="textContent"):
    return browser.execute_script(
        "const c = document.querySelector(arguments[0]); return c ? c[arguments[1]].trim() : null;",
        f'tr[data-server="{server}"] td[data-metric="{metric}"]', what)


def _value(browser, server, metric):
    return _cell(browser, server, metric)


def _first_alert(browser):
    return browser.execute_script(
        "const a = document.querySelector('#alerts li');"
        "return a ? [a.getAttribute('data-server'), a.textContent] : null;")


def test_values_and_alerts_arrive_without_a_reload(browser, dashboard, artifacts):
    url, out = dashboard
    browser.get(url)
    wait = WebDriverWait(browser, 20, poll_frequency=0.2)
    wait.until(lambda b: _value(b, "server_1", CPU.metric) == "20.00")
    assert browser.execute_script("return document.querySelectorAll('#servers tr').length") == len(SERVERS)
    browser.execute_script("window.notReloaded = true")

    _append(out, 5, {"server_1": 55.5})
    wait.until(lambda b: _value(b, "server_1", CPU.metric) == "55.50")
    assert _first_alert(browser) is None

    _append(out, 10, {"server_3": 97.25})
    wait.until(lambda b: _value(b, "server_3", CPU.metric) == "97.25")
    server, text = wait.until(_first_alert)
    assert server == "server_3" and JOBS["spark-job1"].labels.first_only in text
    assert "above" in _cell(browser, "server_3", CPU.metric, "className")
    assert browser.execute_script("return window.notReloaded") is True

    time.sleep(2.5)  # the charts follow at most every 2 s
    assert browser.execute_script("return document.querySelectorAll('#charts img').length") == 4
    wait.until(lambda b: b.execute_script(
        "return [...document.querySelectorAll('#charts img')].every(i => i.complete && i.naturalWidth > 0)"))
    assert console_errors(browser) == []
    assert all(u.startswith(url) or u.startswith("data:") for u in requested_urls(browser))
    full_page_screenshot(browser, artifacts / "dashboard.png")
