"""The web desk in a real browser (headless Debian Chromium through Selenium) against a running monitor: log
in, see alerts arrive live, acknowledge one and watch its countdown stop, see a breach arrive, read the trail and
a report. Hostile post text must show as text and run nothing. A screenshot of each page is kept under
``var/test-artifacts/desk/``.

CI installs ``chromium`` and ``chromium-driver`` (``.ci/run``); on a machine without them this test is skipped.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from streams.api.desk.auth import hash_password
from tests.conftest import TOKEN, start_monitor, stop_monitor, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts" / "desk"
HOSTILE = '#complaint <script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> my parcel is lost'


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs chromium and chromedriver: apt-get install chromium chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1500"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def desk(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text(f"users:\n  ana: {{password_hash: '{hash_password('ana-secret-pw')}'}}\n")
    offset = tmp_path / "offset"
    offset.write_text("0")
    monitor = start_monitor(tmp_path / "worker", extra_env={
        "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false", "POT_CLOCK_OFFSET_FILE": str(offset),
        "POT_CLOCK_TICK_S": "0.2", "POT_DESK_USERS_FILE": str(users), "POT_DESK_POLL_S": "0.5",
    })
    yield monitor, offset
    stop_monitor(monitor)


def post(n: str, text: str, **extra) -> dict:
    return {"id": n, "platform": "x", "text": text, "author": {"id": f"id-{n}", "handle": f"cust_{n}", "followers": 120},
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}


def alert_id(n: str) -> str:
    from streams.core import alert_id_for

    return alert_id_for(f"x:{n}")


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_log_in_work_the_queue_and_read_a_report(browser, desk):
    from selenium.webdriver.common.by import By

    monitor, offset = desk
    driver = browser

    def fresh(read):
        """Read from the page again when a live update replaced the element in between."""
        from selenium.common.exceptions import StaleElementReferenceException

        for _ in range(20):
            try:
                return read()
            except StaleElementReferenceException:
                time.sleep(0.1)
        return read()

    def countdown(n: str) -> str:
        return fresh(lambda: driver.find_element(By.CSS_SELECTOR, f'[id="{alert_id(n)}"] .countdown').text)

    def classes(n: str, inner: str = "") -> str:
        return fresh(lambda: driver.find_element(By.CSS_SELECTOR, f'[id="{alert_id(n)}"]{inner}').get_attribute("class") or "")

    driver.get(f"{monitor.web}/desk")
    assert "/desk/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys("ana")
    driver.find_element(By.ID, "password").send_keys("ana-secret-pw")
    shot(driver, "01-login")
    driver.find_element(By.ID, "login").click()
    wait_for(lambda: driver.find_elements(By.ID, "user"), "the queue after logging in")
    assert driver.find_element(By.ID, "user").text == "ana"

    assert httpx.post(f"{monitor.web}/posts", headers={"Authorization": f"Bearer {TOKEN}"}, json=[
        post("h1", HOSTILE, brand="acme", url="javascript:window.__pwned=3", lang="en"),
        post("q1", "#question do you deliver to Cluj on Sundays?", brand="acme", url="https://x.com/cust_q1/1", lang="en"),
        post("s1", "#suggestion please add a dark mode", brand="globex", lang="en"),
    ]).status_code == 202
    ids = {alert_id(n) for n in ("h1", "q1", "s1")}
    wait_for(lambda: {e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "article.alert")} == ids,
             "the alerts to arrive without a reload")
    hostile = f'[id="{alert_id("h1")}"]'
    assert "<script>window.__pwned=1</script><img src=x" in driver.find_element(By.CSS_SELECTOR, f"{hostile} .post-text").text
    assert driver.execute_script("return typeof window.__pwned") == "undefined", "hostile post text ran"
    assert not driver.find_elements(By.CSS_SELECTOR, f"{hostile} a[href^='javascript']")
    assert "p2" in classes("h1"), "a complaint is P2, coloured as such"

    first = countdown("h1")
    time.sleep(1.5)
    assert countdown("h1") != first, "the countdown is live"
    shot(driver, "02-queue")

    fresh(lambda: driver.find_element(By.CSS_SELECTOR, f'[id="{alert_id("h1")}"] button.ack').click())
    wait_for(lambda: "msg=acknowledged" in driver.current_url, "the acknowledgement")
    assert "stopped" in classes("h1", " .countdown")
    before, other = countdown("h1"), countdown("q1")
    time.sleep(2)
    assert countdown("h1") == before, "the acknowledged alert's countdown stopped"
    assert countdown("q1") != other, "the others still count down"
    assert "acknowledged by ana" in fresh(lambda: driver.find_element(By.ID, alert_id("h1")).text)
    shot(driver, "03-acknowledged")

    offset.write_text(str(61 * 60))  # past the question's hour: its breach arrives on the open page
    wait_for(lambda: "is-breached" in classes("q1"),
             "the breach on the page", timeout=30)
    assert "overdue" in countdown("q1")
    shot(driver, "04-breach")

    fresh(lambda: driver.find_element(By.CSS_SELECTOR, f'[id="{alert_id("h1")}"] a[href="/desk/alerts/{alert_id("h1")}"]').click())
    wait_for(lambda: driver.find_elements(By.ID, "trail"), "the alert page")
    trail = driver.find_element(By.ID, "trail").text
    assert "raised" in trail and "acknowledged" in trail and "ana" in trail
    assert "<script>window.__pwned=1</script>" in driver.find_element(By.CSS_SELECTOR, ".post-text").text
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    shot(driver, "05-alert")

    driver.find_element(By.LINK_TEXT, "Reports").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=by][value=label]").click()
    driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
    # Read through the page (not a held element): the submitted form reloads it, and an element found on the old page goes stale.
    report_text = "const r = document.getElementById('report'); return r ? r.innerText : ''"
    wait_for(lambda: "100% (1/1)" in driver.execute_script(report_text), "the report by label")
    table = driver.execute_script(report_text)
    assert "complaint" in table and "question" in table and "100% (1/1)" in table
    wait_for(lambda: driver.execute_script("const i = document.querySelector('img.plot'); return i && i.complete && i.naturalWidth > 0"),
             "the trend plot")
    shot(driver, "06-reports")
