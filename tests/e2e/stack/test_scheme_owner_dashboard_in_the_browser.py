"""The scheme owners' dashboard in a real browser: headless Chromium (Debian's ``chromium`` + ``chromedriver``, via
Selenium) loads the plugin page inside the Airflow UI of the session stack, the figures it shows for a finished
LEZ run equal what the ledger says, a call-centre lookup through the form is audited with the user's name, and
a screenshot of the page in the UI is saved to ``docs/dashboard.png``.

After those, the call centre's work on one person of that run, all inside the Airflow UI's *Regelingen* page: a
*bezwaar* recorded through the lookup's form (kept in the ledger with the user's name and its 30-day deadline, then
listed by the lookup; ``docs/dashboard-bezwaar.png``), the citizen's access document downloaded from the lookup
(it lists the person's MAGDA consultations as the consultation log holds them, the decision in words, and the
export is itself logged; ``docs/dashboard-inzage.png``), and the dashboard scrolled to *Bereik per wijk* and
*Versheid van de bronnen* (``docs/dashboard-overzicht.png``).

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
SCREENSHOT = REPO / "docs" / "dashboard.png"
BEZWAAR_SHOT = REPO / "docs" / "dashboard-bezwaar.png"
INZAGE_SHOT = REPO / "docs" / "dashboard-inzage.png"
OVERVIEW_SHOT = REPO / "docs" / "dashboard-overzicht.png"
SHOT_LIMIT = 400_000
"""Bytes: the README's screenshots are committed, so they are kept small (256-colour PNGs)."""
LOOKUP_SERVICE = "Proactief.Dashboard.Opzoeking"
EXPORT_SERVICE = "Proactief.Burger.Inzage"
STAFF_SERVICES = (LOOKUP_SERVICE, EXPORT_SERVICE, "Proactief.API.Status")
"""Rows of the consultation log that are a member of staff looking, not a question to MAGDA."""
BEZWAAR_DAYS = 30
"""The objection period from the letter's (else the decision's) date, as issue 17 asks (casework's parameter)."""
DECISION_WORDS = {"eligible": "U hebt recht", "not_eligible": "U hebt geen recht", "undetermined": "Nog niet beslist"}


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


# ------------------------------------------------------------------ the call centre's work on one person, in the UI


@pytest.fixture(scope="module")
def objector(ledger: Engine, lez_run: int) -> tuple[int, str, str]:
    """(decision id, INSZ, decision) of a person the LEZ run decided about: the second in the lookup test's order,
    so the two tests' audit rows stay apart."""
    [(decision_id, insz, decision)] = _rows(
        ledger, "SELECT id, insz, decision FROM decision WHERE run_id = :r "
                "ORDER BY (decision = 'eligible') DESC, id LIMIT 1 OFFSET 1", r=lez_run)
    return int(decision_id), str(insz), str(decision)


def _dashboard_frame(browser: Any, airflow: AirflowStack) -> str:
    """Open *Regelingen* in the Airflow UI, switch into the plugin's iframe; the signed-in user's name."""
    _logged_in(browser, airflow)
    browser.get(f"{airflow.base_url}/plugin/proactief")
    browser.switch_to.frame(_wait(browser, 'iframe[src*="proactief/dashboard"]'))
    return str(_wait(browser, "header .muted").text.removeprefix("Aangemeld als ").strip())


