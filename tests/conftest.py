"""Shared fixtures: the real PostgreSQL on 127.0.0.1:5432, and where the shared MAGDA reference lives; and how the
suite is cut into units of work for ``pytest -n 2`` (what ``bin/test`` runs)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_MAGDA = PROJECT_ROOT.parent / "shared" / "magda"
TESTS = Path(__file__).resolve().parent
LONGEST_FIRST = ("year", "e2e/stack", "e2e/test_run_command.py", "e2e/test_celery_executor.py", "dags",
                 "simulator", "e2e/test_fab_two_scheme_owners.py")
"""Units handed out first under xdist, longest first (measured with ``--durations``): a long unit started last
would leave the other core idle at the end."""
PG_ADMIN_URL = os.environ.get("PROACTIEF_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def shared_magda() -> Path:
    if not SHARED_MAGDA.is_dir():
        pytest.fail(f"the shared MAGDA reference data is missing: {SHARED_MAGDA}")
    return SHARED_MAGDA


def _admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import text

    name = f"proactief_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def ledger(pg_url: str) -> Iterator[Any]:
    """An engine on a fresh PostgreSQL ledger migrated to the latest revision (for the tests that arrange rows)."""
    from proactief.ledger import make_engine, upgrade

    upgrade(pg_url)
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def freshness_allowing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``allow(residents=45, ocmw=60)``: override the declared allowed ages (``PROACTIEF_FRESHNESS_FILE``), for a
    test that decides later periods on its one synthetic extract (as of the generator's date). The stale-source
    alarm itself is tested in ``tests/freshness``."""

    def allow(**max_age_days: int) -> None:
        path = tmp_path / "freshness-override.yaml"
        path.write_text("sources:\n" + "".join(f"  {source}:\n    max_age_days: {days}\n"
                                                 for source, days in max_age_days.items()), encoding="utf-8")
        monkeypatch.setenv("PROACTIEF_FRESHNESS_FILE", str(path))

    return allow


@pytest.fixture(scope="module")
def auth() -> Any:
    """Airflow's own auth manager (the simple one ``tests/dags/airflow_env.py`` configures), for the tests of the
    plugin's apps; tokens: ``tests/dashboard/airflow_auth.py``."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.models.revoked_token import RevokedToken

    from airflow import settings
    from tests.dags import airflow_env  # noqa: F401 (sets the Airflow environment before Airflow is imported)

    # Token checks look up revoked tokens in the metadata DB: this process's (unmigrated) SQLite needs the table.
    RevokedToken.__table__.create(settings.engine, checkfirst=True)
    manager = create_auth_manager()
    manager.init()
    return manager


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"



def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its folder under ``tests/`` (so a folder's session fixtures, e.g. the
    simulator's population, are built on one worker only), except in ``e2e/``, where each module is one and the
    modules sharing the Airflow stack (``e2e/stack``) are one together."""
    parts = Path(nodeid.split("::", 1)[0]).parts
    if parts and parts[0] == "tests":
        parts = parts[1:]
    if not parts:
        return nodeid
    return "/".join(parts[:2]) if parts[0] == "e2e" else parts[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under xdist each unit (:func:`unit_of`) goes to one worker and runs there in order, so module, package and
    folder fixtures are built once; units are handed out in collection order (``--no-loadscope-reorder``)."""
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return UnitScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker the longest units come first (every worker sorts alike, so their collections agree);
    without xdist the order stays pytest's."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {unit: n for n, unit in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(unit_of(item.nodeid), len(rank)))
