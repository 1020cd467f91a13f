"""A real run of the UiTPAS scheme DAG with ``dag.test()`` (SQLite metadata DB, the repository's dags/ and
plugins/, pools imported) against PostgreSQL and the MAGDA simulator: it grants exactly the generator's expected
entitlements, keeps personal data out of XCom, and running the same logical date again grants nothing new.

``dag.test`` runs in a subprocess so that the Airflow configuration (AIRFLOW_HOME, metadata DB) is its own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.dags.airflow_env import dag_test

pytestmark = pytest.mark.integration

SIZE = 300
SEED = 7
UITPAS = "uitpas-kansentarief"
INSZ_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")


@dataclass
class World:
    folder: Path
    base_url: str
    reference_date: dt.date
    sim: Any = None

    def expected_eligible(self) -> set[str]:
        from proactief.advice.compare import read_expected

        rows = read_expected(self.folder / f"expected/{UITPAS}.csv")
        return {i for i, r in rows.items() if r["decision"] == "eligible"}

    def population(self) -> set[str]:
        import csv

        with open(self.folder / "residents.csv", newline="") as fh:
            return {row["insz"] for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from proactief_sim.population import generate
    from proactief_sim.simulator.testing import running_simulator

    folder = tmp_path_factory.mktemp("ghent")
    generate(SIZE, SEED, out=folder)
    dates = json.loads((folder / "expected/reference-dates.json").read_text())
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=5) as sim:
        yield World(folder, sim.base_url, dt.date.fromisoformat(dates[UITPAS]), sim)


@pytest.fixture
def ledger(pg_url: str, world: World) -> Iterator[Engine]:
    from proactief.ledger import make_engine, upgrade
    from proactief.lifecycle import import_city_data

    upgrade(pg_url)
    engine = make_engine(pg_url)
    import_city_data(engine, world.folder)
    yield engine
    engine.dispose()


def _count(engine: Engine, model: type, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


@pytest.fixture
def env(airflow_home: dict[str, str], pg_url: str, ledger: Engine, world: World) -> dict[str, str]:
    """Airflow's environment plus the ledger and the simulator, as ``bin/run`` sets them."""
    return {**airflow_home, "PROACTIEF_DB_URL": pg_url, "PROACTIEF_MAGDA_BASE_URL": world.base_url,
            "PROACTIEF_MAGDA_IDENTIFICATIE": "gent.be/proactief", "PROACTIEF_MAGDA_BACKOFF_BASE": "0",
            "PROACTIEF_MAGDA_BACKOFF_CAP": "0"}


def _logical(d: dt.date) -> dt.datetime:
    """06:00 Europe/Brussels on ``d``, the scheme's own schedule (the tests use winter dates: UTC+1)."""
    return dt.datetime(d.year, d.month, d.day, 5, 0, tzinfo=dt.UTC)


def _ledger_run(engine: Engine, run_id: str) -> Any:
    from proactief.ledger.models import SchemeRun

    with engine.connect() as conn:
        return conn.execute(select(SchemeRun).where(SchemeRun.external_id == f"{UITPAS}/{run_id}")).one()


def _granted(engine: Engine) -> list[str]:
    from proactief.ledger.models import GrantRow

    with engine.connect() as conn:
        return list(conn.execute(select(GrantRow.insz).where(GrantRow.scheme_id == UITPAS)).scalars())


def test_the_uitpas_dag_grants_the_expected_entitlements_once(
        env: dict[str, str], ledger: Engine, world: World) -> None:
    from proactief.ledger.models import GrantRow, OutboxMessage

    first = dag_test(env, UITPAS, _logical(world.reference_date), {"chunk_size": 100})
    assert first["state"] == "success", (first["tasks"], first["log_file"])
    queried = [t for t in first["tasks"] if t.startswith("magda.query_chunk[")]
    assert len(queried) >= 2 and all(first["tasks"][t] == "success" for t in queried)  # mapped over chunks
    assert first["tasks"]["decision_quality.approve[-1]"] == "skipped"  # the first run has nothing to jump from

    grants = _granted(ledger)
    run = _ledger_run(ledger, first["run_id"])
    assert len(grants) == len(set(grants))
    assert set(grants) == world.expected_eligible()
    assert run.status == "finished" and run.reference_date == world.reference_date
    assert run.figures["grant"]["granted"] == len(grants)
    outbox = _count(ledger, OutboxMessage)
    assert outbox >= len(grants)

    # nothing personal in XCom: only the run id, chunk numbers and counts
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as db:
        xcom = "\n".join(str(v) for (v,) in db.execute("SELECT value FROM xcom"))
    assert xcom and not set(INSZ_LIKE.findall(xcom)) & world.population()

    # a second DAG run for the same logical date (a new Airflow run id, so a new ledger run of the same period)
    second = dag_test(env, UITPAS, _logical(world.reference_date), {"chunk_size": 100})
    assert second["state"] == "success", (second["tasks"], second["log_file"])
    assert second["run_id"] != first["run_id"]
    again = _ledger_run(ledger, second["run_id"])
    assert again.figures["grant"]["granted"] == 0 and again.figures["grant"]["already_granted"] == len(grants)
    assert _count(ledger, GrantRow) == len(grants)
    assert _count(ledger, OutboxMessage) == outbox


