"""Session fixtures for end-to-end runs: a generated population, the MAGDA simulator serving it and a local SMTP
server, shared by the e2e tests and torn down at the end; headless Chromium per module for the browser tests.
The Airflow stack most of them share, with its ledger, is ``stack/conftest.py``'s: it lives only while the
modules of ``stack/`` run.

Select with ``pytest -m e2e``; leave out with ``-m "not e2e"``. Size with ``PROACTIEF_E2E_SIZE`` (default 4000:
the grant step must span more than one commit batch of 500 for the SIGKILL test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Population, Service, SmtpSink, free_port, venv_bin

E2E_SIZE = int(os.environ.get("PROACTIEF_E2E_SIZE", "4000"))
E2E_SEED = int(os.environ.get("PROACTIEF_E2E_SEED", "11"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: real Airflow runs (scheduler, LocalExecutor, api-server) — minutes")
    config.addinivalue_line("markers", "e2e_after_others: the module runs after the other e2e modules (its state, "
                                       "e.g. five-year LEZ exemptions, would change what their first runs grant)")


@pytest.fixture(scope="session")
def e2e_population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    from proactief_sim.population import generate

    folder = tmp_path_factory.mktemp("population")
    generate(E2E_SIZE, E2E_SEED, out=folder)
    return Population(folder, E2E_SIZE, E2E_SEED)


@pytest.fixture(scope="session")
def magda_sim(e2e_population: Population, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The MAGDA simulator serving the population, as a subprocess on a fixed port (``stop()``/``start()`` to
    take it away and bring it back at the same URL)."""
    port = free_port()
    sim = Service("magda-sim", [venv_bin("proactief"), "magda-sim", "--host", "127.0.0.1", "--port", str(port),
                                "--population", str(e2e_population.store)], tmp_path_factory.mktemp("sim"),
                  port=port)
    sim.start()
    try:
        sim.wait_for_port(timeout=120)
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium through chromedriver, both from Debian (Selenium Manager downloads nothing when both
    paths are given); one per module (the dashboard's browser tests)."""
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
