"""The scheme owners' dashboard in a real browser: headless Chromium (Debian's ``chromium`` + ``chromedriver``, via
Selenium) loads the plugin page inside the Airflow UI of the session stack, the figures it shows for a finished
LEZ run equal what the ledger says, a call-centre lookup through the form is audited with the user's name, and
a screenshot of the page in the UI is saved to ``docs/dashboard.png``.

The run: one ``lez-vrijstelling`` run of the population's LEZ reference date (no other e2e test uses that DAG).
The module's name sorts it after the UiTPAS lifecycle test, so the screenshot also shows that scheme's periods
(the full run and the three-month backfill) in its take-up plot.

The session stack runs ``simple_auth_manager_all_admins``: its middleware gives every request an admin Bearer
token, so here an anonymous request is let in by Airflow itself (the 401 for a request without a token is
tested with Airflow's auth manager in ``tests/dashboard/test_dashboard_app.py``); what this test shows is that a
request with a bad token is refused by the plugin in the real api-server.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import Engine, text

from tests.e2e.harness import REPO, AirflowStack, Population

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCHEME = "lez-vrijstelling"
RUN_TIMEOUT = 420.0
TZ = ZoneInfo("Europe/Brussels")
BAD_INSZ = "00000000000"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = REPO / "docs" / "dashboard.png"
LOOKUP_SERVICE = "Proactief.Dashboard.Opzoeking"


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


@pytest.fixture(scope="module")
def lez_run(airflow: AirflowStack, ledger: Engine, e2e_population: Population) -> Iterator[int]:
    """One finished LEZ run (its ledger run id)."""
    airflow.wait_for_dags([SCHEME], timeout=180)
    day = dt.date.fromisoformat(e2e_population.reference_date(SCHEME))
    run_id = airflow.trigger(SCHEME, dt.datetime(day.year, day.month, day.day, 6, tzinfo=TZ))
    airflow.unpause(SCHEME, absorb_due_run_conf={"insz": BAD_INSZ})  # the due tick's run fails at once
    state = airflow.wait_for_run(SCHEME, run_id, RUN_TIMEOUT)
    assert state == "success", (state, airflow.task_states(SCHEME, run_id))
    airflow.pause(SCHEME)
    [(ledger_run,)] = _rows(ledger, "SELECT id FROM scheme_run WHERE external_id = :e", e=f"{SCHEME}/{run_id}")
    yield int(ledger_run)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium through chromedriver, both from Debian (Selenium Manager downloads nothing when both
    paths are given)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed (bin/setup installs the Debian packages chromium and "
                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1700",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def _logged_in(browser: Any, airflow: AirflowStack) -> None:
    """A token from the api-server (all-admins: ``GET /auth/token``) as the UI's ``_token`` cookie."""
    resp = requests.get(f"{airflow.base_url}/auth/token", timeout=30)
    assert resp.status_code == 201, resp.text
    browser.get(f"{airflow.base_url}/api/v2/monitor/health")  # the cookie's origin must be open first
    browser.add_cookie({"name": "_token", "value": resp.json()["access_token"], "path": "/"})


def _wait(browser: Any, css: str, timeout: float = 90) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR,
                                                                                                 css)))


def _ledger_figures(ledger: Engine, run: int) -> dict[str, int]:
    """The run's numbers straight from the ledger tables, independently of ``proactief.dashboard``."""
    [(selected, opted_out)] = _rows(ledger, "SELECT (figures->>'selected')::int, (figures->>'opted_out')::int "
                                            "FROM scheme_run WHERE id = :r", r=run)
    counts = dict(_rows(ledger, "SELECT decision, count(*) FROM decision WHERE run_id = :r GROUP BY decision", r=run))
    [(granted,)] = _rows(ledger, "SELECT count(*) FROM benefit_grant WHERE run_id = :r AND status <> 'cancelled'",
                         r=run)
    [(notified,)] = _rows(ledger, "SELECT count(DISTINCT g.id) FROM outbox o JOIN benefit_grant g ON g.id = "
                                  "o.grant_id WHERE g.run_id = :r AND o.kind = 'notify' AND o.status = 'sent'", r=run)
    return {"selected": selected, "eligible": counts.get("eligible", 0), "granted": granted, "notified": notified,
            "undetermined": counts.get("undetermined", 0), "opted_out": opted_out}


