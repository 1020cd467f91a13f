"""An LEZ exemption whose holder is now definitively not eligible is ended: the grant step queues one ``revoke``
for the downstream register and one "benefit stops" notice; an undetermined decision (MAGDA down) ends nothing; a
repeated step adds nothing. End to end on the MAGDA simulator: the register ends the exemption first, then the
person gets a letter saying from when it no longer holds (and nothing twice)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import Engine, insert, select

from proactief.grants.lez import LezRegistration
from proactief.ledger.audit import LedgerAuditSink
from proactief.ledger.models import DecisionRow, GrantRow, Notice, OutboxMessage, Resident
from proactief.lifecycle import grant, open_run
from proactief.lifecycle.outbox import dispatch_grants, dispatch_notices
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.notify.channels import LetterChannel
from proactief.notify.render import format_date, render
from proactief_sim.simulator.testing import running_simulator
from tests.lifecycle.ledger_rows import make_insz

LEZ = "lez-vrijstelling"
D = dt.date(2026, 11, 2)  # a Monday


def _exemption(engine: Engine, insz: str, until: dt.date, *, plate: str | None = None,
               status: str = "delivered") -> int:
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    plate = plate or f"1ABC{insz[-3:]}"
    with engine.begin() as conn:
        return int(conn.execute(insert(GrantRow).values(
            scheme_id=LEZ, grant_key=f"{LEZ}|{insz[-4:]}|{plate}|{until}", insz=insz, period="2026-W23",
            system="lez-magda", valid_from=dt.date(2026, 6, 1), valid_until=until,
            terms={"vehicle_plate": plate, "sources": ["FOD Sociale Zekerheid – GeefDossierHandicap"]},
            status=status, granted_at=at, retain_until=dt.date(2033, 1, 1)).returning(GrantRow.id)).scalar_one())


def _decision(engine: Engine, run_id: int, insz: str, outcome: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(DecisionRow).values(
            run_id=run_id, scheme_id=LEZ, period="2026-W45", reference_date=D, insz=insz, decision=outcome,
            tier=None, amount=None, reasons=["NO_BIM"], rule_version="1", advice={}, consultations=[],
            decided_at=dt.datetime.now(dt.UTC), retain_until=dt.date(2033, 1, 1)))


def test_a_holder_no_longer_eligible_gets_one_revoke_and_an_undetermined_one_none(ledger: Engine) -> None:
    lost, unsure, expired = make_insz(1), make_insz(2), make_insz(3)
    ids = {p: _exemption(ledger, p, dt.date(2031, 6, 1)) for p in (lost, unsure)}
    ids[expired] = _exemption(ledger, expired, dt.date(2026, 10, 1))  # ended already: nothing to end
    run_id = open_run(ledger, LEZ, D, external_id="test/lez-revoke")
    _decision(ledger, run_id, lost, "not_eligible")
    _decision(ledger, run_id, unsure, "undetermined")
    _decision(ledger, run_id, expired, "not_eligible")

    figures = grant(ledger, run_id)
    grant(ledger, run_id)  # a retried task

    assert figures["revoked"] == 1
    with ledger.connect() as conn:
        rows = conn.execute(select(OutboxMessage.grant_id, OutboxMessage.channel, OutboxMessage.status)
                            .where(OutboxMessage.kind == "revoke")).all()
        terms = conn.execute(select(GrantRow.terms).where(GrantRow.id == ids[lost])).scalar_one()
    assert [(r.grant_id, r.channel, r.status) for r in rows] == [(ids[lost], "lez-magda", "pending")]
    assert terms["revoke_from"] == D.isoformat() and terms["vehicle_plate"]
    with ledger.connect() as conn:
        told = conn.execute(select(OutboxMessage.grant_id).where(OutboxMessage.kind == "notify_stop")).scalars().all()
    assert told == [ids[lost]], "one stop notice, only for the exemption that ends"


def test_the_register_ends_the_exemption_first_then_the_person_gets_one_letter_saying_from_when(
        ledger: Engine, tmp_path: Path) -> None:
    person, plate = make_insz(7), "1" + uuid.uuid4().hex[:6].upper()
    with ledger.begin() as conn:
        conn.execute(insert(Resident).values(
            insz=person, household_id="H7", reference_person=True, position="01", address_kind="main",
            postcode="9000", nis_code="44021", since=dt.date(2001, 1, 1), email=None,
            address_line="Kerkstraat 12, 9000 Gent", snapshot="test"))
    grant_id = _exemption(ledger, person, dt.date(2031, 6, 1), plate=plate, status="granted")
    with ledger.begin() as conn:
        conn.execute(insert(OutboxMessage).values(
            grant_id=grant_id, kind="grant", channel="lez-magda", status="pending", attempts=0,
            message_id=f"grant.lez-magda.{grant_id:024x}@proactief.gent", created_at=dt.datetime.now(dt.UTC)))
    letters = LetterChannel(tmp_path / "letters")
    with running_simulator(allowed_afnemers=frozenset({"gent.be/proactief"})) as sim:
        config = MagdaConfig(base_url=sim.base_url, identificatie="gent.be/proactief", backoff_base=0.0,
                             backoff_cap=0.0)
        adapters = {"lez-magda": LezRegistration(lambda: MagdaClient(config, LedgerAuditSink(ledger)))}
        assert dispatch_grants(ledger, adapters)["lez-magda"] == {"delivered": 1}  # registered in the register

        run_id = open_run(ledger, LEZ, D, external_id="test/lez-stop-letter")
        _decision(ledger, run_id, person, "not_eligible")
        grant(ledger, run_id)
        assert dispatch_notices(ledger, {"letter": letters}, render) == {}, "nothing to tell before the register"

        assert dispatch_grants(ledger, adapters)["lez-magda"] == {"delivered": 1}  # the revoke
        sent = dispatch_notices(ledger, {"letter": letters}, render)
        assert sent["letter"] == {"sent": 1}
        assert dispatch_grants(ledger, adapters) == {} and "letter" not in dispatch_notices(
            ledger, {"letter": letters}, render), "a second dispatch sends nothing"

    with ledger.connect() as conn:
        status = conn.execute(select(GrantRow.status).where(GrantRow.id == grant_id)).scalar_one()
        notices = conn.execute(select(Notice.channel, Notice.status)).all()
    assert status == "revoked"
    assert [(n.channel, n.status) for n in notices] == [("letter", "sent")]
    (pdf,) = (tmp_path / "letters").iterdir()
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Een voordeel" in text and plate in text and f"Vanaf {format_date(D)}" in " ".join(text.split())
    assert person not in text
