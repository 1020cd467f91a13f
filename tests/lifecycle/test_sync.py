"""Population sync on PostgreSQL and the MAGDA simulator: the import is all-or-nothing and yields the same city
data as the files, tracks who joined and left, and the repertorium follows exactly who lives here."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from proactief.advice.city import CityFiles
from proactief.citydata import PopulationFileError, iter_residents
from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import Enrolment, OcmwPeriod, Resident
from proactief.lifecycle.citydata import load_city_data
from proactief.lifecycle.optout import record_objection, withdraw_objection
from proactief.lifecycle.sync import import_city_data, sync_repertorium
from proactief.magda.config import MagdaConfig
from proactief_sim.population import generate
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.lifecycle.ledger_rows import count

pytestmark = pytest.mark.integration

AFNEMER = "gent.be/proactief"


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ghent300")
    generate(300, 11, out=folder)
    return folder


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=3) as running:
        yield running


@pytest.fixture
def magda(sim: RunningSimulator) -> MagdaConfig:
    sim.admin("POST", "reset")
    return MagdaConfig(base_url=sim.base_url, identificatie=AFNEMER, backoff_base=0.0, backoff_cap=0.0,
                       max_attempts=2)


def residents_lines(folder: Path) -> tuple[str, list[str]]:
    header, *rows = (folder / "residents.csv").read_text(encoding="utf-8").splitlines()
    return header, rows


def copy_with_residents(src: Path, dst: Path, rows: list[str], *, ocmw: bool = True,
                        enrolments: bool = True) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    header, _ = residents_lines(src)
    (dst / "residents.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    for name, wanted in (("ocmw.csv", ocmw), ("enrolments.csv", enrolments)):
        if wanted:
            shutil.copy(src / name, dst / name)
    return dst


def registered(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Resident.insz).where(Resident.repertorium_registered.is_(True))).scalars())


def test_the_imported_city_data_equal_what_the_files_say(ledger: Engine, population: Path) -> None:
    result = import_city_data(ledger, population)
    files = CityFiles.load(population)
    assert result["residents"] == len(files.residents) == result["joined"] and result["left"] == 0
    assert result["ocmw"] == count(ledger, OcmwPeriod) > 0 and result["enrolments"] == count(ledger, Enrolment) > 0
    assert len(result["snapshot"]) == 16
    city = load_city_data(ledger)
    assert city.residents == sorted(files.residents)
    assert city.reference_persons == files.reference_persons
    assert city.household_id == files.household_id
    assert {h: sorted(m) for h, m in city.members.items()} == {h: sorted(m) for h, m in files.members.items()}
    assert city.ocmw == files.ocmw
    assert {y: set(c) for y, c in city.enrolments.items()} == {y: set(c) for y, c in files.enrolments.items()}
    assert city.ocmw_available and city.enrolments_available


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_the_import_copies_with_either_postgresql_driver(pg_url: str, population: Path, driver: str) -> None:
    """SQLAlchemy 2.1 gives a plain ``postgresql://`` URL to psycopg 3; the ledger may name psycopg2."""
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)
    upgrade(url)
    engine = make_engine(url)
    try:
        result = import_city_data(engine, population)
        assert result["residents"] == count(engine, Resident) == len(CityFiles.load(population).residents)
    finally:
        engine.dispose()


def test_a_new_extract_reports_who_joined_and_left_and_keeps_the_registration_flag(
        ledger: Engine, population: Path, tmp_path: Path) -> None:
    import_city_data(ledger, population)
    with ledger.begin() as conn:
        conn.execute(update(Resident).values(repertorium_registered=True))
    _, rows = residents_lines(population)
    gone = rows[10:15]
    smaller = copy_with_residents(population, tmp_path / "week2", rows[:10] + rows[15:])

    second = import_city_data(ledger, smaller)
    assert (second["joined"], second["left"], second["residents"]) == (0, 5, len(rows) - 5)
    gone_insz = {r.split(",")[0] for r in gone}  # insz is the first column the generator writes
    city = load_city_data(ledger)
    assert not gone_insz & set(city.residents) and len(city.residents) == len(rows) - 5
    with ledger.connect() as conn:
        marked = set(conn.execute(select(Resident.insz).where(Resident.left_at.is_not(None))).scalars())
    assert marked == gone_insz  # kept until the repertorium sync has deregistered them
    assert len(registered(ledger)) == len(rows)

    third = import_city_data(ledger, population)  # they came back before the sync ran
    assert (third["joined"], third["left"]) == (5, 0)
    assert count(ledger, Resident, Resident.left_at.is_not(None)) == 0
    assert len(registered(ledger)) == len(rows)


def test_a_bad_row_in_any_file_fails_the_import_and_changes_nothing(ledger: Engine, population: Path,
                                                                   tmp_path: Path) -> None:
    first = import_city_data(ledger, population)
    _, rows = residents_lines(population)
    broken = copy_with_residents(population, tmp_path / "broken", rows[:-3])
    with open(broken / "ocmw.csv", "a", encoding="utf-8") as fh:
        fh.write(f"{rows[0].split(',')[0]},budgetbeheer,2026-13-01,\n")
    lines = len((broken / "ocmw.csv").read_text(encoding="utf-8").splitlines())
    with pytest.raises(PopulationFileError) as err:
        import_city_data(ledger, broken)
    assert err.value.line == lines and "ocmw.csv" in str(err.value)
    with ledger.connect() as conn:
        snapshots = set(conn.execute(select(Resident.snapshot)).scalars())
    assert snapshots == {first["snapshot"]}
    assert count(ledger, Resident, Resident.left_at.is_(None)) == first["residents"]
    assert count(ledger, OcmwPeriod) == first["ocmw"]


