"""Retention on PostgreSQL: each kind of row goes exactly when its period is over, nothing younger goes with it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert, select

from proactief.ledger.models import (
    AdviceBatch,
    AdviceBatchItem,
    DecisionRow,
    GrantRow,
    MagdaConsultation,
    MutationBatch,
    MutationSubject,
    OutboxMessage,
    RunSubject,
    SchemeRun,
    StagedAdvice,
)
from proactief.lifecycle.retention import apply_retention
from tests.lifecycle.ledger_rows import add_grant, add_outbox, add_run, count, many_insz

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
P = many_insz(6, start=2000)


def stage(engine: Engine, run_id: int, people: list[str], at: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(RunSubject), [{"run_id": run_id, "insz": p, "chunk": 0} for p in people])
        conn.execute(insert(StagedAdvice), [{"run_id": run_id, "insz": p, "outcome": "eligible", "transient": False,
                                             "advice": {}, "staged_at": at} for p in people])


def decide(engine: Engine, run_id: int, insz: str, retain_until: dt.date) -> None:
    with engine.begin() as conn:
        conn.execute(insert(DecisionRow).values(
            run_id=run_id, scheme_id="uitpas-kansentarief", period="2021", reference_date=dt.date(2021, 1, 1),
            insz=insz, decision="eligible", reasons=[], rule_version="1", advice={}, consultations=[],
            decided_at=NOW, retain_until=retain_until))


def test_each_table_keeps_exactly_what_is_still_within_its_retention(ledger: Engine) -> None:
    finished = add_run(ledger, status="finished", started_at=NOW - dt.timedelta(days=1), external_id="r/finished")
    failed = add_run(ledger, status="failed", started_at=NOW - dt.timedelta(days=2), external_id="r/failed")
    running = add_run(ledger, status="granted", started_at=NOW - dt.timedelta(days=1), external_id="r/running")
    abandoned = add_run(ledger, status="open", started_at=NOW - dt.timedelta(days=9), external_id="r/abandoned")
    stage(ledger, finished, P[:2], NOW - dt.timedelta(days=1))
    stage(ledger, failed, P[2:3], NOW - dt.timedelta(days=2))
    stage(ledger, running, P[:3], NOW - dt.timedelta(hours=5))
    stage(ledger, abandoned, P[3:4], NOW - dt.timedelta(days=9))

    decide(ledger, finished, P[0], TODAY - dt.timedelta(days=1))  # expired yesterday
    decide(ledger, finished, P[1], TODAY)  # its last day
    old_grant = add_grant(ledger, P[0], key="old", retain_until=TODAY - dt.timedelta(days=1), run_id=finished)
    kept_grant = add_grant(ledger, P[1], key="kept", retain_until=TODAY + dt.timedelta(days=365), run_id=finished)
    for grant in (old_grant, kept_grant):
        add_outbox(ledger, grant, kind="grant", channel="uitpas", status="sent")
        add_outbox(ledger, grant, kind="notify", channel="email", status="sent")

    with ledger.begin() as conn:
        old_batch, new_batch = (
            conn.execute(insert(MutationBatch).values(fetched_at=NOW - dt.timedelta(days=days), receipt=receipt,
                                                      persons=n, done_at=NOW - dt.timedelta(days=days - 1))
                         .returning(MutationBatch.id)).scalar_one()
            for days, receipt, n in ((31, "r-old", 2), (29, "r-new", 1)))
        conn.execute(insert(MutationSubject), [{"batch_id": old_batch, "insz": P[4]},
                                               {"batch_id": old_batch, "insz": P[5]},
                                               {"batch_id": new_batch, "insz": P[4]}])
        conn.execute(insert(MagdaConsultation), [
            {"message_ref": f"m{i}", "question_ref": f"q{i}", "service": "SocZek.GeefSociaalStatuut-03.00",
             "afnemer": "gent.be/proactief", "hoedanigheid": "1300", "subject_insz": P[0],
             "requested_at": NOW - dt.timedelta(days=3660 + i), "outcome": "ok", "retain_until": until}
            for i, until in enumerate([TODAY - dt.timedelta(days=1), TODAY])])

        # the advice service's batches: one past its retention (never collected, still pending), one on its last day
        for batch_id, until, state in (("b-old", TODAY - dt.timedelta(days=1), "pending"), ("b-kept", TODAY, "done")):
            conn.execute(insert(AdviceBatch).values(
                batch_id=batch_id, application="loket", requested_by="u1", scheme_id="uitpas-kansentarief",
                reference_date=TODAY, digest="0" * 64, total=2, created_at=NOW - dt.timedelta(days=30),
                retain_until=until))
            conn.execute(insert(AdviceBatchItem), [
                {"batch_id": batch_id, "position": n, "subject_insz": P[n], "city": {}, "state": state,
                 "attempts": 0} for n in range(2)])

    deleted = apply_retention(ledger, TODAY)

    assert deleted == {"staged_advice": 4, "run_subject": 4, "outbox": 2, "benefit_grant": 1, "decision": 1,
                       "manual_decision": 0, "bezwaar": 0, "mutation_subject": 2, "advice_batch_item": 2,
                       "advice_batch": 1, "magda_consultation": 1}
    with ledger.connect() as conn:
        staged = set(conn.execute(select(StagedAdvice.run_id, StagedAdvice.insz)).tuples())
        subjects = set(conn.execute(select(RunSubject.run_id)).scalars())
        grants = set(conn.execute(select(GrantRow.grant_key)).scalars())
        outbox = set(conn.execute(select(OutboxMessage.grant_id)).scalars())
        decisions = set(conn.execute(select(DecisionRow.insz)).scalars())
        batches = set(conn.execute(select(MutationBatch.receipt)).scalars())
        mutation_subjects = set(conn.execute(select(MutationSubject.batch_id)).scalars())
    assert staged == {(running, p) for p in P[:3]}  # only the run still in progress keeps its staging
    assert subjects == {running}
    assert grants == {"kept"} and outbox == {kept_grant}
    assert decisions == {P[1]}
    assert batches == {"r-old", "r-new"} and mutation_subjects == {new_batch}  # the cursor stays
    assert count(ledger, SchemeRun) == 4  # the runs (counts only) stay
    assert count(ledger, MagdaConsultation) == 1
    with ledger.connect() as conn:
        assert set(conn.execute(select(AdviceBatchItem.batch_id)).scalars()) == {"b-kept"}
        assert set(conn.execute(select(AdviceBatch.batch_id)).scalars()) == {"b-kept"}

    assert set(apply_retention(ledger, TODAY).values()) == {0}  # a second pass finds nothing more


def test_a_run_in_progress_keeps_staging_younger_than_seven_days(ledger: Engine) -> None:
    run = add_run(ledger, status="open", started_at=NOW - dt.timedelta(days=6, hours=23), external_id="r/young")
    stage(ledger, run, P[:2], NOW - dt.timedelta(days=6, hours=23))
    assert apply_retention(ledger, TODAY)["staged_advice"] == 0
    assert apply_retention(ledger, TODAY + dt.timedelta(days=1))["staged_advice"] == 2


def test_a_mutation_batch_not_yet_re_evaluated_keeps_its_persons_past_thirty_days(ledger: Engine) -> None:
    with ledger.begin() as conn:
        batch = conn.execute(insert(MutationBatch).values(fetched_at=NOW - dt.timedelta(days=40), receipt="r-undone",
                                                          persons=1).returning(MutationBatch.id)).scalar_one()
        conn.execute(insert(MutationSubject).values(batch_id=batch, insz=P[4]))
    assert apply_retention(ledger, TODAY)["mutation_subject"] == 0  # a failed re-evaluation is picked up later
    with ledger.begin() as conn:
        conn.execute(MutationBatch.__table__.update().where(MutationBatch.id == batch).values(done_at=NOW))
    assert apply_retention(ledger, TODAY)["mutation_subject"] == 1
