"""`proactief bezwaar …` against a real PostgreSQL ledger: record, decide, confirm (four eyes), list; one-line
errors for a bad INSZ, an unknown scheme or channel, and a confirmer who decided; no INSZ printed back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from proactief.cli import app
from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import Bezwaar, GrantRow, ManualDecision
from tests.casework.runs import UITPAS, count, resident, run, trace
from tests.lifecycle.ledger_rows import make_insz

PERSON = make_insz(4343)
MAR = dt.date(2026, 3, 1)


@pytest.fixture
def engine(pg_url: str) -> Engine:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    resident(engine, PERSON)
    run(engine, UITPAS, MAR, {PERSON: ("not_eligible", trace(resident_ghent="false"))})
    yield engine
    engine.dispose()


def cli(pg_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--db-url", pg_url])
    return result.exit_code, result.output


def test_record_decide_confirm_and_list(engine: Engine, pg_url: str) -> None:
    code, out = cli(pg_url, "bezwaar", "record", "--insz", PERSON, "--scheme", UITPAS, "--channel", "phone",
                    "--received", dt.date.today().isoformat(), "--letter-date", "2026-01-05", "--by", "gentinfo.an")
    assert code == 0 and "bezwaar #1 recorded" in out and "deadline 2026-02-04" in out and "LATE" in out
    code, out = cli(pg_url, "bezwaar", "decide", "--insz", PERSON, "--scheme", UITPAS, "--outcome", "grant",
                    "--reason", "U woont in Gent.", "--legal-ground", "Reglement art. 3", "--bezwaar", "1",
                    "--valid-until", "2026-12-31", "--by", "dossier.an")
    assert code == 0 and "waits for a second person" in out
    code, out = cli(pg_url, "bezwaar", "list", "--open")
    assert code == 0 and "pending_confirmation" in out and "bezwaar" in out

    code, out = cli(pg_url, "bezwaar", "confirm", "1", "--by", "dossier.an")
    assert code == 2 and "four eyes" in out and len(out.strip().splitlines()) == 1
    assert count(engine, GrantRow) == 0
    code, out = cli(pg_url, "bezwaar", "confirm", "1", "--by", "dossier.bart")
    assert code == 0 and "confirmed by dossier.bart" in out
    assert count(engine, GrantRow) == 1
    code, out = cli(pg_url, "bezwaar", "list", "--open")
    assert code == 0 and out.strip() == "nothing"
    code, out = cli(pg_url, "bezwaar", "list")
    assert PERSON not in out and "in_force" in out and "decided" in out


@pytest.mark.parametrize(("args", "message"), [
    (("--insz", PERSON[:-1] + str((int(PERSON[-1]) + 1) % 10), "--scheme", UITPAS, "--channel", "phone"),
     "check digits"),
    (("--insz", PERSON, "--scheme", "no-such", "--channel", "phone"), "unknown scheme 'no-such'"),
    (("--insz", PERSON, "--scheme", UITPAS, "--channel", "fax"), "unknown channel 'fax'"),
])
def test_bad_input_gets_one_line_and_writes_nothing(engine: Engine, pg_url: str, args: tuple[str, ...],
                                                    message: str) -> None:
    code, out = cli(pg_url, "bezwaar", "record", *args, "--received", "2026-03-02", "--by", "gentinfo.an")
    assert code == 2 and message in out and len(out.strip().splitlines()) == 1 and PERSON not in out
    assert count(engine, Bezwaar) == 0


def test_a_bad_date_and_a_manual_decision_without_reason_are_refused(engine: Engine, pg_url: str) -> None:
    code, out = cli(pg_url, "bezwaar", "record", "--insz", PERSON, "--scheme", UITPAS, "--channel", "web",
                    "--received", "2 maart", "--by", "an")
    assert code == 2 and "--received must be a date" in out
    code, out = cli(pg_url, "bezwaar", "decide", "--insz", PERSON, "--scheme", UITPAS, "--outcome", "refuse",
                    "--reason", " ", "--legal-ground", "x", "--by", "an")
    assert code == 2 and "needs a reason" in out
    assert count(engine, ManualDecision) == 0
