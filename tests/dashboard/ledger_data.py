"""A small, known ledger for the dashboard tests: runs of two schemes, their decisions, grants and notifications.

UiTPAS (monthly):

- run ``a``: 2026-10, finished, population. 6 selected, 1 left out (opt-out); persons 1-3 eligible, 4-5 not,
  6 undetermined. Grants for 1-3; the grant of 3 was cancelled (objection). Notice of 1 sent, of 2 pending.
- run ``b``: 2026-11, finished: persons 11-14 eligible, granted, notices sent.
- run ``c``: 2026-11 again (a re-run): 11-14 eligible again, nothing new granted (``already_granted`` 4).
- run ``d``: 2026-12, finished dry run: 1 eligible, nothing granted.
- run ``e``: 2026-12, stopped after a failed decisions check (status ``decided``).

IVAGO (yearly): run ``f``, 2026, finished, 1 eligible — another scheme the UiTPAS figures must not see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert

from proactief.ledger.models import DecisionRow, GrantRow, OptOut, OutboxMessage, SchemeRun
from tests.lifecycle.ledger_rows import make_insz

UTC = dt.UTC
UITPAS = "uitpas-kansentarief"
IVAGO = "ivago-tegemoetkoming"
PASSED = {f"dq_{s}": "passed" for s in ("population", "magda_results", "decisions", "reconciliation")}
TRACE = [
    {"criterion": "ghent_resident", "label": "hoofdverblijfplaats in Gent op de peildatum",
     "source": "Rijksregister – GeefPersoon", "outcome": "true", "reason": "RESIDENT_GHENT", "tier": None,
     "kind": "criterion"},
    {"criterion": "statute.BIM_BVT", "label": "sociaal statuut BIM_BVT", "source": "KSZ – GeefSociaalStatuut",
     "outcome": "true", "reason": "STATUTE_BIM_BVT", "tier": None, "kind": "criterion"},
]


def person(n: int) -> str:
    return make_insz(5000 + n)


@dataclass(frozen=True)
class Ledger:
    runs: dict[str, int]
    grants: dict[int, int]
    """person number → grant id"""


def _run(conn: Any, key: str, *, scheme: str = UITPAS, period: str, day: dt.date, status: str = "finished",
         dry_run: bool = False, figures: dict[str, Any], started: dt.datetime) -> int:
    return int(conn.execute(insert(SchemeRun).values(
        scheme_id=scheme, rule_version="1", period=period, reference_date=day,
        external_id=f"{scheme}/manual__{key}", dry_run=dry_run, selection="population", chunk_size=100,
        status=status, started_at=started, finished_at=started + dt.timedelta(minutes=5) if status == "finished"
        else None, figures=figures).returning(SchemeRun.id)).scalar_one())


def _decision(conn: Any, run_id: int, n: int, decision: str, *, scheme: str = UITPAS, period: str, day: dt.date,
              reasons: list[str], at: dt.datetime, trace: list[dict[str, Any]] | None = None) -> int:
    advice = {"decision": decision, "reasons": reasons, "trace": TRACE if trace is None else trace, "amounts": {},
              "percentages": {"korting": "80"} if decision == "eligible" else {},
              "grant_key": f"key-{scheme}-{n}-{period}" if decision == "eligible" else None}
    return int(conn.execute(insert(DecisionRow).values(
        run_id=run_id, scheme_id=scheme, period=period, reference_date=day, insz=person(n), decision=decision,
        tier=None, amount=None, reasons=reasons, rule_version="1", advice=advice, consultations=[], decided_at=at,
        retain_until=dt.date(2031, 12, 31)).returning(DecisionRow.id)).scalar_one())


def _grant(conn: Any, run_id: int, decision_id: int, n: int, *, scheme: str = UITPAS, period: str,
           status: str = "granted", at: dt.datetime) -> int:
    return int(conn.execute(insert(GrantRow).values(
        scheme_id=scheme, grant_key=f"key-{scheme}-{n}-{period}", insz=person(n), period=period, run_id=run_id,
        decision_id=decision_id, system="uitpas", valid_from=at.date(), terms={}, status=status, granted_at=at,
        retain_until=dt.date(2031, 12, 31)).returning(GrantRow.id)).scalar_one())


def _notice(conn: Any, grant_id: int, status: str, at: dt.datetime) -> None:
    conn.execute(insert(OutboxMessage).values(
        grant_id=grant_id, kind="notify", channel="email", status=status, attempts=1 if status == "sent" else 0,
        message_id=f"notify.email.{grant_id}@test", created_at=at, sent_at=at if status == "sent" else None))


def build(engine: Engine) -> Ledger:
    """Write the ledger described in the module docstring."""
    t0 = dt.datetime(2026, 10, 1, 4, tzinfo=UTC)
    runs: dict[str, int] = {}
    grants: dict[int, int] = {}
    with engine.begin() as conn:
        oct_, nov, dec = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)
        runs["a"] = _run(conn, "a", period="2026-10", day=oct_, started=t0, figures={
            **PASSED, "selected": 6, "opted_out": 1,
            "decisions": {"eligible": 3, "not_eligible": 2, "undetermined": 1},
            "grant": {"granted": 3, "already_granted": 0, "skipped_opted_out": 0}})
        for n, decision, reasons in ((1, "eligible", ["RESIDENT_GHENT", "STATUTE_BIM_BVT"]),
                                     (2, "eligible", ["RESIDENT_GHENT", "STATUTE_BIM_BVT_IN_HOUSEHOLD"]),
                                     (3, "eligible", ["RESIDENT_GHENT", "STATUTE_BIM_BVT"]),
                                     (4, "not_eligible", ["NOT_RESIDENT_GHENT"]),
                                     (5, "not_eligible", ["RESIDENT_GHENT", "NO_STATUTE_BIM_BVT"]),
                                     (6, "undetermined", ["MAGDA_TRANSIENT"])):
            d = _decision(conn, runs["a"], n, decision, period="2026-10", day=oct_, reasons=reasons, at=t0)
            if decision == "eligible":
                grants[n] = _grant(conn, runs["a"], d, n, period="2026-10", at=t0,
                                   status="cancelled" if n == 3 else "granted")
        _notice(conn, grants[1], "sent", t0 + dt.timedelta(hours=2))
        _notice(conn, grants[2], "pending", t0)
        t1 = dt.datetime(2026, 11, 1, 4, tzinfo=UTC)
        runs["b"] = _run(conn, "b", period="2026-11", day=nov, started=t1, figures={
            **PASSED, "selected": 4, "opted_out": 0, "decisions": {"eligible": 4, "not_eligible": 0,
                                                                    "undetermined": 0},
            "grant": {"granted": 4, "already_granted": 0}})
        for n in (11, 12, 13, 14):
            d = _decision(conn, runs["b"], n, "eligible", period="2026-11", day=nov, reasons=["RESIDENT_GHENT"], at=t1)
            grants[n] = _grant(conn, runs["b"], d, n, period="2026-11", at=t1, status="delivered")
            _notice(conn, grants[n], "sent", t1 + dt.timedelta(hours=1))
        t2 = t1 + dt.timedelta(days=2)
        runs["c"] = _run(conn, "c", period="2026-11", day=nov, started=t2, figures={
            **PASSED, "selected": 4, "opted_out": 0, "decisions": {"eligible": 4, "not_eligible": 0,
                                                                    "undetermined": 0},
            "grant": {"granted": 0, "already_granted": 4}})
        for n in (11, 12, 13, 14):
            _decision(conn, runs["c"], n, "eligible", period="2026-11", day=nov, reasons=["RESIDENT_GHENT"], at=t2)
        t3 = dt.datetime(2026, 12, 1, 4, tzinfo=UTC)
        runs["d"] = _run(conn, "d", period="2026-12", day=dec, started=t3, dry_run=True, figures={
            **PASSED, "selected": 1, "opted_out": 0, "decisions": {"eligible": 1, "not_eligible": 0,
                                                                    "undetermined": 0}})
        _decision(conn, runs["d"], 21, "eligible", period="2026-12", day=dec, reasons=["RESIDENT_GHENT"], at=t3)
        runs["e"] = _run(conn, "e", period="2026-12", day=dec, started=t3 + dt.timedelta(hours=1),
                         status="decided", figures={"dq_population": "passed", "dq_magda_results": "passed",
                                                    "dq_decisions": "failed", "selected": 2, "opted_out": 0})
        for n in (31, 32):
            _decision(conn, runs["e"], n, "eligible", period="2026-12", day=dec, reasons=["RESIDENT_GHENT"],
                      at=t3 + dt.timedelta(hours=1))
        t4 = dt.datetime(2026, 1, 1, 5, tzinfo=UTC)
        runs["f"] = _run(conn, "f", scheme=IVAGO, period="2026", day=dt.date(2026, 1, 1), started=t4,
                         figures={**PASSED, "selected": 1, "opted_out": 0})
        d = _decision(conn, runs["f"], 1, "eligible", scheme=IVAGO, period="2026", day=dt.date(2026, 1, 1),
                      reasons=["RESIDENT_GHENT"], at=t4)
        _grant(conn, runs["f"], d, 1, scheme=IVAGO, period="2026", at=t4)
        conn.execute(insert(OptOut).values(insz=person(4), active=True,
                                           since=dt.datetime(2026, 11, 15, 9, tzinfo=UTC), channel="web"))
    return Ledger(runs, grants)


def insert_decision(engine: Engine, run_id: int, n: int, decision: str, *, reasons: list[str],
                    trace: list[dict[str, Any]]) -> int:
    """One more decision of person ``n`` in run ``run_id`` (October's UiTPAS run), with its own trace."""
    with engine.begin() as conn:
        return _decision(conn, run_id, n, decision, period="2026-10", day=dt.date(2026, 10, 1), reasons=reasons,
                         at=dt.datetime(2026, 10, 1, 4, tzinfo=UTC), trace=trace)
