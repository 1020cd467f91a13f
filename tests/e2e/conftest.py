"""Session fixtures for end-to-end runs: a generated population in a fresh ledger, the MAGDA simulator serving it,
a local SMTP server and one real Airflow stack (api-server, scheduler with LocalExecutor, dag-processor,
triggerer) on a fresh PostgreSQL metadata database, all shared by the e2e tests and torn down at the end.

Select with ``pytest -m e2e``; leave out with ``-m "not e2e"``. Size with ``PROACTIEF_E2E_SIZE`` (default 4000:
the grant step must span more than one commit batch of 500 for the SIGKILL test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.harness import (
    REPO,
    AirflowStack,
    Population,
    Service,
    SmtpSink,
    airflow_stack,
    city_ledger,
    free_port,
    venv_bin,
)

E2E_SIZE = int(os.environ.get("PROACTIEF_E2E_SIZE", "4000"))
E2E_SEED = int(os.environ.get("PROACTIEF_E2E_SEED", "11"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: real Airflow runs (scheduler, LocalExecutor, api-server) — minutes")
    config.addinivalue_line("markers", "e2e_after_others: the module runs after the other e2e modules (its state, "
                                       "e.g. five-year LEZ exemptions, would change what their first runs grant)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the ``e2e_after_others`` modules behind the last other test of this folder, keeping every order else."""
    here = Path(__file__).parent
    last = [item for item in items if item.get_closest_marker("e2e_after_others")]
    if not last:
        return
    rest = [item for item in items if not item.get_closest_marker("e2e_after_others")]
    ours = [n for n, item in enumerate(rest) if Path(item.path).is_relative_to(here)]
    at = ours[-1] + 1 if ours else len(rest)
    items[:] = [*rest[:at], *last, *rest[at:]]


@pytest.fixture(scope="session")
def e2e_population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    from proactief.population import generate

    folder = tmp_path_factory.mktemp("population")
    generate(E2E_SIZE, E2E_SEED, out=folder)
    return Population(folder, E2E_SIZE, E2E_SEED)


@pytest.fixture(scope="session")
def e2e_ledger(e2e_population: Population) -> Iterator[str]:
    """A fresh, migrated ledger database holding the population's city data (resident snapshot, OCMW, schools)."""
    with city_ledger(e2e_population.folder) as url:
        yield url


@pytest.fixture(scope="module")
def ledger(e2e_ledger: str) -> Iterator[Engine]:
    """An engine on the session's ledger, for a test module to read (and arrange) rows."""
    from proactief.ledger import make_engine

    engine = make_engine(e2e_ledger)
    yield engine
    engine.dispose()


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


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory, e2e_ledger: str, magda_sim: Service,
            smtp_sink: SmtpSink) -> Iterator[AirflowStack]:
    """One Airflow stack on the repository's dags/ and plugins/, wired to the ledger, the simulator and SMTP."""
    env = {
        "PROACTIEF_DB_URL": e2e_ledger,
        "PROACTIEF_MAGDA_BASE_URL": magda_sim.url,
        "PROACTIEF_ALERT_EMAIL": "operators@proactief.test",
    }
    with airflow_stack(tmp_path_factory.mktemp("airflow_home"), extra_env=env, smtp=smtp_sink,
                       dags_folder=REPO / "dags", default_pools={"magda": 4}) as stack:
        yield stack