def _look_up(browser: Any, insz: str) -> Any:
    """Fill the lookup form of the page shown (dashboard or lookup) and wait for the explanation."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    field = browser.find_element(By.ID, "insz")
    field.clear()
    field.send_keys(insz)
    Select(browser.find_element(By.ID, "scheme")).select_by_value(SCHEME)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "lookup-submit").click()
    _wait_stale(browser, old)
    return _wait(browser, "#explanation")


def _wait_stale(browser: Any, element: Any, timeout: float = 60) -> None:
    """Until the page holding ``element`` was replaced (a form's POST answered)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(expected_conditions.staleness_of(element))


def _screenshot(browser: Any, path: Path, *, height: int | None = None) -> None:
    """The window as a 256-colour PNG at ``path`` (small enough to commit); with ``height``, the viewport is made
    that tall for the shot and put back after."""
    import io

    from PIL import Image

    size = browser.get_window_size()
    if height is not None:
        chrome = browser.execute_script("return window.outerHeight - window.innerHeight")
        browser.set_window_size(size["width"], height + chrome)
    try:
        time.sleep(1)  # let the UI finish painting
        png = _capture(browser)
    finally:
        if height is not None:
            browser.set_window_size(size["width"], size["height"])
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    path.parent.mkdir(exist_ok=True)
    image.save(path, optimize=True)
    assert 20_000 < path.stat().st_size < SHOT_LIMIT, path.stat().st_size


def _capture(browser: Any, attempts: int = 3) -> bytes:
    """A screenshot; a renderer that is too busy to paint within chromedriver's 10 s (a tall viewport on a loaded
    two-core CI machine) is given two more tries. The screenshot is the docs' picture, not what the test checks."""
    from selenium.common.exceptions import TimeoutException

    for attempt in range(1, attempts + 1):
        try:
            return bytes(browser.get_screenshot_as_png())
        except TimeoutException:
            if attempt == attempts:
                raise
            time.sleep(5)
    raise AssertionError("unreachable")


def _api_log(airflow: AirflowStack) -> str:
    return (airflow.proc_log_dir / "api-server.log").read_text(errors="replace")


def test_a_bezwaar_recorded_through_the_lookup_is_kept_with_its_deadline_and_listed(
        airflow: AirflowStack, browser: Any, ledger: Engine, lez_run: int,
        objector: tuple[int, str, str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    decision_id, insz, decision = objector
    [(decided_on, deadline)] = _rows(  # casework's rule, independently: the sent letter's date, else the decision's
        ledger, "SELECT d.decided_at::date, (COALESCE((SELECT min(n.sent_at) FROM outbox o "
                "JOIN benefit_grant g ON g.id = o.grant_id JOIN notice n ON n.id = o.notice_id "
                "WHERE g.decision_id = d.id AND n.status = 'sent'), d.decided_at))::date + :days "
                "FROM decision d WHERE d.id = :d", d=decision_id, days=BEZWAAR_DAYS)
    bezwaren = ("SELECT id, scheme_id, decision_id, channel, received_on, deadline, late, status, note, recorded_by "
                "FROM bezwaar WHERE insz = :i AND scheme_id = :s")
    assert _rows(ledger, bezwaren, i=insz, s=SCHEME) == []
    user = _dashboard_frame(browser, airflow)
    assert user
    assert _look_up(browser, insz).find_element(By.ID, "decision").get_attribute("data-decision") == decision
    assert browser.find_elements(By.ID, "casework") == []
    # the form: channel, received date (a date input: set as the browser's date picker would), a note
    Select(browser.find_element(By.ID, "bezwaar-channel")).select_by_value("phone")
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, "bezwaar-received"),
                           decided_on.isoformat())
    note = "Telefonisch bezwaar: vraagt de vrijstelling te herbekijken"
    browser.find_element(By.ID, "bezwaar-note").send_keys(note)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "bezwaar-submit").click()
    _wait_stale(browser, old)
    confirmed = _wait(browser, "#casework-notice").text

    [row] = _rows(ledger, bezwaren, i=insz, s=SCHEME)
    assert tuple(row)[1:] == (SCHEME, decision_id, "phone", decided_on, deadline, False, "open", note, user)
    assert confirmed == f"Bezwaar #{row.id} geregistreerd; termijn tot {deadline:%d/%m/%Y}."
    # the lookup now lists it, and shows no INSZ
    _look_up(browser, insz)
    listed = _wait(browser, "#casework").text
    assert (f"Bezwaar #{row.id} ontvangen op {decided_on:%d/%m/%Y} via telefoon, termijn tot {deadline:%d/%m/%Y}: "
            f"open." in listed and f"Geregistreerd door {user}." in listed), listed
    assert insz not in browser.page_source and insz not in browser.current_url
    assert browser.execute_script("return document.getElementById('insz').value") == ""
    browser.switch_to.default_content()
    _screenshot(browser, BEZWAAR_SHOT)
    assert insz not in _api_log(airflow)


