"""Per scheme and run the figures, the take-up trend and the runs not finished, against a real PostgreSQL ledger
whose contents are known (``ledger_data``)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from proactief.dashboard import runs, take_up_trend, unfinished_runs
from tests.dashboard.ledger_data import IVAGO, UITPAS, Ledger

pytestmark = pytest.mark.integration


def test_figures_of_a_run_count_decisions_grants_notices_and_opt_outs(engine: Engine, data: Ledger) -> None:
    by_id = {r.run_id: r for r in runs(engine, [UITPAS])[UITPAS]}
    a = by_id[data.runs["a"]]
    assert (a.selected, a.eligible, a.not_eligible, a.undetermined) == (6, 3, 2, 1)
    assert a.granted == 2  # the cancelled grant (objection before delivery) is not counted
    assert (a.notified, a.notify_pending) == (1, 1)
    assert a.opted_out == 1
    assert a.dq_status == "passed" and a.finished
    assert a.dag_run_id == "manual__a"
    c = by_id[data.runs["c"]]
    assert (c.eligible, c.granted, c.already_granted, c.notified) == (4, 0, 4, 0)


def test_runs_are_per_scheme_newest_first_and_limited(engine: Engine, data: Ledger) -> None:
    found = runs(engine, [UITPAS, IVAGO, "lez-vrijstelling"], limit=3)
    assert [r.run_id for r in found[UITPAS]] == [data.runs["e"], data.runs["d"], data.runs["c"]]
    assert [r.run_id for r in found[IVAGO]] == [data.runs["f"]]
    assert found["lez-vrijstelling"] == []
    assert runs(engine, []) == {}


def test_dq_status_failed_and_incomplete(engine: Engine, data: Ledger) -> None:
    e = {r.run_id: r for r in runs(engine, [UITPAS])[UITPAS]}[data.runs["e"]]
    assert e.dq_status == "failed"
    assert e.dq["reconciliation"] is None
    with engine.begin() as conn:
        conn.execute(text("UPDATE scheme_run SET figures = CAST(:f AS json) WHERE id = :i"),
                     {"f": '{"dq_population": "passed"}', "i": data.runs["e"]})
    e = {r.run_id: r for r in runs(engine, [UITPAS])[UITPAS]}[data.runs["e"]]
    assert e.dq_status == "incomplete"


def test_decision_counts_survive_retention_through_the_run_figures(engine: Engine, data: Ledger) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM decision WHERE run_id = :r"), {"r": data.runs["a"]})
    a = {r.run_id: r for r in runs(engine, [UITPAS])[UITPAS]}[data.runs["a"]]
    assert (a.eligible, a.not_eligible, a.undetermined) == (3, 2, 1)


def test_unfinished_runs_are_those_not_finished(engine: Engine, data: Ledger) -> None:
    assert [r.run_id for r in unfinished_runs(engine, [UITPAS, IVAGO])] == [data.runs["e"]]
    assert unfinished_runs(engine, [IVAGO]) == []


def test_take_up_trend_per_period_of_finished_real_population_runs(engine: Engine, data: Ledger) -> None:
    trend = take_up_trend(engine, UITPAS)
    # 2026-12 has only a dry run and a stopped run: not a period yet
    assert [(p.period, p.eligible, p.granted, p.notified) for p in trend] == [("2026-10", 3, 2, 1),
                                                                              ("2026-11", 4, 4, 4)]
    assert trend[1].run_id == data.runs["c"]  # the latest run of the period; its grants came from run b
    assert trend[0].take_up == pytest.approx(2 / 3)
    assert take_up_trend(engine, "lez-vrijstelling") == []
    assert [p.period for p in take_up_trend(engine, UITPAS, periods=1)] == ["2026-11"]


def test_take_up_counts_who_has_the_benefit_not_only_who_got_it_this_period(engine: Engine, data: Ledger) -> None:
    """January's run finds November's year-long grants (same grant keys): its take-up is theirs, not zero."""
    import datetime as dt

    from sqlalchemy import insert

    from proactief.ledger.models import DecisionRow, SchemeRun
    from tests.dashboard.ledger_data import person

    at = dt.datetime(2027, 1, 1, 5, tzinfo=dt.UTC)
    with engine.begin() as conn:
        run = conn.execute(insert(SchemeRun).values(
            scheme_id=UITPAS, rule_version="1", period="2027-01", reference_date=dt.date(2027, 1, 1),
            external_id=f"{UITPAS}/manual__g", dry_run=False, selection="population", chunk_size=100,
            status="finished", started_at=at, finished_at=at, figures={"grant": {"granted": 0, "already_granted": 3}},
        ).returning(SchemeRun.id)).scalar_one()
        for n in (11, 12, 13, 15):  # 15 is new and not granted yet (say, the grant step is still to come)
            conn.execute(insert(DecisionRow).values(
                run_id=run, scheme_id=UITPAS, period="2027-01", reference_date=dt.date(2027, 1, 1), insz=person(n),
                decision="eligible", tier=None, amount=None, reasons=["RESIDENT_GHENT"], rule_version="1",
                advice={"grant_key": f"key-{UITPAS}-{n}-2026-11"}, consultations=[], decided_at=at,
                retain_until=dt.date(2031, 12, 31)))
    january = take_up_trend(engine, UITPAS)[-1]
    assert (january.period, january.eligible, january.granted, january.notified) == ("2027-01", 4, 3, 3)


def test_a_grant_that_expired_waiting_for_a_card_does_not_count_as_taken_up(engine: Engine, data: Ledger) -> None:
    """The kansentarief of someone who never fetched a pass (``grant.awaiting_card`` ran out) reached nobody."""
    before = take_up_trend(engine, UITPAS)[0]
    with engine.begin() as conn:
        expired = conn.execute(text(
            "UPDATE benefit_grant SET status = 'expired' WHERE id = (SELECT min(id) FROM benefit_grant "
            "WHERE scheme_id = :s AND period = :p AND status = 'granted') RETURNING id"),
            {"s": UITPAS, "p": before.period}).scalar_one_or_none()
    assert expired is not None
    after = take_up_trend(engine, UITPAS)[0]
    assert after.eligible == before.eligible
    assert after.take_up == pytest.approx((before.take_up * before.eligible - 1) / before.eligible)
