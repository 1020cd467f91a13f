"""Failed outbox rows wait for a person; once the cause is fixed, ``proactief outbox requeue`` makes them due again
and the next dispatch delivers them, once. Listing them shows ids, channel and error, never an INSZ."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from proactief.cli import app
from proactief.ledger.models import GrantRow, Notice, OutboxMessage, Resident
from proactief.lifecycle.outbox import dispatch_notices, failed_rows, requeue_failed
from proactief.notify.channels import LetterChannel
from proactief.notify.render import render
from tests.lifecycle.ledger_rows import add_grant, add_outbox, make_insz

pytestmark = pytest.mark.integration


def _delivered_uitpas_grant(engine: Engine, insz: str) -> int:
    grant_id = add_grant(engine, insz, key=f"uitpas-kansentarief|{insz[-4:]}|2027-01")
    with engine.begin() as conn:
        conn.execute(update(GrantRow).where(GrantRow.id == grant_id).values(
            status="delivered", valid_from=dt.date(2027, 1, 1), valid_until=dt.date(2027, 12, 31),
            terms={"percentages": {"korting": "80"}, "sources": ["Rijksregister – GeefPersoon"]}))
        conn.execute(insert(Resident).values(
            insz=insz, household_id="H1", reference_person=True, position="01", address_kind="main",
            postcode="9000", nis_code="44021", since=dt.date(2001, 1, 1), email=None, address_line=None,
            snapshot="test"))
    return grant_id


def test_a_letter_that_failed_for_want_of_an_address_goes_out_once_after_the_fix_and_a_requeue(
        ledger: Engine, tmp_path: Path) -> None:
    person = make_insz(11)
    grant_id = _delivered_uitpas_grant(ledger, person)
    add_outbox(ledger, grant_id, kind="notify", channel="letter")
    letters = LetterChannel(tmp_path / "letters")

    assert dispatch_notices(ledger, {"letter": letters}, render)["letter"] == {"failed": 1}
    failed = failed_rows(ledger)
    assert [(n["channel"], n["attempts"]) for n in failed["notices"]] == [("letter", 1)]
    assert "no postal address" in failed["notices"][0]["last_error"] and person not in str(failed)
    assert dispatch_notices(ledger, {"letter": letters}, render).get("letter") is None, "failed: not retried"

    with ledger.begin() as conn:  # the contact centre found the address
        conn.execute(update(Resident).where(Resident.insz == person).values(address_line="Kerkstraat 1, 9000 Gent"))
    assert requeue_failed(ledger, channel="letter") == {"grant_rows": 0, "notices": 1, "notice_rows": 1}
    assert dispatch_notices(ledger, {"letter": letters}, render)["letter"] == {"sent": 1}
    assert requeue_failed(ledger) == {"grant_rows": 0, "notices": 0, "notice_rows": 0}, "nothing failed any more"
    assert dispatch_notices(ledger, {"letter": letters}, render).get("letter") is None
    assert len(list((tmp_path / "letters").iterdir())) == 1
    with ledger.connect() as conn:
        assert conn.execute(select(Notice.status)).scalars().all() == ["sent"]


def test_the_cli_lists_failed_grant_rows_without_personal_data_and_requeues_the_named_ones(
        ledger: Engine, pg_url: str) -> None:
    people = [make_insz(21), make_insz(22)]
    rows = [add_outbox(ledger, add_grant(ledger, p, key=f"k|{p}"), kind="grant", channel="uitpas",
                       status="failed") for p in people]
    with ledger.begin() as conn:
        conn.execute(update(OutboxMessage).values(attempts=8, last_error="PermanentDeliveryError: no passholder"))
    runner = CliRunner()

    listed = runner.invoke(app, ["outbox", "failed", "--db-url", pg_url])
    assert listed.exit_code == 0, listed.output
    assert "2 failed grant row(s), 0 failed notice(s)" in listed.output and "no passholder" in listed.output
    assert all(p not in listed.output for p in people)

    requeued = runner.invoke(app, ["outbox", "requeue", "--id", str(rows[0]), "--db-url", pg_url])
    assert requeued.exit_code == 0, requeued.output
    assert "requeued 1 grant row(s) and 0 notice(s)" in requeued.output
    with ledger.connect() as conn:
        states = dict(conn.execute(select(OutboxMessage.id, OutboxMessage.status)).tuples().all())
        attempts = conn.execute(select(OutboxMessage.attempts).where(OutboxMessage.id == rows[0])).scalar_one()
    assert states == {rows[0]: "pending", rows[1]: "failed"} and attempts == 0
