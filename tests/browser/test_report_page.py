"""report.html in a real browser: built from the sample's team CSVs (computed by the independent
reference, so no Kafka or Spark), opened from file:// in headless Chromium."""
from collections import Counter
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from monitoring.cli import main
from monitoring.wiring import JOBS, REPORT_FILE
from tests.browser.conftest import console_errors, full_page_screenshot, requested_urls
from tests.support.reference import expected_files_from_data

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "app" / "config" / "config.yaml"
SAMPLE = ROOT / "app" / "data" / "sample_data.csv"
TEAM = "42"  # the example config's team_number

pytestmark = pytest.mark.browser


def _offline(urls):
    return [u for u in urls if not u.startswith(("file:", "data:"))]


def test_the_report_opens_offline_and_shows_the_csvs_counts(tmp_path, browser, artifacts):
    for job, text in zip(JOBS.values(), expected_files_from_data(SAMPLE)):
        (tmp_path / job.output_name(TEAM)).write_text(text)
    assert main(["--config", str(EXAMPLE), "--log-level", "WARNING", "report", "--dir", str(tmp_path)]) == 0
    report = tmp_path / REPORT_FILE

    browser.get(report.as_uri())
    assert browser.title.startswith(f"Team {TEAM}")
    assert console_errors(browser) == []
    urls = requested_urls(browser)
    assert report.as_uri() in urls and _offline(urls) == []

    assert browser.find_element(By.ID, "team-server-count").text == "20"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#team-servers .server")) == 20
    shown = {e.get_attribute("data-kind"): int(e.text) for e in browser.find_elements(By.CSS_SELECTOR, "#team-alerts .count")}
    expected = {}
    for job in JOBS.values():
        lines = (tmp_path / job.output_name(TEAM)).read_text().splitlines()[1:]
        counted = Counter(line.rsplit(",", 1)[1] for line in lines)
        expected |= {k: counted.get(k, 0) for k in (job.labels.both, job.labels.first_only, job.labels.second_only)}
    assert shown == expected and sum(shown.values()) > 0
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) == 2 + 20 and all(browser.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)
    full_page_screenshot(browser, artifacts / "report.png")
    assert _offline(requested_urls(browser)) == []  # nothing fetched after scrolling the whole page either


def test_the_request_log_sees_a_page_that_fetches(tmp_path, browser):
    """The offline check can fail: a page asking for an image over http is caught."""
    page = tmp_path / "fetching.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    browser.get(page.as_uri())
    assert _offline(requested_urls(browser)) == ["http://127.0.0.1:9/x.png"]
