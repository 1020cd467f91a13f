"""Per-scheme authorization with the production stack's auth manager: Airflow's FAB auth manager (the one
``docker-compose.yaml`` configures), DAG-level permissions, two scheme owners.

A real api-server (no scheduler, no DAG run: the dashboard and the JSON API ask the auth manager about the scheme's
DAG, which needs no parsed DAG) on a fresh PostgreSQL metadata database, prepared as ``airflow-init`` prepares it:
``airflow db migrate``, ``airflow fab-db migrate``, the scheme roles (``python -m proactief_airflow.fab_roles sync``).
One owner is made as the init job makes its users (``fab_roles user``, password from the environment), the other as
the runbook tells the operator (``airflow users create --role "Regeling <id>"``). Each logs in through FAB's login
form in headless Chromium and opens *Regelingen* in the Airflow UI: each sees their own scheme and not the other's.
Through the JSON API, with a token from ``POST /auth/token``, each reads only their own scheme and may record a
bezwaar for it, and gets 403 for the other's.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import Engine, text

from tests.e2e.harness import REPO, AirflowStack, create_database, drop_database, venv_bin

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

OWNERS = {  # user → (their scheme, the other's)
    "eigenaar-uitpas": ("uitpas-kansentarief", "lez-vrijstelling"),
    "eigenaar-lez": ("lez-vrijstelling", "uitpas-kansentarief"),
}
PASSWORDS = {"eigenaar-uitpas": "Uitpas-eigenaar-7f3e", "eigenaar-lez": "Lez-eigenaar-91c2"}
TEST_INSZ = "85673003360"  # a MAGDA test number (month + 60), as in the API's documentation


def _production_auth_manager() -> str:
    env = yaml.safe_load((REPO / "docker-compose.yaml").read_text())["x-airflow-common"]["environment"]
    manager = str(env["AIRFLOW__CORE__AUTH_MANAGER"])
    assert manager.endswith(".FabAuthManager"), manager
    return manager


@pytest.fixture(scope="module")
def ledger_url() -> Iterator[str]:
    from proactief.ledger import upgrade

    url = create_database("proactief_fab")
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def ledger(ledger_url: str) -> Iterator[Engine]:
    from proactief.ledger import make_engine

    engine = make_engine(ledger_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def fab(tmp_path_factory: pytest.TempPathFactory, ledger_url: str) -> Iterator[AirflowStack]:
    """The api-server with FAB, its roles and the two owners (made before it starts, as in compose)."""
    metadata = create_database("airflow_fab")
    stack = AirflowStack(tmp_path_factory.mktemp("airflow_fab_home"), metadata_url=metadata, services=("api-server",),
                         extra_env={"AIRFLOW__CORE__AUTH_MANAGER": _production_auth_manager(),
                                    "PROACTIEF_DB_URL": ledger_url})
    stack.env.pop("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS")  # the simple manager's; nothing here
    try:
        stack.migrate(pools_file=None)
        stack.cli("fab-db", "migrate")

        def fab_roles(*args: str, env: dict[str, str] | None = None) -> str:
            done = subprocess.run([venv_bin("python"), "-m", "proactief_airflow.fab_roles", *args],
                                  cwd=REPO / "plugins", env={**stack.env, **(env or {})}, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
            return done.stdout

        synced = fab_roles("sync")
        for scheme, _ in OWNERS.values():
            assert f"role 'Regeling {scheme}'" in synced, synced
        fab_roles("user", "eigenaar-uitpas", "Regeling uitpas-kansentarief", "--password-env", "OWNER_PASSWORD",
                  env={"OWNER_PASSWORD": PASSWORDS["eigenaar-uitpas"]})
        stack.cli("users", "create", "--username", "eigenaar-lez", "--role", "Regeling lez-vrijstelling",
                  "--firstname", "Lez", "--lastname", "Eigenaar", "--email", "lez@proactief.invalid",
                  "--password", PASSWORDS["eigenaar-lez"])
        stack.start()
        yield stack
    finally:
        stack.stop()
        drop_database(metadata)


def _wait(browser: Any, css: str, timeout: float = 90) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def _log_in(browser: Any, fab: AirflowStack, username: str) -> None:
    """FAB's login form, as a person uses it; the answer sets the UI's ``_token`` cookie."""
    from selenium.webdriver.common.by import By

    browser.get(f"{fab.base_url}/api/v2/monitor/health")
    browser.delete_all_cookies()  # the previous owner's session
    browser.get(f"{fab.base_url}/auth/login/")
    _wait(browser, "input#username").send_keys(username)
    browser.find_element(By.CSS_SELECTOR, "input#password").send_keys(PASSWORDS[username])
    browser.find_element(By.CSS_SELECTOR, "form[name=login] input[type=submit]").click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if browser.get_cookie("_token"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{username} was not logged in: {browser.current_url}\n{browser.page_source[:2000]}")


def _schemes_on_the_dashboard(browser: Any, fab: AirflowStack) -> set[str]:
    """The schemes *Regelingen* shows inside the Airflow UI (its iframe), and the lookup form offers."""
    from selenium.webdriver.common.by import By

    browser.get(f"{fab.base_url}/plugin/proactief")
    browser.switch_to.frame(_wait(browser, 'iframe[src*="proactief/dashboard"]'))
    try:
        _wait(browser, "header .muted")
        shown = {e.get_attribute("data-scheme") for e in browser.find_elements(By.CSS_SELECTOR, "[data-scheme]")}
        offered = {e.get_attribute("value") for e in browser.find_elements(By.CSS_SELECTOR, "select#scheme option")}
        user = browser.find_element(By.CSS_SELECTOR, "header .muted").text
    finally:
        browser.switch_to.default_content()
    return {*shown, *(o for o in offered if o), f"user:{user.removeprefix('Aangemeld als ').strip()}"}


@pytest.mark.parametrize("username", sorted(OWNERS))
def test_each_owner_sees_only_their_scheme_in_the_browser(fab: AirflowStack, browser: Any, username: str) -> None:
    own, other = OWNERS[username]
    _log_in(browser, fab, username)
    seen = _schemes_on_the_dashboard(browser, fab)
    assert f"user:{username}" in seen
    assert own in seen and other not in seen, seen
    assert seen - {f"user:{username}"} == {own}, seen


def _token(fab: AirflowStack, username: str, password: str) -> str:
    resp = requests.post(f"{fab.base_url}/auth/token", json={"username": username, "password": password}, timeout=60)
    assert resp.status_code == 201, (resp.status_code, resp.text)
    return str(resp.json()["access_token"])


@pytest.mark.parametrize("username", sorted(OWNERS))
def test_the_json_api_refuses_the_other_scheme(fab: AirflowStack, ledger: Engine, username: str) -> None:
    own, other = OWNERS[username]
    api = f"{fab.base_url}/proactief/api/v1"
    headers = {"Authorization": f"Bearer {_token(fab, username, PASSWORDS[username])}"}

    status = requests.post(f"{api}/persons/status", json={"insz": TEST_INSZ}, headers=headers, timeout=60)
    assert status.status_code == 200, status.text
    assert [s["scheme_id"] for s in status.json()["schemes"]] == [own]

    bezwaar = {"insz": TEST_INSZ, "channel": "phone", "received_on": dt.date.today().isoformat()}
    refused = requests.post(f"{api}/persons/bezwaar", json={**bezwaar, "scheme": other}, headers=headers, timeout=60)
    assert refused.status_code == 403, refused.text
    recorded = requests.post(f"{api}/persons/bezwaar", json={**bezwaar, "scheme": own}, headers=headers, timeout=60)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["recorded_by"] == username
    opt_out = requests.post(f"{api}/persons/opt-out", json={"insz": TEST_INSZ, "channel": "phone"}, headers=headers,
                            timeout=60)
    assert opt_out.status_code == 403, opt_out.text  # an opt-out stops every scheme: edit on all of them
    with ledger.connect() as conn:
        rows = conn.execute(text("SELECT scheme_id FROM bezwaar WHERE recorded_by = :u"), {"u": username}).all()
    assert [r.scheme_id for r in rows] == [own]


def test_a_wrong_password_gets_no_token(fab: AirflowStack) -> None:
    resp = requests.post(f"{fab.base_url}/auth/token",
                         json={"username": "eigenaar-lez", "password": PASSWORDS["eigenaar-uitpas"]}, timeout=60)
    assert resp.status_code == 401, (resp.status_code, resp.text)
    assert "_token" not in resp.cookies


def test_the_api_server_log_has_no_insz(fab: AirflowStack) -> None:
    log = Path(fab.proc_log_dir / "api-server.log").read_text(errors="replace")
    assert TEST_INSZ not in log