def test_the_citizen_export_downloads_from_the_lookup_lists_the_consultations_and_is_audited(
        airflow: AirflowStack, browser: Any, ledger: Engine, lez_run: int, objector: tuple[int, str, str],
        tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from proactief.citizen.sources import service_name
    from proactief.schemes import load_scheme

    _, insz, decision = objector
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    user = _dashboard_frame(browser, airflow)
    _look_up(browser, insz)
    exports = ("SELECT consulted_by, outcome FROM magda_consultation WHERE service = :s AND subject_insz = :i "
               "ORDER BY id")
    before = _rows(ledger, exports, s=EXPORT_SERVICE, i=insz)  # the runbook drill may have made one by the CLI
    browser.find_element(By.ID, "inzage-html").click()  # the answer is an attachment: the browser downloads it
    deadline = time.monotonic() + 60
    while not (files := sorted(downloads.glob("inzage-*.html"))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(files) == 1, list(downloads.iterdir())
    document = files[0].read_text(encoding="utf-8")
    assert insz not in document and f"••.••.••-{insz[6:9]}.{insz[9:]}" in document

    # the export was logged (with the user) before the document was sent
    assert _rows(ledger, exports, s=EXPORT_SERVICE, i=insz) == [*before, (user, "dashboard-html")]
    audit = _rows(ledger, "SELECT service, service = ANY(:staff) FROM magda_consultation WHERE subject_insz = :i",
                  i=insz, staff=list(STAFF_SERVICES))
    magda = [service for service, staff in audit if not staff]
    assert magda, "the LEZ run consulted MAGDA about an eligible person"
    casework = _rows(ledger, "SELECT 'bezwaar' FROM bezwaar WHERE insz = :i UNION ALL "
                             "SELECT 'manual' FROM manual_decision WHERE insz = :i", i=insz)

    browser.switch_to.default_content()
    browser.get(files[0].as_uri())  # the call centre opens what it downloaded
    shown = {s.get_attribute("id"): s for s in browser.find_elements(By.CSS_SELECTOR, "section[data-rows]")}
    assert int(shown["raadplegingen"].get_attribute("data-rows")) == len(magda)
    consultations = shown["raadplegingen"].text
    assert all(service_name(s) in consultations for s in set(magda)), consultations
    assert int(shown["medewerkers"].get_attribute("data-rows")) == len(audit) - len(magda)
    decisions = shown["beslissingen"].text
    assert load_scheme(SCHEME).title in decisions and DECISION_WORDS[decision] in decisions, decisions
    assert int(shown["bezwaren-beslissing"].get_attribute("data-rows")) == len(casework)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    _screenshot(browser, INZAGE_SHOT, height=min(int(height), 3400))
    assert insz not in _api_log(airflow)


def test_the_dashboard_shows_the_district_view_and_the_sources_freshness(
        airflow: AirflowStack, browser: Any, ledger: Engine, lez_run: int) -> None:
    from selenium.webdriver.common.by import By

    _dashboard_frame(browser, airflow)
    districts = _wait(browser, f'#scheme-{SCHEME} div.districts')
    assert districts.get_attribute("data-districts") == str(lez_run)
    assert districts.find_element(By.TAG_NAME, "h3").text == "Bereik per wijk"
    rows = districts.find_elements(By.CSS_SELECTOR, "table.districts tbody tr[data-district]")
    assert len(rows) > 1 and rows[-1].get_attribute("data-district") == "Gent"
    [(decided,)] = _rows(ledger, "SELECT count(*) FROM decision WHERE run_id = :r", r=lez_run)
    total = rows[-1].find_element(By.CSS_SELECTOR, 'td[data-figure="decided"]').text
    assert total == ("<10" if decided < 10 else f"{decided:,}".replace(",", "."))  # Dutch thousands, k-anonymity
    fresh = browser.find_element(By.ID, "freshness")
    assert fresh.find_element(By.TAG_NAME, "h2").text == "Versheid van de bronnen"
    status = {r.get_attribute("data-source"): r.get_attribute("data-status")
              for r in fresh.find_elements(By.CSS_SELECTOR, "table.freshness tbody tr[data-source]")}
    recorded = {s for (s,) in _rows(ledger, "SELECT DISTINCT source FROM source_as_of")}
    assert "residents" in recorded and recorded <= set(status), (recorded, status)
    assert all(status[s] in ("fresh", "stale") for s in recorded), status  # a recorded as-of date is judged
    # one picture from the (last) district view to the end of the freshness table: the iframe scrolled there, the
    # window made taller if the two do not fit
    top, bottom, inner = browser.execute_script(
        "const d = [...document.querySelectorAll('div.districts')].pop().getBoundingClientRect();"
        "const f = document.getElementById('freshness').getBoundingClientRect();"
        "return [d.top + window.scrollY, f.bottom + window.scrollY, window.innerHeight];")
    browser.execute_script("window.scrollTo(0, arguments[0])", max(0, int(top) - 12))
    browser.switch_to.default_content()
    outer = browser.execute_script("return window.innerHeight")
    need = int(bottom - top) + 40
    _screenshot(browser, OVERVIEW_SHOT, height=outer + need - int(inner) if need > inner else None)
