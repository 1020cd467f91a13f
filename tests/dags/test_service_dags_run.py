"""The service DAGs run for real with ``dag.test()`` on a migrated ledger: the opt-out intake applies the inbox's
files and moves them away (an unreadable file fails the run and lands in ``failed/``; rejected lines are listed
next to the processed file and page the operators too), retention runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.dags.airflow_env import Sink, dag_test, message_text

pytestmark = pytest.mark.integration


def valid_insz(first9: str) -> str:
    """An INSZ with a correct check number (born before 2000)."""
    return first9 + f"{97 - int(first9) % 97:02d}"


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """MAGDA for the repertorium unsubscription of new objections."""
    with running_simulator(seed=5) as running:
        yield running


def test_opt_out_intake_applies_each_file_once_and_moves_it(
        airflow_home: dict[str, str], pg_url: str, ledger: Engine, tmp_path: Path, smtp: Sink,
        sim: RunningSimulator) -> None:
    from sqlalchemy import select

    from proactief.ledger.models import MagdaConsultation
    from proactief.lifecycle import is_opted_out

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    person = valid_insz("850730033")
    (inbox / "2026-11-28-web.csv").write_text(f"insz,action,channel,at\n{person},object,web,2026-11-28T10:00\n"
                                              "123,object,web,2026-11-28\n")
    (inbox / "garbage.csv").write_text("name,when\nx,y\n")
    env = {**airflow_home, **smtp.conn_env, "PROACTIEF_DB_URL": pg_url, "PROACTIEF_OPTOUT_INBOX": str(inbox),
           "PROACTIEF_MAGDA_BASE_URL": sim.base_url, "PROACTIEF_MAGDA_IDENTIFICATIE": "gent.be/proactief",
           "PROACTIEF_MAGDA_BACKOFF_BASE": "0", "PROACTIEF_MAGDA_BACKOFF_CAP": "0"}

    result = dag_test(env, "opt_out_intake", dt.datetime(2026, 11, 28, 10, 15, tzinfo=dt.UTC), {})
    assert result["tasks"]["apply_intake_files[-1]"] == "failed"  # the unreadable file pages the operators
    assert is_opted_out(ledger, person)
    assert (inbox / "processed" / "2026-11-28-web.csv").exists() and (inbox / "failed" / "garbage.csv").exists()
    assert sorted(p.name for p in inbox.glob("*.csv")) == []
    assert person not in result["log"]  # neither the valid nor the rejected line's INSZ is logged
    # the failure e-mailed the operators (AirflowFailException: no retry, one message)
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "ops@proactief.test"
    subject, body = str(smtp.messages[-1]["Subject"]), message_text(smtp.messages[-1])
    assert "opt_out_intake" in subject and "apply_intake_files" in subject and result["run_id"] in subject
    assert "1 intake file(s) could not be read, moved to failed/: garbage.csv" in body
    # the valid line was applied; the rejected one is named by number and reason, never by content
    assert "1 line(s) rejected (not recorded) in 2026-11-28-web.csv" in body
    rejected = (inbox / "processed" / "2026-11-28-web.csv.rejected.txt").read_text()
    assert rejected.startswith("line 3: column insz:") and "123" not in rejected.replace("line 3", "")
    assert person not in body

    again = dag_test(env, "opt_out_intake", dt.datetime(2026, 11, 28, 10, 30, tzinfo=dt.UTC), {})
    assert again["state"] == "success", again["tasks"]
    # The new objection was unsubscribed from the repertorium by the first intake, and only then (audited).
    with ledger.connect() as conn:
        asked = conn.execute(select(MagdaConsultation.service, MagdaConsultation.purpose)
                             .where(MagdaConsultation.subject_insz == person)).all()
    assert [tuple(a) for a in asked] == [("Repertorium.RegistreerUitschrijving-02.01", "opt-out")]


def test_retention_runs_on_the_ledger(airflow_home: dict[str, str], pg_url: str, ledger: Engine) -> None:
    env = {**airflow_home, "PROACTIEF_DB_URL": pg_url}
    result = dag_test(env, "retention", dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC), {})
    assert result["state"] == "success", (result["tasks"], result["log_file"])


def test_population_sync_registers_residents_and_mutations_become_an_asset_event(
        airflow_home: dict[str, str], pg_url: str, ledger: Engine, tmp_path: Path) -> None:
    """population_sync imports the city data, checks it and registers everyone at the (simulated) repertorium;
    MAGDA then reports two changed persons and magda_mutations publishes one asset event naming the batch."""
    import csv
    import json
    import sqlite3

    from sqlalchemy import func, select

    from proactief.ledger.models import Resident, SchemeRun
    from proactief.schemes import scheme_ids
    from proactief_sim.population import generate
    from proactief_sim.simulator.testing import running_simulator

    folder = tmp_path / "city"
    generate(80, 3, out=folder, as_of=dt.date(2026, 11, 28))  # the extract of the sync's day: fresh for the runs
    with open(folder / "residents.csv", newline="") as fh:
        residents = [row["insz"] for row in csv.DictReader(fh)]
    with running_simulator(population=str(folder / "magda-population.jsonl"), seed=5) as sim:
        env = {**airflow_home, "PROACTIEF_DB_URL": pg_url, "PROACTIEF_CITY_DATA_DIR": str(folder),
               "PROACTIEF_MAGDA_BASE_URL": sim.base_url, "PROACTIEF_MAGDA_IDENTIFICATIE": "gent.be/proactief",
               "PROACTIEF_MAGDA_BACKOFF_BASE": "0", "PROACTIEF_MAGDA_BACKOFF_CAP": "0"}
        synced = dag_test(env, "population_sync", dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC), {})
        assert synced["state"] == "success", (synced["tasks"], synced["log_file"])
        with ledger.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Resident)).scalar_one() == len(residents)

        assert sim.admin("POST", "mutations", {"insz": residents[:2]})
        before = last_mutation_event(airflow_home)
        fetched = dag_test(env, "magda_mutations", dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC), {})
        assert fetched["state"] == "success", (fetched["tasks"], fetched["log_file"])
        assert fetched["tasks"]["fetch_mutations[-1]"] == "success"

        with sqlite3.connect(Path(airflow_home["AIRFLOW_HOME"]) / "airflow.db") as db:
            events = db.execute("SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                                "WHERE a.name = 'proactief-person-mutations' AND e.id > ?", (before,)).fetchall()
        (extra,) = [json.loads(e) for (e,) in events]
        assert isinstance(extra["batch_id"], int) and extra["persons"] == 2

        # the asset-triggered re-evaluation: one ledger run per scheme, limited to the batch
        redo = dag_test(env, "reevaluate_mutations", dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC), {},
                        consume_asset="proactief-person-mutations", consume_after=before)
        assert redo["state"] == "success", (redo["tasks"], redo["log_file"])
    with ledger.connect() as conn:
        runs = conn.execute(select(SchemeRun.scheme_id, SchemeRun.selection, SchemeRun.status, SchemeRun.figures)
                            .where(SchemeRun.external_id.like(f"reevaluate_mutations/{redo['run_id']}/%"))).all()
    assert sorted(r.scheme_id for r in runs) == sorted(scheme_ids())
    assert all(r.selection == "mutations" and r.figures.get("mutation_batch") == extra["batch_id"] for r in runs)
    assert all(r.status == "finished" for r in runs)
    uitpas = next(r for r in runs if r.scheme_id == "uitpas-kansentarief")  # covers every resident
    assert sum(uitpas.figures["decisions"].values()) == 2


def last_mutation_event(airflow_home: dict[str, str]) -> int:
    """The newest person-mutations asset event id so far (the session's tests share one metadata DB)."""
    import sqlite3

    with sqlite3.connect(Path(airflow_home["AIRFLOW_HOME"]) / "airflow.db") as db:
        row = db.execute("SELECT max(e.id) FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                         "WHERE a.name = 'proactief-person-mutations'").fetchone()
    return int(row[0] or 0)


def test_merged_mutation_events_are_all_reevaluated_and_their_batches_done(
        airflow_home: dict[str, str], pg_url: str, ledger: Engine, tmp_path: Path) -> None:
    """Two Mondays' batches queued before ``reevaluate_mutations`` ran: Airflow merges their events into one run,
    which re-evaluates the persons of both (not only the newest) and marks both batches done."""
    import csv

    from sqlalchemy import select

    from proactief.ledger.models import MutationBatch, SchemeRun
    from proactief.lifecycle import import_city_data
    from proactief_sim.population import generate
    from proactief_sim.simulator.testing import running_simulator

    folder = tmp_path / "city"
    generate(80, 4, out=folder)
    with open(folder / "residents.csv", newline="") as fh:
        residents = [row["insz"] for row in csv.DictReader(fh)]
    import_city_data(ledger, folder, as_of=dt.date(2026, 12, 14))  # the day's extract: fresh for the re-evaluation
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=5) as sim:
        env = {**airflow_home, "PROACTIEF_DB_URL": pg_url, "PROACTIEF_MAGDA_BASE_URL": sim.base_url,
               "PROACTIEF_MAGDA_IDENTIFICATIE": "gent.be/proactief", "PROACTIEF_MAGDA_BACKOFF_BASE": "0",
               "PROACTIEF_MAGDA_BACKOFF_CAP": "0"}
        sim.admin("POST", "repertorium", {"afnemer": "gent.be/proactief", "insz": residents[:5]})
        before = last_mutation_event(airflow_home)
        for monday, people in ((dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC), residents[:3]),
                               (dt.datetime(2026, 12, 14, 3, 0, tzinfo=dt.UTC), residents[3:5])):
            assert sim.admin("POST", "mutations", {"insz": people})
            fetched = dag_test(env, "magda_mutations", monday, {})
            assert fetched["tasks"]["fetch_mutations[-1]"] == "success", (fetched["tasks"], fetched["log_file"])

        redo = dag_test(env, "reevaluate_mutations", dt.datetime(2026, 12, 14, 4, 0, tzinfo=dt.UTC), {},
                        consume_asset="proactief-person-mutations", consume_after=before)
        assert redo["state"] == "success", (redo["tasks"], redo["log_file"])
    with ledger.connect() as conn:
        batches = conn.execute(select(MutationBatch.id, MutationBatch.persons).order_by(MutationBatch.id)).all()
        runs = conn.execute(select(SchemeRun.scheme_id, SchemeRun.status, SchemeRun.figures)
                            .where(SchemeRun.external_id.like(f"reevaluate_mutations/{redo['run_id']}/%"))).all()
    assert [b.persons for b in batches] == [3, 2]
    uitpas = next(r for r in runs if r.scheme_id == "uitpas-kansentarief")  # covers every resident
    assert sum(uitpas.figures["decisions"].values()) == 5, "the persons of both merged batches were decided"
    assert all(r.status == "finished" and r.figures["mutation_batches"] == [b.id for b in batches] for r in runs)
    with ledger.connect() as conn:
        done = conn.execute(select(MutationBatch.done_at)).scalars().all()
    assert len(done) == 2 and all(done), "done once every scheme decided them"
    assert not any(p in redo["log"] for p in residents[:5])
