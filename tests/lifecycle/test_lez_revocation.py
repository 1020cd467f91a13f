"""An LEZ exemption whose holder is now definitively not eligible is ended: the grant step queues one ``revoke``
for the downstream register; an undetermined decision (MAGDA down) ends nothing; a repeated step adds nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select

from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import DecisionRow, GrantRow, OutboxMessage
from proactief.lifecycle import grant, open_run
from tests.lifecycle.ledger_rows import make_insz

LEZ = "lez-vrijstelling"
D = dt.date(2026, 11, 2)  # a Monday


@pytest.fixture
def ledger(pg_url: str) -> Iterator[Engine]:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def _exemption(engine: Engine, insz: str, until: dt.date) -> int:
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        return int(conn.execute(insert(GrantRow).values(
            scheme_id=LEZ, grant_key=f"{LEZ}|{insz[-4:]}|1ABC{insz[-3:]}|{until}", insz=insz, period="2026-W23",
            system="lez-magda", valid_from=dt.date(2026, 6, 1), valid_until=until,
            terms={"vehicle_plate": f"1ABC{insz[-3:]}"}, status="delivered", granted_at=at,
            retain_until=dt.date(2033, 1, 1)).returning(GrantRow.id)).scalar_one())


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
