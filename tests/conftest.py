"""Shared fixtures: the real PostgreSQL on 127.0.0.1:5432, and where the shared MAGDA reference lives."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_MAGDA = PROJECT_ROOT.parent / "shared" / "magda"
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
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
