"""Per scheme and run the numbers a scheme owner asks about: eligible, granted, notified, undetermined, opted out
and the data-quality status — counts only, never a person.

Where each number comes from (so the dashboard says the same as the ledger):

- *eligible / not eligible / undetermined*: the run's rows in ``decision`` (after retention deleted them, the
  counts the advice step kept in ``scheme_run.figures["decisions"]``);
- *granted*: the grants this run wrote (``benefit_grant.run_id``), not counting those cancelled because the
  person objected before delivery; a second run of the same period finds them already granted
  (``already_granted``, from the grant step's figures);
- *notified*: grants of this run whose notification was actually sent (``outbox`` kind ``notify``, status
  ``sent``); ``notify_pending`` are queued but not sent yet;
- *opted out*: persons left out at selection because of an active objection (``figures["opted_out"]``);
- *household objections*: undetermined because someone the decision needed (a household member, the reference
  person) objected and was not asked (``figures["household_objections"]``, counted by the decide step);
- *DQ*: ``figures["dq_<step>"]`` per step (``passed``/``failed``; missing = not checked yet).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, func, select

from proactief.ledger.models import DecisionRow, GrantRow, OutboxMessage, SchemeRun

__all__ = ["DQ_STEPS", "DQ_LABELS", "RunFigures", "newest_runs", "runs", "unfinished_runs"]

DQ_STEPS = ("population", "magda_results", "decisions", "reconciliation")
DQ_LABELS = {"population": "bevolking", "magda_results": "MAGDA-antwoorden", "decisions": "beslissingen",
             "reconciliation": "afstemming"}
DQStatus = Literal["passed", "failed", "incomplete"]


@dataclass(frozen=True)
class RunFigures:
    """One ledger run with its counts; ``dag_id``/``dag_run_id`` link it to its Airflow run when it has one."""

    run_id: int
    scheme_id: str
    period: str
    reference_date: dt.date
    status: str
    dry_run: bool
    selection: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    external_id: str
    selected: int
    eligible: int
    not_eligible: int
    undetermined: int
    granted: int
    already_granted: int
    notified: int
    notify_pending: int
    opted_out: int
    dq: Mapping[str, str | None]
    data_errors: int = 0
    """Undetermined because MAGDA answered a data error (20002, 30004 …): quarantined until the record is fixed."""
    household_objections: int = 0
    """Undetermined because a household member (or the reference person) objected: they apply at the counter."""

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def dq_status(self) -> DQStatus:
        """``failed`` when any step failed, ``passed`` when every step passed, else ``incomplete``."""
        values = [self.dq.get(step) for step in DQ_STEPS]
        if "failed" in values:
            return "failed"
        return "passed" if all(v == "passed" for v in values) else "incomplete"

    @property
    def dag_run_id(self) -> str | None:
        """The Airflow run id when ``external_id`` is ``<scheme dag id>/<run id>`` (a scheme DAG's run)."""
        dag_id, _, rest = self.external_id.partition("/")
        if dag_id != self.scheme_id or not rest:
            return None
        return rest.split("/", 1)[0]


def _figure(figures: Mapping[str, Any], *path: str) -> int:
    value: Any = figures
    for key in path:
        if not isinstance(value, Mapping):
            return 0
        value = value.get(key)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _counts_by_run(engine: Engine, run_ids: Sequence[int]) -> tuple[dict[int, dict[str, int]], dict[int, int],
                                                                      dict[int, dict[str, int]]]:
    """Decisions per run and outcome, grants per run, notifications per run and status (one query each)."""
    decisions: dict[int, dict[str, int]] = defaultdict(dict)
    grants: dict[int, int] = {}
    notices: dict[int, dict[str, int]] = defaultdict(dict)
    if not run_ids:
        return decisions, grants, notices
    with engine.connect() as conn:
        for run_id, decision, n in conn.execute(
                select(DecisionRow.run_id, DecisionRow.decision, func.count())
                .where(DecisionRow.run_id.in_(run_ids)).group_by(DecisionRow.run_id, DecisionRow.decision)):
            decisions[run_id][decision] = int(n)
        for run_id, n in conn.execute(
                select(GrantRow.run_id, func.count()).where(GrantRow.run_id.in_(run_ids),
                                                            GrantRow.status != "cancelled")
                .group_by(GrantRow.run_id)):
            grants[int(run_id)] = int(n)
        for run_id, status, n in conn.execute(
                select(GrantRow.run_id, OutboxMessage.status, func.count(func.distinct(GrantRow.id)))
                .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                .where(GrantRow.run_id.in_(run_ids), OutboxMessage.kind == "notify")
                .group_by(GrantRow.run_id, OutboxMessage.status)):
            notices[int(run_id)][status] = int(n)
    return decisions, grants, notices


def _build(engine: Engine, rows: Iterable[Any]) -> list[RunFigures]:
    rows = list(rows)
    decisions, grants, notices = _counts_by_run(engine, [r.id for r in rows])
    out = []
    for r in rows:
        figures: Mapping[str, Any] = r.figures or {}
        decided = decisions.get(r.id) or {k: _figure(figures, "decisions", k)
                                          for k in ("eligible", "not_eligible", "undetermined")}
        out.append(RunFigures(
            run_id=r.id, scheme_id=r.scheme_id, period=r.period, reference_date=r.reference_date, status=r.status,
            dry_run=r.dry_run, selection=r.selection, started_at=r.started_at, finished_at=r.finished_at,
            external_id=r.external_id, selected=_figure(figures, "selected"),
            eligible=decided.get("eligible", 0), not_eligible=decided.get("not_eligible", 0),
            undetermined=decided.get("undetermined", 0), granted=grants.get(r.id, 0),
            already_granted=_figure(figures, "grant", "already_granted"),
            notified=notices.get(r.id, {}).get("sent", 0), notify_pending=notices.get(r.id, {}).get("pending", 0),
            opted_out=_figure(figures, "opted_out"),
            dq={step: figures.get(f"dq_{step}") for step in DQ_STEPS}, data_errors=_figure(figures, "data_errors"),
            household_objections=_figure(figures, "household_objections")))
    return out


def runs(engine: Engine, scheme_ids: Sequence[str], *, limit: int = 10) -> dict[str, list[RunFigures]]:
    """The latest ``limit`` runs of each scheme, newest first (every scheme in ``scheme_ids`` has a key)."""
    out: dict[str, list[RunFigures]] = {s: [] for s in scheme_ids}
    if not scheme_ids:
        return out
    ranked = (select(SchemeRun.__table__, func.row_number().over(
        partition_by=SchemeRun.scheme_id, order_by=(SchemeRun.started_at.desc(), SchemeRun.id.desc())).label("rank"))
        .where(SchemeRun.scheme_id.in_(scheme_ids)).subquery())
    with engine.connect() as conn:
        rows = conn.execute(select(ranked).where(ranked.c.rank <= limit)
                            .order_by(ranked.c.started_at.desc(), ranked.c.id.desc())).all()
    for f in _build(engine, rows):
        out[f.scheme_id].append(f)
    return out


def newest_runs(engine: Engine, scheme_ids: Sequence[str]) -> dict[str, RunFigures]:
    """Per scheme the run of its newest period (the dashboard's "Laatste run"): a backfill of older periods started
    later does not replace it. Within that period a whole-population run goes before a re-evaluation of a few
    persons, then the latest started."""
    if not scheme_ids:
        return {}
    ranked = (select(SchemeRun.__table__, func.row_number().over(
        partition_by=SchemeRun.scheme_id,
        order_by=(SchemeRun.reference_date.desc(), (SchemeRun.selection == "population").desc(),
                  SchemeRun.started_at.desc(), SchemeRun.id.desc())).label("rank"))
        .where(SchemeRun.scheme_id.in_(scheme_ids)).subquery())
    with engine.connect() as conn:
        rows = conn.execute(select(ranked).where(ranked.c.rank == 1)).all()
    return {f.scheme_id: f for f in _build(engine, rows)}


def unfinished_runs(engine: Engine, scheme_ids: Sequence[str]) -> list[RunFigures]:
    """Runs not finished (still going, waiting for approval, or stopped by a failed gate), oldest first."""
    if not scheme_ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(SchemeRun.__table__).where(SchemeRun.scheme_id.in_(scheme_ids),
                                                               SchemeRun.status != "finished")
                            .order_by(SchemeRun.started_at, SchemeRun.id)).all()
    return _build(engine, rows)
