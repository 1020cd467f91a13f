"""A hold on a scheme, in the ledger: who and why are required, history is kept, and a mutation re-evaluation
selects nobody for a held scheme (its persons wait for the scheme's next run) while the other schemes go on."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from proactief.cli import app
from proactief.ledger.models import MutationBatch, MutationSubject
from proactief.lifecycle import open_run, select_population
from proactief.lifecycle.holds import HoldError, held_schemes, hold_scheme, holds, release_scheme
from proactief_sim.population import generate
from tests.lifecycle.worlds import city_ledger

pytestmark = pytest.mark.integration

LEZ, UITPAS = "lez-vrijstelling", "uitpas-kansentarief"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ghent")
    generate(400, 5, out=out)
    return out


@pytest.fixture
def ledger(pg_url: str, folder: Path) -> Iterator[Engine]:
    with city_ledger(pg_url, folder) as engine:
        yield engine


def test_a_hold_needs_who_and_why_and_keeps_its_history(ledger: Engine) -> None:
    with pytest.raises(HoldError, match="who"):
        hold_scheme(ledger, LEZ, by=" ", reason="register down")
    with pytest.raises(HoldError, match="unknown scheme 'lez'"):
        hold_scheme(ledger, "lez", by="ops", reason="register down")
    with pytest.raises(HoldError, match="must not name a person"):
        hold_scheme(ledger, LEZ, by="ops", reason="letter of 85.07.30-033.28 was wrong")
    hold_scheme(ledger, LEZ, by="ops.jan", reason="LEZ register refuses our registrations")
    with pytest.raises(HoldError, match="already on hold"):
        hold_scheme(ledger, LEZ, by="ops.an", reason="again")
    with ledger.connect() as conn:
        assert held_schemes(conn) == {LEZ}
    release_scheme(ledger, LEZ, by="ops.an")
    with pytest.raises(HoldError, match="not on hold"):
        release_scheme(ledger, LEZ, by="ops.an")
    hold_scheme(ledger, LEZ, by="ops.piet", reason="second time")
    history = holds(ledger, scheme_id=LEZ)
    assert [(h["held_by"], h["released_by"], h["active"]) for h in history] == [
        ("ops.piet", None, True), ("ops.jan", "ops.an", False)]


def test_a_mutation_reevaluation_selects_nobody_for_a_held_scheme(ledger: Engine, folder: Path) -> None:
    import csv

    with open(folder / "residents.csv", newline="") as fh:
        changed = [row["insz"] for row in csv.DictReader(fh)][:20]
    with ledger.begin() as conn:
        batch = conn.execute(insert(MutationBatch).values(fetched_at=dt.datetime.now(dt.UTC), receipt="r-1",
                                                          persons=len(changed))).inserted_primary_key[0]
        conn.execute(insert(MutationSubject), [{"batch_id": batch, "insz": i} for i in changed])
    hold_scheme(ledger, UITPAS, by="ops.jan", reason="rule change under review")
    day = dt.date(2026, 11, 1)
    held_run = open_run(ledger, UITPAS, day, external_id="m/uitpas", mutation_batch=batch)
    held = select_population(ledger, held_run)
    assert held["selected"] == 0 and held["chunks"] == []
    free_run = open_run(ledger, "ivago-tegemoetkoming", day, external_id="m/ivago", mutation_batch=batch)
    assert select_population(ledger, free_run)["selected"] > 0
    from proactief.lifecycle import run_report

    figures = run_report(ledger, held_run)["figures"]
    assert figures["selected"] == 0 and figures["held_waiting"] > 0
    assert not any(i in json.dumps(figures) for i in changed)


def test_the_cli_holds_shows_and_releases(pg_url: str, ledger: Engine) -> None:
    runner = CliRunner()
    env = {"PROACTIEF_DB_URL": pg_url}
    out = runner.invoke(app, ["scheme", "hold", LEZ, "--by", "ops.jan", "--reason", "register down"], env=env)
    assert out.exit_code == 0 and "on hold" in out.output
    again = runner.invoke(app, ["scheme", "hold", LEZ, "--by", "ops.jan", "--reason", "x"], env=env)
    assert again.exit_code == 2 and "already on hold" in again.output
    missing = runner.invoke(app, ["scheme", "hold", LEZ, "--by", "ops.jan"], env=env)
    assert missing.exit_code == 2 and "--reason" in missing.output
    status = runner.invoke(app, ["scheme", "status"], env=env)
    assert f"{LEZ:<22} ON HOLD" in status.output and f"{UITPAS:<22} running" in status.output
    assert "by ops.jan (register down); still on hold" in status.output
    done = runner.invoke(app, ["scheme", "release", LEZ, "--by", "ops.an"], env=env)
    assert done.exit_code == 0
    assert f"{LEZ:<22} running" in runner.invoke(app, ["scheme", "status", LEZ], env=env).output
