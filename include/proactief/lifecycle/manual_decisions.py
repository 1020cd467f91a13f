"""A case worker's manual decision prevails over the automatic run (issue 17.3), inside the decide step.

For a subject with a manual decision ``in_force`` (or ``back_to_case_worker``) for the run's scheme whose window
covers the run's reference date, the run's decision is rewritten in the same transaction that committed it:

- its ``decision`` becomes the manual one (``grant`` → eligible, ``refuse`` → not eligible), its reasons
  ``MANUAL_DECISION_IN_FORCE``; the automatic outcome and reasons stay in ``advice["automatic"]`` and
  ``advice["manual_decision"]`` names the manual decision. The grant, revocation and notify steps leave such a
  decision alone (``runs._automatic``): no second grant, no revoke order, no second letter. A manual grant's
  decision carries the manual grant's key, so the reconciliation gate finds its one grant.
- a refusal whose facts changed (a criterion it rested on now has another definite outcome) is not granted either,
  but goes ``back_to_case_worker`` so a person looks again (``proactief bezwaar list --back-to-case-worker`` and
  the run's figure ``manual_decisions.back_to_case_worker``).

No personal data in the figures or the log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from proactief.ledger.models import DecisionRow, ManualDecision

__all__ = ["MANUAL_REASON", "PREVAILING", "covers", "fact_outcomes", "facts_changed", "prevail",
           "prevailing_count"]

log = logging.getLogger("proactief.lifecycle")

MANUAL_REASON = "MANUAL_DECISION_IN_FORCE"
PREVAILING = ("in_force", "back_to_case_worker")
"""Statuses of a manual decision the automatic runs respect (one sent back still waits for its case worker)."""
_DEFINITE = ("true", "false")


def fact_outcomes(trace: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Criterion → outcome (``true``/``false``/``unknown``…) of a decision trace: what a decision rested on,
    without a value."""
    out: dict[str, str] = {}
    for step in trace:
        criterion = step.get("criterion")
        if criterion:
            key = f"{criterion}@{step['tier']}" if step.get("tier") else str(criterion)
            out[key] = str(step.get("outcome"))
    return out


def facts_digest(outcomes: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(sorted(outcomes.items()))).encode()).hexdigest()[:32]


def facts_changed(stored: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Criteria with a definite outcome both then and now that differ (a criterion the new run did not need to
    ask — proportionality — is no change)."""
    return sorted(c for c, was in stored.items()
                  if was in _DEFINITE and now.get(c) in _DEFINITE and now[c] != was)


def covers(valid_from: dt.date, valid_until: dt.date | None, d: dt.date) -> bool:
    return valid_from <= d and (valid_until is None or d <= valid_until)


def _manual_for(conn: Connection, scheme_id: str, people: Sequence[str], d: dt.date) -> dict[str, Any]:
    """The prevailing manual decision per subject on ``d`` (the newest, if several cover it)."""
    out: dict[str, Any] = {}
    for i in range(0, len(people), 5000):
        part = people[i:i + 5000]
        for md in conn.execute(select(ManualDecision.__table__).where(
                ManualDecision.scheme_id == scheme_id, ManualDecision.status.in_(PREVAILING),
                ManualDecision.insz.in_(part)).order_by(ManualDecision.id)):
            if covers(md.valid_from, md.valid_until, d):
                out[md.insz] = md
    return out


def prevail(conn: Connection, run: Any) -> dict[str, int]:
    """Rewrite the run's decisions of subjects with a prevailing manual decision; send refusals whose facts
    changed back to the case worker. Returns counts. Safe to repeat (a rewritten decision is recognised)."""
    from proactief.schemes import Outcome

    people = list(conn.execute(select(ManualDecision.insz).where(
        ManualDecision.scheme_id == run.scheme_id, ManualDecision.status.in_(PREVAILING)).distinct()).scalars())
    if not people:
        return {"prevailed": 0, "back_to_case_worker": 0}
    decided = {r.insz: r for r in conn.execute(
        select(DecisionRow.id, DecisionRow.insz, DecisionRow.decision, DecisionRow.reasons, DecisionRow.advice)
        .where(DecisionRow.run_id == run.id, DecisionRow.insz.in_(people)))}
    manual = _manual_for(conn, run.scheme_id, list(decided), run.reference_date)
    prevailed = back = 0
    at = dt.datetime.now(dt.UTC)
    for insz, md in manual.items():
        row = decided[insz]
        advice = dict(row.advice or {})
        automatic = advice.get("automatic") or {"decision": row.decision, "reasons": list(row.reasons or ())}
        if md.outcome == "refuse" and md.status == "in_force" and "automatic" not in advice:
            changed = facts_changed((md.facts or {}).get("outcomes") or {}, fact_outcomes(advice.get("trace") or ()))
            if changed:
                conn.execute(update(ManualDecision).where(ManualDecision.id == md.id).values(
                    status="back_to_case_worker", back_at=at, back_run_id=run.id))
                back += 1
                log.warning("run %s: manual decision %s (%s) goes back to the case worker: %d criteria changed",
                            run.id, md.id, run.scheme_id, len(changed))
                automatic = {**automatic, "changed_criteria": changed}
        advice.update(manual_decision=md.id, automatic=automatic)
        if md.outcome == "grant" and md.grant_terms and md.grant_terms.get("grant_key"):
            advice["grant_key"] = md.grant_terms["grant_key"]
        else:
            advice.pop("grant_key", None)
        outcome = Outcome.ELIGIBLE if md.outcome == "grant" else Outcome.NOT_ELIGIBLE
        conn.execute(update(DecisionRow).where(DecisionRow.id == row.id).values(
            decision=outcome.value, reasons=[MANUAL_REASON], advice=advice))
        prevailed += 1
    if prevailed:
        log.info("run %s: %d manual decisions prevailed, %d sent back to the case worker", run.id, prevailed, back)
    return {"prevailed": prevailed, "back_to_case_worker": back}


def prevailing_count(conn: Connection, run_id: int) -> int:
    """How many of the run's decisions a manual decision prevailed over."""
    return int(conn.execute(select(func.count()).select_from(DecisionRow).where(
        DecisionRow.run_id == run_id, DecisionRow.advice["manual_decision"].as_string().is_not(None))).scalar_one())
