"""The UiTPAS kansentarief scheme DAG run for real (scheduler, LocalExecutor, api-server, PostgreSQL, MAGDA
simulator): its grants match the generator's expected entitlements, and re-runs, clears, a backfill and a SIGKILL
of the grant task add nothing; no task log carries an INSZ; a failing task e-mails the operators.

The tests share one Airflow stack and one ledger and run in file order: later tests build on the full run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from tests.e2e.harness import AirflowStack, Population, SmtpSink, message_text

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCHEME = "uitpas-kansentarief"
RUN_TIMEOUT = 420.0
GRANT_BATCH = 500  # proactief.lifecycle.runs._BATCH: grants are committed per batch of this many subjects
GRANT_TASK = "grant.grant"
NOTIFY_TASK = "notify.notify"
OPEN_TASK = "select.open_run"
TZ = ZoneInfo("Europe/Brussels")  # the scheme's schedule: 06:00 local on the 1st, the logical date is that moment
INSZ_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")
BAD_INSZ = "00000000000"
"""Passes the trigger param's pattern but not the check digits: ``open_run`` refuses it, the run fails at once."""


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def dag_id(airflow: AirflowStack) -> str:
    """The scheme's DAG (the factory names it after the scheme id), parsed by the dag-processor."""
    airflow.wait_for_dags([SCHEME], timeout=180)
    return SCHEME


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _grants(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT grant_key, insz, period, run_id FROM benefit_grant "
                                      "WHERE scheme_id = :s"), {"s": SCHEME}).all())


def _outbox_count(engine: Engine) -> int:
    return int(_scalar(engine, "SELECT count(*) FROM outbox o JOIN benefit_grant g ON g.id = o.grant_id "
                               "WHERE g.scheme_id = :s", s=SCHEME))


def _ledger_run(engine: Engine, dag_id: str, run_id: str, timeout: float = 120) -> int:
    """The ledger's scheme run for an Airflow run (``external_id`` = ``<dag_id>/<run_id>``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = _scalar(engine, "SELECT id FROM scheme_run WHERE external_id = :e", e=f"{dag_id}/{run_id}")
        if found is not None:
            return int(found)
        if time.monotonic() > deadline:
            raise AssertionError(f"no scheme_run for {dag_id}/{run_id} after {timeout:.0f}s")
        time.sleep(0.2)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _assert_success(airflow: AirflowStack, dag_id: str, run_id: str, tolerate: tuple[str, ...] = ()) -> None:
    state = airflow.wait_for_run(dag_id, run_id, RUN_TIMEOUT, tolerate=tolerate)
    assert state == "success", (state, airflow.task_states(dag_id, run_id))


def _assert_keys_unique(engine: Engine) -> None:
    dupes = _scalar(engine, "SELECT count(*) FROM (SELECT grant_key FROM benefit_grant WHERE scheme_id = :s "
                            "GROUP BY grant_key HAVING count(*) > 1) d", s=SCHEME)
    assert dupes == 0
    dupes = _scalar(engine, "SELECT count(*) FROM (SELECT grant_id, kind, channel FROM outbox "
                            "GROUP BY grant_id, kind, channel HAVING count(*) > 1) d")
    assert dupes == 0


def _activate(airflow: AirflowStack, dag_id: str) -> None:
    """Unpause; the run the scheduler would add for the current month's tick fails at once and changes nothing."""
    airflow.unpause(dag_id, absorb_due_run_conf={"insz": BAD_INSZ})


