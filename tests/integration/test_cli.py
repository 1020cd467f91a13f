"""The `proactief` command as an operator uses it: a consultation, the audit export, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proactief.cli import app
from proactief_sim.simulator.testing import running_simulator

pytestmark = pytest.mark.integration
runner = CliRunner()
HOUSEHOLD = "84640438954"


def test_consult_prints_findings_and_is_audited(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    assert runner.invoke(app, ["db", "upgrade", "--db-url", db]).exit_code == 0
    with running_simulator() as sim:
        result = runner.invoke(
            app,
            ["consult", "GeefSociaalStatuut", "--insz", HOUSEHOLD, "--date", "2026-11-01",
             "--magda-url", sim.base_url, "--db-url", db],
        )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["outcome"] == "ok"
    assert body["findings"]["BIM_BVT"] is True
    assert HOUSEHOLD not in result.output
    audit = runner.invoke(app, ["db", "audit", "--insz", HOUSEHOLD, "--db-url", db, "--json"])
    assert audit.exit_code == 0, audit.output
    services = [json.loads(line)["service"] for line in audit.output.splitlines()]
    assert "SocZek.GeefSociaalStatuut-03.00" in services


def test_consult_refuses_an_invalid_insz_without_echoing_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["consult", "GeefPersoon", "--insz", "84640438955", "--db-url", f"sqlite:///{tmp_path}/l"])
    assert result.exit_code == 2
    assert "check digits" in result.output
    assert "84640438955" not in result.output


def test_consult_names_the_services_it_knows(tmp_path: Path) -> None:
    result = runner.invoke(app, ["consult", "GeefIets", "--insz", HOUSEHOLD])
    assert result.exit_code == 2
    assert "GeefPersoon" in result.output


def test_population_generate_writes_the_city_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["population", "generate", "--size", "300", "--seed", "4", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("magda-population.jsonl", "residents.csv", "enrolments.csv", "ocmw.csv"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "expected" / "uitpas-kansentarief.csv").is_file()
