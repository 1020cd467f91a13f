"""Take-up over periods: per scheme and period, how many were eligible, and how many of them have the benefit and
were told.

Only finished, non-dry runs over the whole population count: a dry run grants nothing and a re-evaluation of a
few persons would make a period look empty. A period with several such runs takes its latest run. *Granted* is
the number of that run's eligible persons whose grant key has a grant (not cancelled), whichever run wrote it: a
UiTPAS tariff granted for a year in an earlier month covers this month too, so counting only the grants written in
the period would show take-up collapsing when it did not. *Notified*: of those, whose grant's notice was sent.
Where the decisions are gone (retention), the grants and notices written in the period are counted instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select

from proactief.dashboard.covered import decisions_with_keys, live_grants, notified
from proactief.ledger.models import DecisionRow, GrantRow, OutboxMessage, SchemeRun

__all__ = ["TrendPoint", "take_up_trend", "trends"]


@dataclass(frozen=True)
class TrendPoint:
    """One period of one scheme."""

    scheme_id: str
    period: str
    reference_date: dt.date
    run_id: int
    eligible: int
    granted: int
    notified: int

    @property
    def take_up(self) -> float | None:
        """Granted as a share of eligible (None when nobody was eligible)."""
        return self.granted / self.eligible if self.eligible else None


def take_up_trend(engine: Engine, scheme_id: str, *, periods: int = 24) -> list[TrendPoint]:
    """The last ``periods`` periods of the scheme, oldest first."""
    latest = (select(SchemeRun.id, SchemeRun.period, SchemeRun.reference_date, SchemeRun.figures,
                     func.row_number().over(partition_by=SchemeRun.period,
                                            order_by=(SchemeRun.started_at.desc(), SchemeRun.id.desc()))
                     .label("rank"))
              .where(SchemeRun.scheme_id == scheme_id, SchemeRun.status == "finished",
                     SchemeRun.dry_run.is_(False), SchemeRun.selection == "population").subquery())
    with engine.connect() as conn:
        rows = conn.execute(select(latest).where(latest.c.rank == 1)
                            .order_by(latest.c.reference_date.desc(), latest.c.id.desc()).limit(periods)).all()
        rows = list(reversed(rows))
        wanted = [r.period for r in rows]
        eligible = dict(conn.execute(
            select(DecisionRow.run_id, func.count()).where(DecisionRow.run_id.in_([r.id for r in rows]),
                                                           DecisionRow.decision == "eligible")
            .group_by(DecisionRow.run_id)).all())
        granted = dict(conn.execute(
            select(GrantRow.period, func.count()).where(GrantRow.scheme_id == scheme_id,
                                                        GrantRow.period.in_(wanted), GrantRow.status != "cancelled")
            .group_by(GrantRow.period)).all())
        notified = dict(conn.execute(
            select(GrantRow.period, func.count(func.distinct(GrantRow.id)))
            .join(OutboxMessage, OutboxMessage.grant_id == GrantRow.id)
            .where(GrantRow.scheme_id == scheme_id, GrantRow.period.in_(wanted), OutboxMessage.kind == "notify",
                   OutboxMessage.status == "sent")
            .group_by(GrantRow.period)).all())
        covered_by = _covered(conn, scheme_id, [r.id for r in rows])
    out = []
    for r in rows:
        if r.id in covered_by:
            have, told = covered_by[r.id]
            out.append(TrendPoint(scheme_id, r.period, r.reference_date, r.id, int(eligible.get(r.id, 0)), have,
                                  told))
            continue
        kept = ((r.figures or {}).get("decisions") or {}).get("eligible", 0)  # after retention
        out.append(TrendPoint(scheme_id, r.period, r.reference_date, r.id, int(eligible.get(r.id, kept) or 0),
                              int(granted.get(r.period, 0)), int(notified.get(r.period, 0))))
    return out


def _covered(conn: Connection, scheme_id: str, run_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per run that still has decisions: (eligible persons whose grant key has a live grant, of those whose notice
    was sent). Matched in Python (:mod:`proactief.dashboard.covered`)."""
    decided = {rid for rid, in conn.execute(
        select(DecisionRow.run_id).where(DecisionRow.run_id.in_(run_ids)).distinct())} if run_ids else set()
    grants = live_grants(conn, scheme_id)
    held = [(rid, insz, grants[key]) for rid, insz, _, key in decisions_with_keys(conn, run_ids, "eligible")
            if key in grants]
    told = notified(conn, (grant for _, _, grant in held))
    have: dict[int, set[str]] = {}
    sent: dict[int, set[str]] = {}
    for rid, insz, grant in held:
        have.setdefault(rid, set()).add(insz)
        if grant in told:
            sent.setdefault(rid, set()).add(insz)
    return {rid: (len(have.get(rid, ())), len(sent.get(rid, ()))) for rid in decided}


def trends(engine: Engine, scheme_ids: Sequence[str], *, periods: int = 24) -> dict[str, list[TrendPoint]]:
    """``take_up_trend`` for each scheme."""
    return {s: take_up_trend(engine, s, periods=periods) for s in scheme_ids}
