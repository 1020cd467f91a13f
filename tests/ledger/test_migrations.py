"""The Alembic migrations build exactly the schema the models describe, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from proactief.ledger import make_engine, upgrade
from proactief.ledger.db import alembic_config
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
    """A second upgrade (every container start runs one) changes nothing: same head revision, same tables, and
    rows written in between are kept."""
    upgrade(ledger_url)
    engine = make_engine(ledger_url)
    try:
        head = ScriptDirectory.from_config(alembic_config(ledger_url)).get_current_head()
        with engine.begin() as conn:
            before = conn.execute(text("SELECT count(*) FROM scheme_hold")).scalar_one()
            conn.execute(text("INSERT INTO scheme_hold (scheme_id, reason, held_by, held_at) "
                              "VALUES ('uitpas-kansentarief', 'test', 'tester', CURRENT_TIMESTAMP)"))
        tables = sorted(inspect(engine).get_table_names())
        upgrade(ledger_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            assert conn.execute(text("SELECT count(*) FROM scheme_hold")).scalar_one() == before + 1
        assert sorted(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()


def test_a_migrated_ledger_has_the_resident_district_column(ledger_url: str) -> None:
    upgrade(ledger_url)
    engine = make_engine(ledger_url)
    try:
        columns = {c["name"]: c for c in inspect(engine).get_columns("resident")}
        assert "district" in columns and columns["district"]["nullable"] is True
    finally:
        engine.dispose()