def test_a_missing_ocmw_or_enrolment_file_keeps_the_previous_data_and_says_so(ledger: Engine, population: Path,
                                                                              tmp_path: Path) -> None:
    _, rows = residents_lines(population)
    bare = copy_with_residents(population, tmp_path / "bare", rows, ocmw=False, enrolments=False)
    fresh = import_city_data(ledger, bare)
    assert fresh["ocmw"] is None and fresh["enrolments"] is None
    city = load_city_data(ledger)
    assert not city.ocmw_available and not city.enrolments_available  # never delivered: unknown, not "no"

    full = import_city_data(ledger, population)
    later = import_city_data(ledger, bare)
    assert later["ocmw"] is None and count(ledger, OcmwPeriod) == full["ocmw"]
    assert count(ledger, Enrolment) == full["enrolments"]
    assert load_city_data(ledger).ocmw_available


def test_a_missing_register_extract_is_an_error_naming_the_path(ledger: Engine, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="residents.csv"):
        import_city_data(ledger, tmp_path)


def test_the_same_import_works_on_the_sqlite_ledger(sqlite_url: str, population: Path, tmp_path: Path) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        _, rows = residents_lines(population)
        first = import_city_data(engine, copy_with_residents(population, tmp_path / "a", rows[3:]))
        second = import_city_data(engine, population)
        assert (first["joined"], second["joined"], second["left"]) == (len(rows) - 3, 3, 0)
        third = import_city_data(engine, copy_with_residents(population, tmp_path / "b", rows[:-2]))
        assert third["left"] == 2
        assert load_city_data(engine).residents == sorted(CityFiles.load(tmp_path / "b").residents)
    finally:
        engine.dispose()


def _districts(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {insz: d for insz, d in conn.execute(select(Resident.insz, Resident.district))}


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_import_fills_each_resident_s_district_and_an_older_extract_leaves_it_unknown(
        request: pytest.FixtureRequest, dialect: str, population: Path, tmp_path: Path) -> None:
    url = request.getfixturevalue("pg_url" if dialect == "postgresql" else "sqlite_url")
    upgrade(url)
    engine = make_engine(url)
    try:
        import_city_data(engine, population)
        wanted = {row.insz: row.district for row in iter_residents(population / "residents.csv")}
        assert _districts(engine) == wanted and all(wanted.values())
        older = tmp_path / "older"
        copy_with_residents(population, older, [])
        with open(population / "residents.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert all(r["wijk"] == wanted[r["insz"]] for r in rows)
        # an extract of before issue 18: no wijk (and, older still than issue 17, no name columns)
        columns = [c for c in rows[0] if c not in ("wijk", "first_name", "last_name")]
        with open(older / "residents.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([r[c] for c in columns] for r in rows)
        import_city_data(engine, older)
        assert set(_districts(engine).values()) == {None}
    finally:
        engine.dispose()


def test_the_repertorium_follows_who_lives_here(ledger: Engine, population: Path, magda: MagdaConfig,
                                                sim: RunningSimulator, tmp_path: Path) -> None:
    first = import_city_data(ledger, population)
    n = first["residents"]
    result = sync_repertorium(ledger, magda, batch_size=100)
    assert (result["registered"], result["failed"], result["deregistered"]) == (n, 0, 0)
    assert sim.admin("GET", "state")["repertorium"]["afnemers"][AFNEMER] == n
    assert sync_repertorium(ledger, magda)["registered"] == 0  # nothing left to do

    _, rows = residents_lines(population)
    import_city_data(ledger, copy_with_residents(population, tmp_path / "moved", rows[5:]))
    after = sync_repertorium(ledger, magda)
    assert (after["deregistered"], after["removed"], after["registered"]) == (5, 5, 0)
    assert sim.admin("GET", "state")["repertorium"]["afnemers"][AFNEMER] == n - 5
    assert count(ledger, Resident) == n - 5  # deleted once MAGDA no longer follows them

    # an objection: MAGDA stops following the person; after a withdrawal the next sync registers them again
    person = sorted(registered(ledger))[0]
    record_objection(ledger, person, channel="web")
    objected = sync_repertorium(ledger, magda)
    assert objected["deregistered"] == 1 and person not in registered(ledger)
    assert sync_repertorium(ledger, magda)["skipped_opted_out"] == 1
    withdraw_objection(ledger, person, channel="web")
    assert sync_repertorium(ledger, magda)["registered"] == 1 and person in registered(ledger)
    assert sim.admin("GET", "state")["repertorium"]["afnemers"][AFNEMER] == n - 5


def test_a_magda_outage_leaves_persons_unregistered_for_the_next_sync(ledger: Engine, population: Path,
                                                                      magda: MagdaConfig,
                                                                      sim: RunningSimulator) -> None:
    n = import_city_data(ledger, population)["residents"]
    sim.admin("PUT", "faults", {"rates": {"99996": 1.0}})
    try:
        down = sync_repertorium(ledger, magda, batch_size=100)
    finally:
        sim.admin("PUT", "faults", {"rates": {}})
    assert (down["registered"], down["failed"]) == (0, n)
    assert registered(ledger) == set()
    assert sync_repertorium(ledger, magda, batch_size=100)["registered"] == n
