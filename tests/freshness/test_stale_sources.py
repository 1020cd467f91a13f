"""The stale-source alarm (issue 18.1): a source older than allowed for a run's reference date D, or an extract
re-delivered byte for byte, fails the run's population gate naming the source and how old it is; a fresh one passes;
a backfill of a past D on a newer extract passes; the MAGDA answers a run used are dated; the dashboard shows the
freshness table. Real PostgreSQL, real files, a real MAGDA simulator."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from proactief.freshness import declared, judge
from proactief.ledger.models import SchemeRun, SourceAsOf
from proactief.lifecycle import check, import_city_data, open_run, run_in_process, select_population
from proactief_sim.population import generate

pytestmark = pytest.mark.integration

UITPAS = "uitpas-kansentarief"
LEZ = "lez-vrijstelling"
AS_OF = dt.date(2026, 11, 1)  # the generator's default as-of: UiTPAS's D is the 1st of that month
SIZE = 120


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ghent")
    generate(SIZE, 11, out=folder, as_of=AS_OF)
    return folder


@pytest.fixture
def city(generated: Path, tmp_path: Path) -> Path:
    """A copy of the generated delivery the test may change (drop a file, change a line, remove the manifest)."""
    folder = tmp_path / "delivery"
    folder.mkdir()
    for name in ("residents.csv", "ocmw.csv", "enrolments.csv", "manifest.json"):
        shutil.copy2(generated / name, folder / name)
    return folder


def gate(engine: Engine, scheme_id: str, logical: dt.date, ext: str) -> tuple[bool, str, dict[str, object]]:
    run_id = open_run(engine, scheme_id, logical, external_id=ext)
    select_population(engine, run_id)
    result = check(engine, run_id, "population")
    with engine.connect() as conn:
        figures = conn.execute(select(SchemeRun.figures).where(SchemeRun.id == run_id)).scalar_one()
    return result.success, result.summary(), figures


def test_an_extract_older_than_allowed_for_d_fails_the_gate_naming_the_source_and_its_age(
        ledger: Engine, city: Path) -> None:
    import_city_data(ledger, city, as_of=AS_OF - dt.timedelta(days=20))
    ok, summary, figures = gate(ledger, UITPAS, AS_OF, "t/old")
    assert not ok
    assert "stale source: resident extract is as of 2026-10-12 (20 days before 2026-11-01); allowed 8 days" in summary
    assert "ocmw_age_days 20" in summary and "stale source: OCMW file" not in summary  # fine for a monthly file
    assert figures["dq_population"] == "failed"
    assert figures["stale_sources"] == [
        "resident extract is as of 2026-10-12 (20 days before 2026-11-01); allowed 8 days: STALE"]
    # the summary is what the DAG's AirflowFailException carries and the operators' e-mail quotes (its first
    # 500 characters): the stale source comes first, and no national number is in it
    assert summary.index("stale source") < 120
    assert not any(line.split(",", 1)[0] in summary for line in (city / "residents.csv").read_text().splitlines()[1:])


def test_a_fresh_extract_passes_and_a_backfill_of_an_earlier_d_on_a_newer_extract_passes(
        ledger: Engine, city: Path) -> None:
    imported = import_city_data(ledger, city)  # the manifest's as_of
    assert imported["as_of"] == dict.fromkeys(("residents.csv", "ocmw.csv", "enrolments.csv"), "2026-11-01")
    ok, summary, figures = gate(ledger, UITPAS, AS_OF, "t/fresh")
    assert ok, summary
    assert figures["stale_sources"] == []
    backfill_ok, summary, _ = gate(ledger, UITPAS, dt.date(2026, 8, 1), "t/backfill")  # 92 days before the extract
    assert backfill_ok, summary
    later_ok, summary, _ = gate(ledger, UITPAS, dt.date(2026, 12, 1), "t/later")  # a month after it: stale
    assert not later_ok and "resident extract is as of 2026-11-01 (30 days before 2026-12-01)" in summary


def test_an_extract_re_delivered_byte_for_byte_is_dated_by_its_first_delivery(ledger: Engine, city: Path) -> None:
    import_city_data(ledger, city, as_of=dt.date(2026, 10, 20))
    import_city_data(ledger, city, as_of=AS_OF)  # same bytes, a newer date: the city's export is stuck
    ok, summary, _ = gate(ledger, UITPAS, AS_OF, "t/same")
    assert not ok
    assert ("resident extract as of 2026-11-01 is byte-identical to the extract as of 2026-10-20 (unchanged 12 days "
            "before 2026-11-01); allowed 8 days: STALE") in summary
    # a changed extract (one person left) is fresh again
    lines = (city / "residents.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (city / "residents.csv").write_text("".join(lines[:-1]), encoding="utf-8")
    import_city_data(ledger, city, as_of=AS_OF)
    ok, summary, _ = gate(ledger, UITPAS, AS_OF, "t/changed")
    assert ok, summary


def test_an_ocmw_file_not_delivered_for_months_stops_the_schemes_that_use_it_only(ledger: Engine, city: Path) -> None:
    import_city_data(ledger, city, as_of=dt.date(2026, 9, 1))
    (city / "ocmw.csv").unlink()  # not delivered since: the old data stay, and age
    lines = (city / "residents.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (city / "residents.csv").write_text("".join(lines[:-1]), encoding="utf-8")  # a new extract: one person left
    import_city_data(ledger, city, as_of=AS_OF)
    ok, summary, _ = gate(ledger, UITPAS, AS_OF, "t/ocmw")
    assert not ok
    assert "stale source: OCMW file is as of 2026-09-01 (61 days before 2026-11-01); allowed 35 days" in summary
    assert "stale source: resident extract" not in summary
    lez_ok, summary, _ = gate(ledger, LEZ, AS_OF, "t/lez")  # LEZ uses no OCMW data
    assert lez_ok, summary


def test_without_a_manifest_the_files_modification_date_is_the_as_of(ledger: Engine, city: Path) -> None:
    (city / "manifest.json").unlink()
    old = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC).timestamp()
    for name in ("residents.csv", "ocmw.csv", "enrolments.csv"):
        os.utime(city / name, (old, old))
    assert import_city_data(ledger, city)["as_of"]["residents.csv"] == "2026-10-01"
    with ledger.connect() as conn:
        origins = set(conn.execute(select(SourceAsOf.as_of_from)).scalars())
    assert origins == {"mtime"}
    ok, summary, _ = gate(ledger, LEZ, AS_OF, "t/mtime")
    assert not ok and "resident extract is as of 2026-10-01 (31 days before 2026-11-01)" in summary


def test_a_manifest_with_a_wrong_date_is_refused_and_imports_nothing(ledger: Engine, city: Path) -> None:
    (city / "manifest.json").write_text(json.dumps({"as_of": "1 november"}), encoding="utf-8")
    with pytest.raises(ValueError, match="'as_of' must be an ISO date"):
        import_city_data(ledger, city)
    with ledger.connect() as conn:
        assert conn.execute(select(SourceAsOf.id)).first() is None


def test_a_ledger_without_any_recorded_import_is_unknown_not_stale(ledger: Engine, city: Path) -> None:
    import_city_data(ledger, city)
    with ledger.begin() as conn:  # as a ledger imported before migration 0012
        conn.execute(SourceAsOf.__table__.delete())
    ok, summary, _ = gate(ledger, UITPAS, dt.date(2026, 12, 1), "t/unknown")
    assert ok, summary


def test_school_enrolments_must_be_of_ds_school_year() -> None:
    enrolments = declared()["enrolments"]
    d = dt.date(2026, 9, 1)
    assert judge(enrolments, dt.date(2026, 6, 30), d).stale  # last school year's file
    assert not judge(enrolments, dt.date(2026, 8, 15), d).stale  # delivered in August for the coming year
    assert not judge(enrolments, dt.date(2026, 8, 15), dt.date(2027, 6, 30)).stale  # the same school year
    assert judge(enrolments, dt.date(2026, 8, 15), dt.date(2027, 9, 1)).stale


def test_every_city_fact_has_a_declared_source() -> None:
    from proactief.schemes.factdefs import FACT_SPECS

    city_facts = {name for name, spec in FACT_SPECS.items() if spec.source_kind == "city"}
    covered = {fact for s in declared().values() for fact in s.facts}
    assert city_facts <= covered and covered <= set(FACT_SPECS)


@pytest.fixture
def world(generated: Path) -> Iterator[str]:
    from proactief_sim.simulator.testing import running_simulator

    with running_simulator(population=str(generated / "magda-population.jsonl"), repertorium_check=False,
                           seed=5) as sim:
        yield sim.base_url


def test_a_run_records_the_date_of_its_magda_answers_and_the_dashboard_shows_every_source(
        ledger: Engine, city: Path, world: str) -> None:
    from proactief.dashboard.render import dashboard_page
    from proactief.magda.config import MagdaConfig

    import_city_data(ledger, city)
    magda = MagdaConfig(base_url=world, identificatie="gent.be/proactief", backoff_base=0.0, backoff_cap=0.0)
    report = run_in_process(ledger, UITPAS, AS_OF, magda, external_id="t/answers")
    today = dt.datetime.now(dt.UTC).date()
    with ledger.connect() as conn:
        answered = conn.execute(select(SourceAsOf.source, SourceAsOf.as_of, SourceAsOf.as_of_from).where(
            SourceAsOf.run_id == report["run_id"])).all()
    assert [(r.source, r.as_of, r.as_of_from) for r in answered] == [("ksz_statutes", today, "answers")]

    page = dashboard_page(ledger, [UITPAS], user="eigenaar", plots=False)
    assert 'id="freshness"' in page
    for source in declared():
        assert f'data-source="{source}"' in page, source
    residents = page.split('data-source="residents"', 1)[1].split("</tr>", 1)[0]
    age = (today - AS_OF).days
    assert "01/11/2026" in residents and f"{age} d" in residents and "8 dagen" in residents
    assert "Uittreksel bevolkingsregister" in residents  # the scheme owner's page is Dutch; "resident extract" is
    assert "resident extract" not in page and " days" not in page  # the operators' word (gate, log, e-mail)
    assert ("verouderd" if age > 8 else "vers") in residents
    ksz = page.split('data-source="ksz_statutes"', 1)[1].split("</tr>", 1)[0]
    assert today.strftime("%d/%m/%Y") in ksz and "vers" in ksz
    mutations = page.split('data-source="magda_mutations"', 1)[1].split("</tr>", 1)[0]
    assert "onbekend" in mutations  # no mutation batch read yet
