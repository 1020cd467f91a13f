"""Operator commands validate their input before they touch the ledger, never create or migrate it (only
``proactief db upgrade`` does), and say in one line what is wrong when the ledger is missing, unreachable or not
migrated — no traceback, no password."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from proactief.cli import app
from tests.lifecycle.ledger_rows import make_insz

pytestmark = pytest.mark.integration
runner = CliRunner()
PERSON = make_insz(4243)
BAD = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")


def tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [
    ["optout", "add", "--insz", BAD, "--channel", "web", "--recorded-by", "agent-7"],
    ["optout", "withdraw", "--insz", BAD, "--channel", "web", "--recorded-by", "agent-7"],
    ["optout", "status", "--insz", BAD],
    ["advise", "--scheme", "uitpas-kansentarief", "--insz", BAD],
    ["advise", "--scheme", "geen-regeling", "--insz", PERSON],
    ["consult", "GeefPersoon", "--insz", BAD],
    ["db", "audit", "--insz", BAD],
])
def test_a_rejected_input_leaves_the_database_untouched(pg_url: str, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--db-url", pg_url])
    assert result.exit_code == 2, result.output
    assert BAD not in result.output and "Traceback" not in result.output
    assert tables(pg_url) == []  # no alembic_version, no ledger tables


@pytest.mark.parametrize("command", [["optout", "status", "--insz", PERSON], ["outbox", "failed"],
                                     ["scheme", "status"], ["db", "audit", "--insz", PERSON]])
def test_a_database_without_the_schema_is_not_migrated_but_named(pg_url: str, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--db-url", pg_url])
    assert result.exit_code == 2
    assert "has no schema: run `proactief db upgrade`" in result.output and len(result.output.splitlines()) == 1
    assert tables(pg_url) == []
    assert runner.invoke(app, ["db", "upgrade", "--db-url", pg_url]).exit_code == 0
    assert runner.invoke(app, [*command, "--db-url", pg_url]).exit_code == 0


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    url = "postgresql+psycopg2://postgres:Geheim-Wachtwoord@127.0.0.1:9/ledger"
    result = runner.invoke(app, ["optout", "status", "--insz", PERSON, "--db-url", url])
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot reach the ledger at postgresql+psycopg2://postgres:***@127.0.0.1:9")
    assert "Geheim-Wachtwoord" not in result.output and "Traceback" not in result.output
    assert len(result.output.splitlines()) == 1
    upgrade = runner.invoke(app, ["db", "upgrade", "--db-url", url])
    assert upgrade.exit_code == 2 and "cannot migrate the ledger" in upgrade.output
    assert "Geheim-Wachtwoord" not in upgrade.output and len(upgrade.output.splitlines()) == 1


def test_a_missing_sqlite_ledger_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    result = runner.invoke(app, ["scheme", "status", "--db-url", f"sqlite:///{path}"])
    assert result.exit_code == 2 and "no ledger at" in result.output and "proactief db upgrade" in result.output
    assert not path.exists()
