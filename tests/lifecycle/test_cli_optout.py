"""`proactief optout …` against a real ledger (PostgreSQL) and the simulator: what a contact-centre agent or an
operator types, and that no INSZ is ever printed back."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from proactief.cli import app
from proactief.ledger import make_engine
from proactief.ledger.models import Resident
from proactief.lifecycle.optout import is_opted_out
from proactief_sim.population import generate
from proactief_sim.simulator.testing import running_simulator
from tests.lifecycle.ledger_rows import count, make_insz

pytestmark = pytest.mark.integration

PERSON = make_insz(4242)


@pytest.fixture(autouse=True)
def migrated(pg_url: str) -> None:
    """Operators create the ledger with `proactief db upgrade`; the other commands never migrate it."""
    assert run("db", "upgrade", "--db-url", pg_url)[0] == 0


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_add_status_withdraw_status(pg_url: str) -> None:
    code, out = run("optout", "status", "--insz", PERSON, "--db-url", pg_url)
    assert code == 0 and "opted out: no (never objected)" in out

    code, out = run("optout", "add", "--insz", PERSON, "--channel", "contact-centre", "--note", "per telefoon",
                    "--recorded-by", "agent-7", "--db-url", pg_url)
    assert code == 0 and "objection recorded" in out
    code, out = run("optout", "status", "--insz", PERSON, "--db-url", pg_url)
    assert code == 0 and "opted out: yes, since" in out and "(channel contact-centre)" in out
    assert "object   contact-centre  by agent-7" in out

    code, out = run("optout", "withdraw", "--insz", PERSON, "--channel", "web", "--db-url", pg_url)
    assert code == 0 and "objection withdrawn" in out
    code, out = run("optout", "status", "--insz", PERSON, "--db-url", pg_url)
    lines = out.splitlines()
    assert lines[0] == "opted out: no (objection withdrawn)"
    assert [line.split()[1] for line in lines[1:]] == ["object", "withdraw"]

    engine = make_engine(pg_url)
    try:
        assert not is_opted_out(engine, PERSON)
    finally:
        engine.dispose()


def test_the_database_url_can_come_from_the_environment(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROACTIEF_DB_URL", pg_url)
    assert run("optout", "add", "--insz", PERSON, "--channel", "web")[0] == 0
    assert "opted out: yes" in run("optout", "status", "--insz", PERSON)[1]


def test_a_wrong_insz_or_channel_is_refused_without_echoing_the_number(pg_url: str) -> None:
    wrong = PERSON[:-1] + str((int(PERSON[-1]) + 1) % 10)
    code, out = run("optout", "add", "--insz", wrong, "--channel", "web", "--db-url", pg_url)
    assert code == 2 and "check digits" in out and wrong not in out
    code, out = run("optout", "add", "--insz", PERSON, "--channel", "", "--db-url", pg_url)
    assert code == 2 and "channel" in out


def test_sync_imports_the_population_and_registers_it(pg_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "ghent"
    generate(60, 5, out=folder)
    with running_simulator(seed=2) as sim:
        code, out = run("optout", "sync", "--from", str(folder), "--magda-url", sim.base_url, "--db-url", pg_url)
        assert code == 0, out
        state = sim.admin("GET", "state")["repertorium"]
    engine = make_engine(pg_url)
    try:
        residents = count(engine, Resident)
        assert residents > 0 and state["persons"] == residents
        assert count(engine, Resident, Resident.repertorium_registered.is_(True)) == residents
    finally:
        engine.dispose()
    assert f'"residents": {residents}' in out and f'"registered": {residents}' in out
    code, out = run("optout", "sync", "--from", str(tmp_path / "nowhere"), "--db-url", pg_url)
    assert code == 2 and "residents.csv was not delivered" in out


def test_add_with_magda_unsubscribes_the_objector_from_the_repertorium_at_once(pg_url: str) -> None:
    from sqlalchemy import select

    from proactief.ledger.models import MagdaConsultation

    person = make_insz(4343)
    with running_simulator(seed=5) as sim:
        sim.admin("POST", "repertorium", {"afnemer": "gent.be/proactief", "insz": [person]})
        code, out = run("optout", "add", "--insz", person, "--channel", "letter", "--recorded-by", "agent-7",
                        "--db-url", pg_url, "--magda-url", sim.base_url)
        assert code == 0 and "MAGDA repertorium: 1 objection(s) unsubscribed" in out, out
        assert person not in out
        state = sim.admin("GET", "state")["repertorium"]
    assert state["persons"] == 0
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            services = list(conn.execute(select(MagdaConsultation.service)
                                         .where(MagdaConsultation.subject_insz == person)).scalars())
    finally:
        engine.dispose()
    assert services == ["Repertorium.RegistreerUitschrijving-02.01"]