def _due(day: dt.date, hour: int = 6) -> dt.datetime:
    """The moment a run for ``day`` is due (as the scheduler would set it): ``hour``:00 in Ghent."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


@pytest.fixture(scope="module")
def full_run(airflow: AirflowStack, dag_id: str, e2e_population: Population) -> str:
    """The run of the population's reference date (first of the month of ``as_of``): Airflow run id.

    Triggered while the DAG is still paused, then unpaused: runs of a paused DAG are not scheduled."""
    day = dt.date.fromisoformat(e2e_population.reference_date(SCHEME))
    run_id = airflow.trigger(dag_id, _due(day))
    _activate(airflow, dag_id)
    _assert_success(airflow, dag_id, run_id)
    return run_id


# -------------------------------------------------------------------------------------------------- tests


def test_full_run_grants_exactly_the_expected_entitlements(
        airflow: AirflowStack, dag_id: str, full_run: str, ledger: Engine, e2e_population: Population) -> None:
    expected = {row["subject_insz"] for row in e2e_population.expected(SCHEME) if row["decision"] == "eligible"}
    grants = _grants(ledger)
    granted = [g.insz for g in grants]
    assert len(expected) > GRANT_BATCH  # the population is big enough for the SIGKILL test's mid-grant kill
    assert len(granted) == len(set(granted))
    assert set(granted) == expected
    run = _ledger_run(ledger, dag_id, full_run)
    decided = _scalar(ledger, "SELECT count(*) FROM decision WHERE run_id = :r AND decision = 'eligible'", r=run)
    assert decided == len(expected)
    # every grant has its downstream action queued, and every granted person a notification
    for kind in ("grant", "notify"):
        assert _scalar(ledger, "SELECT count(DISTINCT o.grant_id) FROM outbox o JOIN benefit_grant g ON g.id = "
                               "o.grant_id WHERE o.kind = :k AND g.scheme_id = :s", k=kind, s=SCHEME) == len(expected)
    states = airflow.task_states(dag_id, full_run)
    assert states.pop("decision_quality.approve") == "skipped"  # no jump: no human approval asked
    assert set(states.values()) == {"success"}, states


def test_a_second_run_of_the_same_logical_date_and_cleared_grant_and_notify_tasks_add_nothing(
        airflow: AirflowStack, dag_id: str, full_run: str, ledger: Engine, e2e_population: Population) -> None:
    grants_before, outbox_before = sorted(_grants(ledger)), _outbox_count(ledger)
    day = dt.date.fromisoformat(e2e_population.reference_date(SCHEME))
    # Airflow keeps one run per logical date: a second run of the same day has another time of that day
    rerun = airflow.trigger(dag_id, _due(day, hour=9))
    _assert_success(airflow, dag_id, rerun)
    assert sorted(_grants(ledger)) == grants_before
    assert _outbox_count(ledger) == outbox_before
    rerun_ledger = _ledger_run(ledger, dag_id, rerun)
    figures = _scalar(ledger, "SELECT figures FROM scheme_run WHERE id = :r", r=rerun_ledger)
    figures = figures if isinstance(figures, dict) else json.loads(figures)
    assert figures["grant"]["granted"] == 0
    assert figures["grant"]["already_granted"] == len(grants_before)

    cleared = airflow.clear(dag_id, full_run, f"^({re.escape(GRANT_TASK)}|{re.escape(NOTIFY_TASK)})$")
    assert cleared == [GRANT_TASK, NOTIFY_TASK]
    _assert_success(airflow, dag_id, full_run)
    for task_id in cleared:  # both ran again, successfully
        assert [t["state"] for t in airflow.tries(dag_id, full_run, task_id)] == ["success", "success"]
    assert sorted(_grants(ledger)) == grants_before
    assert _outbox_count(ledger) == outbox_before
    _assert_keys_unique(ledger)


def test_a_three_month_backfill_completes_with_each_grant_key_at_most_once(
        airflow: AirflowStack, dag_id: str, full_run: str, ledger: Engine, e2e_population: Population) -> None:
    day = dt.date.fromisoformat(e2e_population.reference_date(SCHEME))
    months = [_add_months(day, -3), _add_months(day, -2), _add_months(day, -1)]
    # the window is inclusive and in UTC; the runs are due at 06:00 Ghent time on each 1st
    runs = airflow.backfill(dag_id, _due(months[0], hour=0), _due(months[-1], hour=12), timeout=3 * RUN_TIMEOUT)
    assert len(runs) == 3, runs
    assert all(r["state"] == "success" for r in runs), [(r["run_id"], r["state"]) for r in runs]
    assert sorted(r["logical_date"].astimezone(TZ).date() for r in runs) == months
    for r in runs:
        assert _ledger_run(ledger, dag_id, r["run_id"]) > 0
    _assert_keys_unique(ledger)
    # a person granted in the reference month is not granted again for earlier months of the same year
    per_person_year = _scalar(ledger, "SELECT max(c) FROM (SELECT count(*) AS c FROM benefit_grant "
                                      "WHERE scheme_id = :s GROUP BY insz, substr(period, 1, 4)) x", s=SCHEME)
    assert per_person_year == 1


@contextlib.contextmanager
def _hold_grant_key(engine: Engine, run_id: int, position: int) -> Iterator[int]:
    """Insert, without committing, the grant of the run's eligible decision at ``position`` (by id): the grant
    task's ``INSERT … ON CONFLICT DO NOTHING`` for that key then waits on this transaction, so the batches
    before it are committed and the one holding it is not. Rolled back on exit."""
    conn = engine.connect()
    trans = conn.begin()
    try:
        row = conn.execute(text(
            "SELECT id, insz, period, advice FROM decision WHERE run_id = :r AND decision = 'eligible' "
            "ORDER BY id OFFSET :p LIMIT 1"), {"r": run_id, "p": position}).one()
        advice = row.advice if isinstance(row.advice, dict) else json.loads(row.advice)
        conn.execute(text(
            "INSERT INTO benefit_grant (scheme_id, grant_key, insz, period, run_id, decision_id, system, valid_from, "
            "terms, status, granted_at, retain_until) VALUES (:s, :k, :i, :p, :r, :d, 'uitpas', current_date, "
            "'{}', 'granted', now(), current_date)"),
            {"s": SCHEME, "k": advice["grant_key"], "i": row.insz, "p": row.period, "r": run_id, "d": row.id})
        yield int(row.id)
    finally:
        trans.rollback()
        conn.close()


def test_a_killed_grant_task_is_retried_and_grants_each_eligible_subject_exactly_once(
        airflow: AirflowStack, dag_id: str, full_run: str, ledger: Engine) -> None:
    # A year no other test touches (the grant key is per person per year), so the whole grant step is new work.
    run_id = airflow.trigger(dag_id, _due(dt.date(2025, 11, 1)))
    ledger_run = _ledger_run(ledger, dag_id, run_id, timeout=RUN_TIMEOUT)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not _scalar(ledger, "SELECT count(*) FROM decision WHERE run_id = :r", r=ledger_run):
        assert airflow.run_state(dag_id, run_id) not in ("success", "failed"), airflow.task_states(dag_id, run_id)
        assert time.monotonic() < deadline, "no decisions within the timeout"
        time.sleep(0.2)
    eligible = int(_scalar(ledger, "SELECT count(*) FROM decision WHERE run_id = :r AND decision = 'eligible'",
                           r=ledger_run))
    assert eligible > GRANT_BATCH, f"only {eligible} eligible: enlarge PROACTIEF_E2E_SIZE"
    with _hold_grant_key(ledger, ledger_run, eligible - 1):
        while _scalar(ledger, "SELECT count(*) FROM benefit_grant WHERE run_id = :r", r=ledger_run) < GRANT_BATCH:
            assert time.monotonic() < deadline, airflow.task_states(dag_id, run_id)
            time.sleep(0.2)
        time.sleep(0.5)
        written = int(_scalar(ledger, "SELECT count(*) FROM benefit_grant WHERE run_id = :r", r=ledger_run))
        assert GRANT_BATCH <= written < eligible  # some but not all grants are committed, the task is waiting
        assert airflow.task_states(dag_id, run_id)[GRANT_TASK] == "running"
        airflow.kill_task(dag_id, run_id, GRANT_TASK)
        airflow.expedite_retry(dag_id, run_id, GRANT_TASK)  # the DAG's retry_delay is minutes
    _assert_success(airflow, dag_id, run_id, tolerate=(GRANT_TASK,))
    tries = airflow.tries(dag_id, run_id, GRANT_TASK)
    assert [t["state"] for t in tries][:1] == ["failed"] and tries[-1]["state"] == "success", tries
    granted = _scalar(ledger, "SELECT count(*) FROM benefit_grant WHERE run_id = :r", r=ledger_run)
    assert granted == eligible
    missing = _scalar(ledger, "SELECT count(*) FROM decision d WHERE d.run_id = :r AND d.decision = 'eligible' "
                              "AND NOT EXISTS (SELECT 1 FROM benefit_grant g WHERE g.decision_id = d.id)", r=ledger_run)
    assert missing == 0
    assert _scalar(ledger, "SELECT count(*) FROM outbox o JOIN benefit_grant g ON g.id = o.grant_id "
                           "WHERE g.run_id = :r AND o.kind = 'grant'", r=ledger_run) == eligible
    _assert_keys_unique(ledger)


def test_no_log_or_xcom_contains_an_insz(airflow: AirflowStack, full_run: str,
                                              e2e_population: Population) -> None:
    population = e2e_population.insz_set()
    logs = airflow.task_logs_text()
    assert len(airflow.task_log_files()) > 10 and "grant" in logs
    leaked = {m for m in INSZ_LIKE.findall(logs) if m in population}
    assert not leaked, f"{len(leaked)} INSZ of the population appear in task logs"
    everything = airflow.all_logs_text()  # plus scheduler, dag-processor, api-server and triggerer
    assert not {m for m in INSZ_LIKE.findall(everything) if m in population}, "an INSZ is in a service log"
    with airflow.db.connect() as conn:
        xcom = "\n".join(str(v) for v in conn.execute(text("SELECT value FROM xcom")).scalars())
    assert xcom
    assert not {m for m in INSZ_LIKE.findall(xcom) if m in population}, "an INSZ was pushed to XCom"


def test_a_failing_task_emails_the_operators_naming_dag_and_task(
        airflow: AirflowStack, dag_id: str, smtp_sink: SmtpSink) -> None:
    # An INSZ with wrong check digits: open_run refuses it (naming its position, not its value) and the task
    # fails without retrying (AirflowFailException), so the failure callback mails at once.
    run_id = airflow.trigger(dag_id, _due(dt.date(2026, 6, 1)), conf={"insz": BAD_INSZ})
    _activate(airflow, dag_id)
    assert airflow.wait_for_run(dag_id, run_id, RUN_TIMEOUT, fail_fast=False) == "failed"
    assert airflow.task_states(dag_id, run_id)[OPEN_TASK] == "failed"
    msg = smtp_sink.wait_for(lambda m: run_id in str(m.get("Subject", "")), timeout=60)
    body = message_text(msg)
    assert dag_id in str(msg["Subject"]) and OPEN_TASK in str(msg["Subject"])
    assert "ValueError" in body or "INSZ" in body
    assert BAD_INSZ not in body
    assert msg["To"] and "operators@proactief.test" in str(msg["To"])
