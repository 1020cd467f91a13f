"""The Airflow stack the modules of this package share (api-server, scheduler with LocalExecutor, dag-processor,
triggerer on a fresh PostgreSQL metadata database) and its ledger.

Both are package-scoped: pytest tears them down after the last test here, so the scheduler and dag-processor do not
keep two cores busy while the rest of the suite runs (they did, as session fixtures, until the suite's end).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.harness import REPO, AirflowStack, Population, Service, SmtpSink, airflow_stack, city_ledger


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the ``e2e_after_others`` modules behind the last other test of this package, keeping every order else
    (within the package, so the stack is set up once)."""
    here = Path(__file__).parent
    last = [item for item in items if item.get_closest_marker("e2e_after_others")]
    if not last:
        return
    rest = [item for item in items if not item.get_closest_marker("e2e_after_others")]
    ours = [n for n, item in enumerate(rest) if Path(item.path).is_relative_to(here)]
    at = ours[-1] + 1 if ours else len(rest)
    items[:] = [*rest[:at], *last, *rest[at:]]


@pytest.fixture(scope="package")
def e2e_ledger(e2e_population: Population) -> Iterator[str]:
    """A fresh, migrated ledger database holding the population's city data (resident snapshot, OCMW, schools)."""
    with city_ledger(e2e_population.folder) as url:
        yield url


@pytest.fixture(scope="module")
def ledger(e2e_ledger: str) -> Iterator[Engine]:
    """An engine on the package's ledger, for a test module to read (and arrange) rows."""
    from proactief.ledger import make_engine

    engine = make_engine(e2e_ledger)
    yield engine
    engine.dispose()


@pytest.fixture(scope="package")
def airflow(tmp_path_factory: pytest.TempPathFactory, e2e_ledger: str, magda_sim: Service,
            smtp_sink: SmtpSink) -> Iterator[AirflowStack]:
    """One Airflow stack on the repository's dags/ and plugins/, wired to the ledger, the simulator and SMTP."""
    env = {
        "PROACTIEF_DB_URL": e2e_ledger,
        "PROACTIEF_MAGDA_BASE_URL": magda_sim.url,
        "PROACTIEF_ALERT_EMAIL": "operators@proactief.test",
        # one extract for the whole stack; the LEZ month backfill decides weeks after it (see the file)
        "PROACTIEF_FRESHNESS_FILE": str(Path(__file__).with_name("freshness-override.yaml")),
    }
    with airflow_stack(tmp_path_factory.mktemp("airflow_home"), extra_env=env, smtp=smtp_sink,
                       dags_folder=REPO / "dags", default_pools={"magda": 4}) as stack:
        yield stack