def test_a_dry_run_decides_but_grants_and_notifies_nothing(
        env: dict[str, str], ledger: Engine, world: World) -> None:
    from proactief.ledger.models import DecisionRow, GrantRow, OutboxMessage

    result = dag_test(env, UITPAS, _logical(world.reference_date), {"dry_run": True, "chunk_size": 200})
    assert result["state"] == "success", (result["tasks"], result["log_file"])
    run = _ledger_run(ledger, result["run_id"])
    assert run.dry_run is True and run.status == "finished"
    assert _count(ledger, DecisionRow, DecisionRow.run_id == run.id) > 0
    assert _count(ledger, GrantRow) == 0 and _count(ledger, OutboxMessage) == 0


def test_a_jump_in_the_eligible_share_stops_before_grant_until_someone_approves(
        env: dict[str, str], ledger: Engine, world: World) -> None:
    """A previous finished run with a very different eligible share makes the decisions check ask for approval:
    rejected → grant, reconciliation, notify and report are skipped and nothing is granted; the same run
    approved (re-run of its logical date) → granted. The request carries the DQ summary figures."""
    from proactief.ledger.models import SchemeRun

    d = world.reference_date
    previous = dt.date(d.year if d.month > 1 else d.year - 1, d.month - 1 if d.month > 1 else 12, 1)
    with ledger.begin() as conn:  # the previous month's run, as the ledger would hold it: almost nobody eligible
        conn.execute(SchemeRun.__table__.insert().values(
            scheme_id=UITPAS, rule_version="2025.1", period=f"{previous:%Y-%m}", reference_date=previous,
            external_id="earlier/run", dry_run=False, selection="population", chunk_size=1000, status="finished",
            started_at=dt.datetime.now(dt.UTC), finished_at=dt.datetime.now(dt.UTC),
            figures={"decisions": {"eligible": 1, "not_eligible": 5000, "undetermined": 0}}))

    rejected = dag_test(env, UITPAS, _logical(d), {"chunk_size": 200}, answer="Reject")
    tasks = rejected["tasks"]
    assert tasks["decision_quality.approve[-1]"] == "success", (tasks, rejected["log_file"])
    assert tasks["decision_quality.no_approval_needed[-1]"] == "skipped"
    for step in ("grant.grant", "reconciliation.check_reconciliation", "notify.notify", "report.finish_run"):
        assert tasks[f"{step}[-1]"] == "skipped", (step, tasks)
    assert _granted(ledger) == []
    assert rejected["hitl"]["subject"].startswith("Goedkeuring nodig")
    assert "{{" not in rejected["hitl"]["body"] and "Controle:" in rejected["hitl"]["body"]

    approved = dag_test(env, UITPAS, _logical(d), {"chunk_size": 200}, answer="Approve")
    assert approved["state"] == "success", (approved["tasks"], approved["log_file"])
    assert approved["tasks"]["grant.grant[-1]"] == "success"
    assert set(_granted(ledger)) == world.expected_eligible()


def test_the_insz_param_re_evaluates_only_those_persons(env: dict[str, str], ledger: Engine, world: World) -> None:
    eligible = sorted(world.expected_eligible())[:2]
    other = sorted(world.population() - world.expected_eligible())[:1]
    result = dag_test(env, UITPAS, _logical(world.reference_date), {"insz": ", ".join(eligible + other)})
    assert result["state"] == "success", (result["tasks"], result["log_file"])
    run = _ledger_run(ledger, result["run_id"])
    assert run.selection == "subjects"
    assert run.figures["decisions"]["eligible"] == 2 and sum(run.figures["decisions"].values()) == 3
    assert sorted(_granted(ledger)) == eligible


def test_a_magda_data_error_is_quarantined_and_mailed_while_the_run_goes_on(
        env: dict[str, str], ledger: Engine, world: World, smtp: Any) -> None:
    from tests.dags.airflow_env import message_text

    refused, fine = sorted(world.expected_eligible())[:2]
    world.sim.admin("PUT", "faults", {"insz": {refused: "20002"}})
    try:
        result = dag_test({**env, **smtp.conn_env}, UITPAS, _logical(world.reference_date),
                          {"insz": f"{refused},{fine}"})
    finally:
        world.sim.admin("PUT", "faults", {"insz": {}})
    assert result["state"] == "success", (result["tasks"], result["log_file"])
    run = _ledger_run(ledger, result["run_id"])
    assert run.figures["data_errors"] == 1 and run.figures["decisions"]["undetermined"] == 1
    assert _granted(ledger) == [fine]
    (msg,) = [m for m in smtp.messages if "Gegevensfout bij MAGDA" in str(m["Subject"])]
    assert msg["To"] == "ops@proactief.test" and UITPAS in str(msg["Subject"])
    body = message_text(msg)
    assert "<b>1</b> persoon" in body and "MAGDA_DATA_ERROR" in body
    assert refused not in body and refused not in result["log"] and fine not in result["log"]


def test_a_malformed_insz_fails_the_run_without_naming_it(env: dict[str, str], world: World) -> None:
    bad = "85073003300"  # 11 digits, wrong check number: passes the param pattern, fails the domain's check
    result = dag_test(env, UITPAS, _logical(world.reference_date), {"insz": bad})
    assert result["tasks"]["select.open_run[-1]"] == "failed"
    assert "subject #1 of 1 is not a valid INSZ" in result["log"]
    assert bad not in result["log"]
