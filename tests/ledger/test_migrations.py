"""The Alembic migrations build exactly the schema the models describe, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import Base


@pytest.fixture(params=["postgresql", "sqlite"])
def ledger_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


def test_upgrade_creates_the_consultation_table(ledger_url: str) -> None:
    upgrade(ledger_url)
    engine = make_engine(ledger_url)
    try:
        tables = inspect(engine).get_table_names()
        assert "magda_consultation" in tables
        assert "alembic_version" in tables
    finally:
        engine.dispose()


def test_migrations_match_the_models(ledger_url: str) -> None:
    upgrade(ledger_url)
    engine = make_engine(ledger_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(ledger_url: str) -> None:
    upgrade(ledger_url)
    upgrade(ledger_url)