def _shown_figures(browser: Any, run: int) -> dict[str, int]:
    from selenium.webdriver.common.by import By

    row = _wait(browser, f'#scheme-{SCHEME} table.runs tr[data-run="{run}"]')
    out = {}
    for figure in ("selected", "eligible", "granted", "notified", "undetermined", "opted_out"):
        cell = row.find_element(By.CSS_SELECTOR, f'td[data-figure="{figure}"]').text
        out[figure] = int(cell.split()[0].replace(".", ""))
    return out


def test_the_plugin_is_loaded_by_the_api_server(airflow: AirflowStack) -> None:
    plugins = {p["name"]: p for p in airflow.api("GET", "/plugins")["plugins"]}
    plugin = plugins["proactief_dashboard"]
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/proactief"]
    assert [(v["name"], v["url_route"]) for v in plugin["external_views"]] == [("Regelingen", "proactief")]
    assert airflow.api("GET", "/importErrors")["total_entries"] == 0


def test_a_bad_token_is_refused_by_the_plugin(airflow: AirflowStack) -> None:
    resp = requests.get(f"{airflow.base_url}/proactief/dashboard", headers={"Authorization": "Bearer not-a-jwt"},
                        timeout=30)
    assert resp.status_code in (401, 403), resp.status_code


def test_the_dashboard_in_the_airflow_ui_shows_the_ledger_figures(
        airflow: AirflowStack, browser: Any, ledger: Engine, lez_run: int, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    expected = _ledger_figures(ledger, lez_run)
    assert expected["selected"] > 0 and expected["eligible"] > 0 and expected["granted"] > 0
    _logged_in(browser, airflow)
    browser.get(f"{airflow.base_url}/plugin/proactief")
    frame = _wait(browser, 'iframe[src*="proactief/dashboard"]')
    browser.switch_to.frame(frame)
    assert _shown_figures(browser, lez_run) == expected
    tile = browser.find_element(By.CSS_SELECTOR, f'#scheme-{SCHEME} .last-run')
    assert tile.get_attribute("data-run") == str(lez_run)
    plots = browser.find_elements(By.CSS_SELECTOR, f'#scheme-{SCHEME} .plots img')
    assert len(plots) == 2 and all(browser.execute_script("return arguments[0].naturalWidth", p) > 0 for p in plots)
    browser.switch_to.default_content()
    time.sleep(1)  # let the UI's navigation finish painting
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(tmp_path / "dashboard.png"))
    shutil.copyfile(tmp_path / "dashboard.png", SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 20_000
    log = (airflow.proc_log_dir / "api-server.log").read_text(errors="replace")
    assert "could not read the pending approvals" not in log


def test_a_call_centre_lookup_in_the_browser_is_audited(
        airflow: AirflowStack, browser: Any, ledger: Engine, lez_run: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    [(insz, decision)] = _rows(ledger, "SELECT insz, decision FROM decision WHERE run_id = :r "
                                       "ORDER BY (decision = 'eligible') DESC, id LIMIT 1", r=lez_run)
    _logged_in(browser, airflow)
    browser.get(f"{airflow.base_url}/proactief/dashboard")
    user = _wait(browser, "header .muted").text.removeprefix("Aangemeld als ").strip()
    assert user
    browser.find_element(By.ID, "insz").send_keys(insz)
    Select(browser.find_element(By.ID, "scheme")).select_by_value(SCHEME)
    browser.find_element(By.ID, "lookup-submit").click()
    shown = _wait(browser, "#explanation #decision")
    assert shown.get_attribute("data-decision") == decision
    assert insz not in browser.current_url and insz not in browser.page_source
    audited = _rows(ledger, "SELECT consulted_by, purpose, outcome FROM magda_consultation "
                            "WHERE service = :s AND subject_insz = :i", s=LOOKUP_SERVICE, i=insz)
    assert audited == [(user, "callcenter", "found")]
    log = (airflow.proc_log_dir / "api-server.log").read_text(errors="replace")
    assert insz not in log
    # a malformed number: a clear error, nothing audited
    browser.find_element(By.ID, "insz").send_keys(insz[:-1] + str((int(insz[-1]) + 1) % 10))
    browser.find_element(By.ID, "lookup-submit").click()
    assert "Dit is geen geldig INSZ" in _wait(browser, "#lookup-error").text
    assert len(_rows(ledger, "SELECT 1 FROM magda_consultation WHERE service = :s", s=LOOKUP_SERVICE)) == 1
