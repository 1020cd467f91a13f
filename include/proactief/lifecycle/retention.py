"""Retention: delete what the ledger may no longer keep, table by table, on the date given.

- staging (``staged_advice``, ``run_subject``): as soon as its run is finished or failed, and in any case
  after ``STAGING_DAYS`` (a run abandoned half-way must not keep MAGDA outcomes around);
- decisions and grants: after their ``retain_until`` (``DECISION_RETENTION_YEARS`` after the period); a
  grant's outbox rows go with it (``ON DELETE CASCADE``);
- bezwaren and manual decisions: after their ``retain_until`` (``DECISION_RETENTION_YEARS`` after the decision's
  reference date), except a manual decision that still prevails over the runs (and its bezwaar);
- mutation subjects: ``MUTATION_DAYS`` after the batch was read, once every scheme has decided them (``done_at``):
  a batch whose re-evaluation failed keeps its persons until a later run does it (the batch row, a count and the
  cursor, stays);
- MAGDA consultations: after their ten years (:func:`proactief.ledger.audit.purge_expired_consultations`);
- the advice service's batches and their items (INSZ, the city's facts as submitted, the advice): after their
  ``retain_until`` (``PROACTIEF_ADVICE_RETENTION_DAYS`` after submission), finished or not: a caller that never
  collected its batch does not keep its subjects' data in the ledger.

Residents who left are removed by the repertorium sync, not here (MAGDA must be told first).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine, delete, func, or_, select

from proactief.ledger.audit import purge_expired_consultations
from proactief.ledger.models import (
    AdviceBatch,
    AdviceBatchItem,
    Bezwaar,
    DecisionRow,
    GrantRow,
    ManualDecision,
    MutationBatch,
    MutationSubject,
    OutboxMessage,
    RunSubject,
    SchemeRun,
    StagedAdvice,
)
from proactief.lifecycle.manual_decisions import PREVAILING

__all__ = ["MUTATION_DAYS", "STAGING_DAYS", "apply_retention"]

log = logging.getLogger("proactief.lifecycle.retention")

STAGING_DAYS = 7
MUTATION_DAYS = 30
_DONE = ("finished", "failed")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def apply_retention(engine: Engine, today: dt.date) -> dict[str, int]:
    """Delete everything past its retention on ``today``; returns how many rows went, per table."""
    staging_cutoff = _midnight(today - dt.timedelta(days=STAGING_DAYS))
    mutation_cutoff = _midnight(today - dt.timedelta(days=MUTATION_DAYS))
    done_runs = select(SchemeRun.id).where(or_(SchemeRun.status.in_(_DONE), SchemeRun.started_at < staging_cutoff))
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        counts["staged_advice"] = conn.execute(delete(StagedAdvice).where(
            or_(StagedAdvice.run_id.in_(done_runs), StagedAdvice.staged_at < staging_cutoff))).rowcount or 0
        counts["run_subject"] = conn.execute(delete(RunSubject).where(RunSubject.run_id.in_(done_runs))).rowcount or 0
        expired_grants = select(GrantRow.id).where(GrantRow.retain_until < today)
        counts["outbox"] = int(conn.execute(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.grant_id.in_(expired_grants))).scalar_one())
        counts["benefit_grant"] = conn.execute(delete(GrantRow).where(GrantRow.retain_until < today)).rowcount or 0
        counts["decision"] = conn.execute(delete(DecisionRow).where(DecisionRow.retain_until < today)).rowcount or 0
        # A manual decision that still prevails over the runs (a refusal for good, a grant not ended) is kept.
        counts["manual_decision"] = conn.execute(delete(ManualDecision).where(
            ManualDecision.retain_until < today,
            or_(ManualDecision.status.not_in(PREVAILING), ManualDecision.valid_until < today))).rowcount or 0
        counts["bezwaar"] = conn.execute(delete(Bezwaar).where(
            Bezwaar.retain_until < today, Bezwaar.id.not_in(
                select(ManualDecision.bezwaar_id).where(ManualDecision.bezwaar_id.is_not(None))))).rowcount or 0
        old_batches = select(MutationBatch.id).where(MutationBatch.fetched_at < mutation_cutoff,
                                                     MutationBatch.done_at.is_not(None))
        counts["mutation_subject"] = conn.execute(delete(MutationSubject).where(
            MutationSubject.batch_id.in_(old_batches))).rowcount or 0
        expired_batches = select(AdviceBatch.batch_id).where(AdviceBatch.retain_until < today)
        counts["advice_batch_item"] = conn.execute(delete(AdviceBatchItem).where(
            AdviceBatchItem.batch_id.in_(expired_batches))).rowcount or 0
        counts["advice_batch"] = conn.execute(delete(AdviceBatch).where(
            AdviceBatch.retain_until < today)).rowcount or 0
    counts["magda_consultation"] = purge_expired_consultations(engine, today)
    counts = {k: int(v) for k, v in counts.items()}
    log.info("retention on %s: %s", today.isoformat(), ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts
