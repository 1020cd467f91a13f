"""Re-running (or backfilling) a past LEZ Monday decides as things stood on that D: it neither ends, renews nor
repeats what a later Monday's run decided. Found by the simulated year (tests/year): re-running 2026-11-02 after
the year had gone on revoked exemptions granted in December and moved holders back to the plate they had left."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, select

from proactief.ledger.models import DecisionRow, GrantRow, OutboxMessage
from proactief.lifecycle import grant, open_run
from proactief.lifecycle.renewals import running_grants
from proactief.schemes import load_scheme
from tests.lifecycle.ledger_rows import make_insz

LEZ = "lez-vrijstelling"
D1 = dt.date(2026, 11, 2)  # the Monday re-run
D2 = dt.date(2026, 12, 7)  # a later Monday, already run


def _exemption(engine: Engine, run_id: int, insz: str, plate: str, valid_from: dt.date, *,
               status: str = "delivered", terms: dict | None = None) -> int:
    until = dt.date(valid_from.year + 5, valid_from.month, valid_from.day)
    with engine.begin() as conn:
        return int(conn.execute(insert(GrantRow).values(
            scheme_id=LEZ, grant_key=f"{LEZ}|{insz[-4:]}|{plate}|{until}", insz=insz, period="2026-W45",
            run_id=run_id, system="lez-magda", valid_from=valid_from, valid_until=until,
            terms={"vehicle_plate": plate, **(terms or {})}, status=status,
            granted_at=dt.datetime.now(dt.UTC), retain_until=dt.date(2033, 1, 1)).returning(GrantRow.id)).scalar_one())


def _not_eligible(engine: Engine, run_id: int, insz: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(DecisionRow).values(
            run_id=run_id, scheme_id=LEZ, period="2026-W45", reference_date=D1, insz=insz, decision="not_eligible",
            tier=None, amount=None, reasons=["NO_PARKING_CARD"], rule_version="1", advice={}, consultations=[],
            decided_at=dt.datetime.now(dt.UTC), retain_until=dt.date(2033, 1, 1)))


def test_a_rerun_of_a_past_monday_does_not_end_an_exemption_a_later_monday_granted(ledger: Engine) -> None:
    later_holder = make_insz(31)
    first = open_run(ledger, LEZ, D1, external_id="year/lez/D1")
    later = open_run(ledger, LEZ, D2, external_id="year/lez/D2")
    december = _exemption(ledger, later, later_holder, "1DEC001", D2)  # eligible only from December

    rerun = open_run(ledger, LEZ, D1, external_id="rerun/lez/D1")
    _not_eligible(ledger, rerun, later_holder)  # on 2 November: no card yet
    figures = grant(ledger, rerun)

    assert figures["revoked"] == 0
    with ledger.connect() as conn:
        queued = conn.execute(select(OutboxMessage.kind).where(OutboxMessage.grant_id == december)).scalars().all()
        terms = conn.execute(select(GrantRow.terms).where(GrantRow.id == december)).scalar_one()
    assert queued == [] and "revoke_from" not in terms, "December's exemption is December's decision"
    assert first < later < rerun


def test_on_a_past_monday_the_exemption_a_later_monday_moved_still_runs_and_its_successor_does_not(
        ledger: Engine) -> None:
    holder = make_insz(32)
    first = open_run(ledger, LEZ, D1, external_id="year/lez/D1")
    later = open_run(ledger, LEZ, D2, external_id="year/lez/D2")
    moved = _exemption(ledger, first, holder, "1OLD001", dt.date(2026, 10, 5), status="revoked",
                       terms={"revoke_from": D2.isoformat(), "moved_to": "1NEW001"})
    successor = _exemption(ledger, later, holder, "1NEW001", D2)
    scheme = load_scheme(LEZ)

    with ledger.connect() as conn:
        on_d1 = [g.id for g in running_grants(conn, scheme, [holder], D1)[holder]]
        on_d2 = [g.id for g in running_grants(conn, scheme, [holder], D2)[holder]]

    assert on_d1 == [moved], "on 2 November the old plate's exemption ran; the new one was not decided yet"
    assert on_d2 == [successor], "from 7 December only the new plate's"
