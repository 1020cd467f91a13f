"""A month of LEZ Mondays through the real scheduler (issue 15, point 6): ``airflow backfill create`` over
2026-11-02 .. 2026-11-30 (five weekly runs, one at a time, in schedule order) on the session stack (api-server,
scheduler with LocalExecutor, dag-processor, triggerer, the MAGDA simulator, the PostgreSQL ledger).

What the ledger must show afterwards: every run succeeded; after the first Monday every holder the generator
expects has exactly one running exemption for the expected plate; the later Mondays grant, register (a ``grant``
outbox row is the MAGDA ``RegistreerLEZGegevens`` order) and tell ("toegekend", a ``notify`` row) nothing new, except
a renewal or a stop that is due, which is told once; no two exemptions of the same holder and plate overlap. Before
renewals (the grant key holds D + 5 years, which moves weekly), every Monday granted the five-year holders again.

The module runs after the other e2e modules (``e2e_after_others``): its exemptions run five years, so a LEZ run of
another module (the dashboard's, on the population's reference date) would find them running and grant nothing.
When that run came first, the first Monday finds its exemptions running: the checks hold either way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from tests.e2e.harness import AirflowStack, Population

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.e2e_after_others]

SCHEME = "lez-vrijstelling"
TZ = ZoneInfo("Europe/Brussels")
MONDAYS = tuple(dt.date(2026, 11, 2) + dt.timedelta(weeks=n) for n in range(5))
RUN_TIMEOUT = 180.0  # per run; the LEZ selection of the e2e population is a few dozen card holders
CHUNK_SIZE = 5000
"""One MAGDA chunk per run (the trigger param's maximum): four parallel chunk tasks on two cores only add time."""
BAD_INSZ = "00000000000"
"""Passes the trigger param's pattern but not the check digits: the run ``unpause`` absorbs fails at once."""


@dataclass(frozen=True)
class Monday:
    """One backfill run as the ledger recorded it, and what the LEZ scheme wrote while it ran."""

    day: dt.date
    run_id: str
    ledger_run: int
    started_at: dt.datetime
    finished_at: dt.datetime
    eligible: frozenset[str]
    not_eligible: frozenset[str]
    grants: tuple[Any, ...]
    """Grant rows this run made."""
    outbox: Counter[str]
    """Outbox rows (kind) on LEZ grants created while this run ran."""
    stops_per_grant: Counter[int]


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def _running_on(ledger: Engine, day: dt.date) -> list[Any]:
    """LEZ exemptions that hold on ``day`` (granted or delivered, not ended on or before it)."""
    return [g for g in _rows(ledger, "SELECT id, insz, grant_key, valid_from, valid_until, terms FROM benefit_grant "
                                     "WHERE scheme_id = :s AND status IN ('granted', 'delivered') "
                                     "AND valid_from <= :d AND (valid_until IS NULL OR valid_until >= :d)",
                             s=SCHEME, d=day)
            if not (g.terms or {}).get("revoke_from") or dt.date.fromisoformat(g.terms["revoke_from"]) > day]


def _wait_backfill(airflow: AirflowStack, dag_id: str, earlier: set[int], timeout: float) -> list[dict[str, Any]]:
    """The runs of the DAG's new backfill once Airflow marked it completed and every run is finished."""
    deadline = time.monotonic() + timeout
    while True:
        backfills = [b for b in _rows(airflow.db, "SELECT id, completed_at FROM backfill WHERE dag_id = :d",
                                      d=dag_id) if b.id not in earlier]
        assert len(backfills) == 1, backfills
        (backfill_id, completed_at), = backfills
        runs = [r for r in airflow.runs(dag_id) if r["backfill_id"] == backfill_id]
        if completed_at is not None and runs and all(r["state"] in ("success", "failed") for r in runs):
            return runs
        bad = [(r["run_id"], airflow.task_states(dag_id, r["run_id"])) for r in runs if r["state"] == "failed"]
        assert not bad, f"a backfill run failed: {bad}"
        assert time.monotonic() < deadline, (f"backfill not done after {timeout:.0f}s: "
                                             f"{[(r['run_id'], r['state']) for r in runs]}\n{airflow.log_tails()}")
        time.sleep(2)


@pytest.fixture(scope="module")
def before(airflow: AirflowStack, ledger: Engine) -> dict[str, Any]:
    """The LEZ state of the shared ledger before the month: exemptions running on its first Monday."""
    airflow.wait_for_dags([SCHEME], timeout=180)
    return {"running": _running_on(ledger, MONDAYS[0]),
            "backfills": {r[0] for r in _rows(airflow.db, "SELECT id FROM backfill WHERE dag_id = :d", d=SCHEME)}}


@pytest.fixture(scope="module")
def month(airflow: AirflowStack, ledger: Engine, before: dict[str, Any]) -> list[Monday]:
    """``airflow backfill create`` over the month's Mondays with one run at a time; the runs, in date order."""
    started = time.monotonic()
    airflow.unpause(SCHEME, absorb_due_run_conf={"insz": BAD_INSZ})  # Airflow 3 backfills need it unpaused
    try:
        made = airflow.cli("backfill", "create", "--dag-id", SCHEME, "--from-date", MONDAYS[0].isoformat(),
                           "--to-date", f"{MONDAYS[-1].isoformat()}T12:00:00+01:00", "--max-active-runs", "1",
                           "--dag-run-conf", json.dumps({"chunk_size": CHUNK_SIZE}))
        assert "Created backfill Dag run" in made.stdout + made.stderr, made.stdout + made.stderr
        runs = _wait_backfill(airflow, SCHEME, before["backfills"], timeout=len(MONDAYS) * RUN_TIMEOUT)
    finally:
        airflow.pause(SCHEME)
    mondays = [_monday(ledger, r) for r in sorted(runs, key=lambda r: r["logical_date"])]
    figures = [(m.day.isoformat(), len(m.eligible), len(m.grants), m.outbox["grant"], m.outbox["notify"],
                m.outbox["notify_renew"], m.outbox["notify_stop"]) for m in mondays]
    print(f"\nLEZ month backfill: {len(runs)} runs in {time.monotonic() - started:.0f}s; per Monday (eligible, "
          f"new grants, registrations, 'toegekend', renewal, stop): {figures}")
    return mondays


def _monday(ledger: Engine, run: dict[str, Any]) -> Monday:
    ((ledger_run, day, started_at, finished_at, status),) = _rows(
        ledger, "SELECT id, reference_date, started_at, finished_at, status FROM scheme_run WHERE external_id = :e",
        e=f"{SCHEME}/{run['run_id']}")
    assert status == "finished" and finished_at is not None, (run["run_id"], status)
    decided = _rows(ledger, "SELECT insz, decision FROM decision WHERE run_id = :r", r=ledger_run)
    outbox = _rows(ledger, "SELECT o.kind, o.grant_id FROM outbox o JOIN benefit_grant g ON g.id = o.grant_id "
                           "WHERE g.scheme_id = :s AND o.created_at BETWEEN :a AND :b", s=SCHEME, a=started_at,
                   b=finished_at)
    return Monday(day=day, run_id=run["run_id"], ledger_run=int(ledger_run), started_at=started_at,
                  finished_at=finished_at,
                  eligible=frozenset(i for i, d in decided if d == "eligible"),
                  not_eligible=frozenset(i for i, d in decided if d == "not_eligible"),
                  grants=tuple(_rows(ledger, "SELECT id, insz, grant_key, valid_from, valid_until, terms "
                                             "FROM benefit_grant WHERE run_id = :r", r=ledger_run)),
                  outbox=Counter(kind for kind, _ in outbox),
                  stops_per_grant=Counter(g for kind, g in outbox if kind == "notify_stop"))


def _exemption(grant: Any) -> tuple[str, str]:
    return grant.insz, str((grant.terms or {}).get("vehicle_plate"))


def _last_day(grant: Any) -> dt.date:
    """The last day an exemption holds: its end, or the day before it was ended early (``revoke_from``)."""
    revoke_from = (grant.terms or {}).get("revoke_from")
    end = grant.valid_until or dt.date.max
    return min(end, dt.date.fromisoformat(revoke_from) - dt.timedelta(days=1)) if revoke_from else end


def _shown(exemptions: Any) -> list[tuple[str, str]]:
    """Exemptions as an assertion may print them: the holder as a digest (no INSZ in test output), sorted."""
    return sorted((hashlib.sha256(insz.encode()).hexdigest()[:10], plate) for insz, plate in exemptions)


def _expected(population: Population) -> set[tuple[str, str]]:
    return {(row["subject_insz"], row["plate"]) for row in population.expected(SCHEME)
            if row["decision"] == "eligible"}


# -------------------------------------------------------------------------------------------------- tests


def test_the_backfill_runs_every_monday_of_the_month_once_in_schedule_order_and_each_succeeds(
        airflow: AirflowStack, month: list[Monday]) -> None:
    runs = {r["run_id"]: r for r in airflow.runs(SCHEME)}
    assert [m.day for m in month] == list(MONDAYS)
    for m in month:
        run = runs[m.run_id]
        assert run["state"] == "success" and run["run_type"] == "backfill", run
        assert run["logical_date"] == dt.datetime(m.day.year, m.day.month, m.day.day, 6, tzinfo=TZ)
        assert set(airflow.task_states(SCHEME, m.run_id).values()) <= {"success", "skipped"}
    for earlier, later in zip(month, month[1:], strict=False):  # one at a time: each Monday sees the last one's grants
        assert earlier.finished_at <= later.started_at


def test_after_the_first_monday_every_expected_holder_has_exactly_one_running_exemption(
        month: list[Monday], ledger: Engine, e2e_population: Population, before: dict[str, Any]) -> None:
    expected = _expected(e2e_population)
    assert len(expected) >= 3, "the population has too few LEZ holders to show anything"
    first = month[0]
    assert _shown((i, "") for i in first.eligible) == _shown({(i, "") for i, _ in expected}), \
        "the first Monday decides as the generator expects"
    running = [_exemption(g) for g in _running_on(ledger, first.day)]
    assert _shown(running) == _shown(expected), "one running exemption per expected holder, for the expected plate"
    already = {_exemption(g) for g in before["running"]}
    assert _shown(_exemption(g) for g in first.grants) == _shown(expected - already)
    new = len(expected - already)  # each new exemption: one MAGDA registration and one "toegekend"
    assert (first.outbox["grant"], first.outbox["notify"]) == (new, new), first.outbox


def _decided(ledger: Engine, m: Monday) -> dict[tuple[str, str], dt.date | None]:
    """The run's eligible decisions as (holder, plate) → the end date the decision gives."""
    rows = _rows(ledger, "SELECT insz, advice->'grant_terms'->>'vehicle_plate', advice->'grant_terms'->>'valid_until' "
                         "FROM decision WHERE run_id = :r AND decision = 'eligible'", r=m.ledger_run)
    return {(insz, str(plate)): dt.date.fromisoformat(until) if until else None for insz, plate, until in rows}


def _held_before(ledger: Engine, m: Monday) -> dict[tuple[str, str], dt.date | None]:
    """Exemptions granted before the run that still hold on its day or start later: (holder, plate) → latest end."""
    out: dict[tuple[str, str], dt.date | None] = {}
    for g in _rows(ledger, "SELECT insz, valid_until, terms FROM benefit_grant WHERE scheme_id = :s "
                           "AND status IN ('granted', 'delivered') AND granted_at < :t "
                           "AND (valid_until IS NULL OR valid_until >= :d)", s=SCHEME, t=m.started_at, d=m.day):
        if (g.terms or {}).get("revoke_from") and dt.date.fromisoformat(g.terms["revoke_from"]) <= m.day:
            continue
        key = _exemption(g)
        out[key] = None if g.valid_until is None or (key in out and out[key] is None) else \
            max(g.valid_until, out.get(key) or g.valid_until)
    return out


def test_later_mondays_grant_register_and_tell_nothing_new_unless_a_renewal_or_stop_is_due(
        month: list[Monday], ledger: Engine) -> None:
    from proactief.schemes import load_scheme

    scheme = load_scheme(SCHEME)
    for m in month[1:]:
        window = int(scheme.parameter("verlengen_dagen_voor_einde", m.day))  # type: ignore[arg-type]
        held, decided = _held_before(ledger, m), _decided(ledger, m)
        # the rule, stated independently: a running exemption is renewed once its end is within the window and the
        # holder's decision on D runs later; it stops when the holder is no longer eligible for it on D
        renewals_due = {k for k, end in held.items() if end is not None and (end - m.day).days <= window
                        and k in decided and decided[k] is not None and decided[k] > end}
        holders = {insz for insz, _ in decided}  # eligible, for this plate or (moved) another one
        stops_due = {k for k in held if k[0] in m.not_eligible or (k[0] in holders and k not in decided)}
        new_holders = set(decided) - set(held)
        made = [_exemption(g) for g in m.grants]
        told = (f"{m.day}: {len(made)} new grants, {m.outbox['grant']} MAGDA LEZ registrations, "
                f"{m.outbox['notify']} 'toegekend', {m.outbox['notify_renew']} renewal and "
                f"{m.outbox['notify_stop']} stop messages; due: {len(new_holders)} new, {len(renewals_due)} "
                f"renewals, {len(stops_due)} stops")
        assert _shown(made) == _shown(new_holders | renewals_due), told
        assert m.outbox["grant"] == len(made), told  # one MAGDA LEZ registration per new grant or renewal
        assert m.outbox["notify"] == len(new_holders), told  # no second "toegekend" for a running exemption
        renewed = [g for g in m.grants if (g.terms or {}).get("renews")]
        assert _shown(_exemption(g) for g in renewed) == _shown(renewals_due), told
        assert m.outbox["notify_renew"] == len(renewals_due), told
        assert m.outbox["notify_stop"] == len(stops_due) and max(m.stops_per_grant.values(), default=0) <= 1, told


def test_no_grant_key_twice_and_no_two_exemptions_of_a_holder_and_plate_overlap(
        month: list[Monday], ledger: Engine) -> None:
    assert not _rows(ledger, "SELECT grant_key FROM benefit_grant WHERE scheme_id = :s GROUP BY grant_key "
                             "HAVING count(*) > 1", s=SCHEME)
    grants = _rows(ledger, "SELECT id, insz, grant_key, valid_from, valid_until, terms FROM benefit_grant "
                           "WHERE scheme_id = :s AND status <> 'cancelled' ORDER BY valid_from, id", s=SCHEME)
    by_exemption: dict[tuple[str, str], list[Any]] = {}
    for g in grants:
        by_exemption.setdefault(_exemption(g), []).append(g)
    overlapping = [k for k, gs in by_exemption.items()
                   if any(b.valid_from <= _last_day(a) for a, b in zip(gs, gs[1:], strict=False))]
    assert len(overlapping) == 0, "holders hold two exemptions for the same plate at once"
    toegekend = _rows(ledger, "SELECT g.insz, g.terms FROM outbox o JOIN benefit_grant g ON g.id = o.grant_id "
                              "WHERE g.scheme_id = :s AND o.kind = 'notify'", s=SCHEME)
    told = Counter((insz, str((terms or {}).get("vehicle_plate"))) for insz, terms in toegekend)
    assert max(told.values(), default=0) == 1, "a 'toegekend' at most once per exemption"
