"""A real distributed run: the UiTPAS kansentarief DAG on a CeleryExecutor stack (Redis broker, results in the
PostgreSQL metadata database, two ``airflow celery worker`` processes) decides and grants exactly what the same run
on a LocalExecutor stack does, and both workers really ran tasks.

Both stacks are this module's own (the session ``airflow`` stack and ``e2e_ledger`` are left to the UiTPAS lifecycle
test, which counts every grant in its ledger): two fresh ledgers with the same city-data import and the same
opt-out register, the same MAGDA simulator, the same logical date and trigger conf. They start and run side by
side. Each worker runs one task at a time, so whenever two tasks are queued at once (the mapped ``magda.query_chunk``
tasks: ``chunk_size`` 500 makes eight of them) the second one goes to the other worker. Which worker ran a task is
read from the Celery result backend (``celery_taskmeta.worker``), not from ``task_instance.hostname``: both workers
run on this machine, so the latter is the same for both.

See docs/scaling-workers.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from tests.e2e.harness import (
    REPO,
    AirflowStack,
    CeleryWorker,
    Population,
    Service,
    SmtpSink,
    airflow_stack,
    city_ledger,
    redis_database,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCHEME = "uitpas-kansentarief"
"""The scheme whose reference date is the extract's month: its grants equal the generator's expectations exactly."""
CHUNK_SIZE = 500
RUN_TIMEOUT = 420.0
TZ = ZoneInfo("Europe/Brussels")
BAD_INSZ = "00000000000"
"""Conf of the run that absorbs the tick due at unpause: passes the param pattern, fails ``open_run`` at once."""
OPT_OUTS = 3
"""Expected-eligible persons who object before the run (same register in both ledgers): never decided or granted."""
OPT_OUT_AT = dt.datetime(2026, 10, 15, 9, 30, tzinfo=TZ)

T = TypeVar("T")


def _in_parallel(*calls: Callable[[], T]) -> list[T]:
    """Run the calls side by side (two stacks at once); the first exception is raised after all have ended."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [f.result() for f in futures]


@contextlib.contextmanager
def _ledger(population: Population) -> Iterator[Engine]:
    """A fresh, migrated ledger with the population's city data (what ``e2e_ledger`` holds), dropped on exit."""
    from proactief.ledger import make_engine

    with city_ledger(population.folder, "proactief_celery_e2e") as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class Side:
    """One stack's run: the stack, its ledger, the Airflow run id and the ledger's scheme_run id."""

    stack: AirflowStack
    ledger: Engine
    run_id: str
    ledger_run: int = 0

    def decisions(self) -> list[tuple[Any, ...]]:
        rows = _rows(self.ledger, "SELECT insz, decision, tier, amount, reasons, period, reference_date, "
                                  "rule_version FROM decision WHERE run_id = :r ORDER BY insz", r=self.ledger_run)
        return [(*r[:4], _json(r[4]), *r[5:]) for r in rows]

    def grants(self) -> list[tuple[Any, ...]]:
        rows = _rows(self.ledger, "SELECT grant_key, insz, period, system, tier, amount, valid_from, valid_until, "
                                  "terms, status FROM benefit_grant WHERE scheme_id = :s ORDER BY grant_key", s=SCHEME)
        return [(*r[:8], _json(r[8]), r[9]) for r in rows]

    def outbox(self) -> dict[tuple[str, str, str], int]:
        rows = _rows(self.ledger, "SELECT o.kind, o.channel, o.status, count(*) FROM outbox o "
                                  "JOIN benefit_grant g ON g.id = o.grant_id WHERE g.scheme_id = :s "
                                  "GROUP BY o.kind, o.channel, o.status", s=SCHEME)
        return {(k, c, st): int(n) for k, c, st, n in rows}

    def opt_outs(self) -> list[tuple[Any, ...]]:
        return _rows(self.ledger, "SELECT insz, active, since, channel FROM opt_out ORDER BY insz")


@dataclass
class Runs:
    local: Side
    celery: Side
    workers: tuple[CeleryWorker, ...]
    opted_out: set[str] = field(repr=False)  # INSZ: kept out of failure reports
    seconds: float = 0.0


def _assert_same(what: str, local: list[tuple[Any, ...]], celery: list[tuple[Any, ...]]) -> None:
    """The two lists hold the same rows; a failure says how many differ, never which person."""
    def bag(rows: list[tuple[Any, ...]]) -> Counter[str]:
        return Counter(json.dumps(r, default=str, sort_keys=True) for r in rows)

    only_local, only_celery = bag(local) - bag(celery), bag(celery) - bag(local)
    assert not only_local and not only_celery, (
        f"{what}: {sum(only_local.values())} rows only under the LocalExecutor, {sum(only_celery.values())} only "
        f"under the CeleryExecutor (of {len(local)} and {len(celery)})")


def _expected_eligible(population: Population) -> set[str]:
    return {r["subject_insz"] for r in population.expected(SCHEME) if r["decision"] == "eligible"}


def _start_run(stack: AirflowStack, day: dt.date) -> str:
    """Trigger the run for ``day`` while the DAG is paused, then unpause it (the tick due now is absorbed by a run
    that fails at once, as in the UiTPAS lifecycle test)."""
    run_id = stack.trigger(SCHEME, dt.datetime(day.year, day.month, day.day, 6, tzinfo=TZ),
                           conf={"chunk_size": CHUNK_SIZE})
    stack.unpause(SCHEME, absorb_due_run_conf={"insz": BAD_INSZ})
    return run_id


def _finish(side: Side) -> Side:
    state = side.stack.wait_for_run(SCHEME, side.run_id, RUN_TIMEOUT)
    assert state == "success", (side.stack.executor, state, side.stack.task_states(SCHEME, side.run_id))
    found = _rows(side.ledger, "SELECT id FROM scheme_run WHERE external_id = :e", e=f"{SCHEME}/{side.run_id}")
    assert found, f"no ledger run for {side.run_id}"
    side.ledger_run = int(found[0][0])
    return side


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, e2e_population: Population, magda_sim: Service,
         smtp_sink: SmtpSink) -> Iterator[Runs]:
    """The same run on a LocalExecutor stack and on a CeleryExecutor stack with two workers, side by side."""
    from proactief.lifecycle.optout import record_objection

    token = uuid.uuid4().hex[:6]
    workers = (CeleryWorker(f"proactief-a-{token}", concurrency=1),
               CeleryWorker(f"proactief-b-{token}", concurrency=1))
    opted_out = set(sorted(_expected_eligible(e2e_population))[::97][:OPT_OUTS])
    day = dt.date.fromisoformat(e2e_population.reference_date(SCHEME))
    with contextlib.ExitStack() as stack:
        local_ledger = stack.enter_context(_ledger(e2e_population))
        celery_ledger = stack.enter_context(_ledger(e2e_population))
        for engine in (local_ledger, celery_ledger):
            for insz in sorted(opted_out):
                record_objection(engine, insz, channel="web", at=OPT_OUT_AT, recorded_by="e2e")
        broker = stack.enter_context(redis_database())

        def env(ledger: Engine) -> dict[str, str]:
            return {"PROACTIEF_DB_URL": ledger.url.render_as_string(hide_password=False),
                    "PROACTIEF_MAGDA_BASE_URL": magda_sim.url,
                    "PROACTIEF_ALERT_EMAIL": "operators@proactief.test"}

        local_cm = airflow_stack(tmp_path_factory.mktemp("airflow_local"), extra_env=env(local_ledger),
                                 smtp=smtp_sink, dags_folder=REPO / "dags")
        celery_cm = airflow_stack(tmp_path_factory.mktemp("airflow_celery"), extra_env=env(celery_ledger),
                                  smtp=smtp_sink, dags_folder=REPO / "dags", executor="CeleryExecutor",
                                  broker_url=broker, workers=workers)
        local, celery = _in_parallel(lambda: stack.enter_context(local_cm), lambda: stack.enter_context(celery_cm))
        _in_parallel(lambda: local.wait_for_dags([SCHEME], timeout=180),
                     lambda: celery.wait_for_dags([SCHEME], timeout=180))
        started = dt.datetime.now(dt.UTC)
        sides = (Side(local, local_ledger, _start_run(local, day)),
                 Side(celery, celery_ledger, _start_run(celery, day)))
        _in_parallel(*(lambda s=s: _finish(s) for s in sides))
        seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
        yield Runs(sides[0], sides[1], workers, opted_out, seconds)


# -------------------------------------------------------------------------------------------------- tests


def test_the_celery_run_is_executed_by_both_workers(runs: Runs) -> None:
    celery = runs.celery
    assert celery.stack.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert runs.local.stack.env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    states = celery.stack.task_states(SCHEME, celery.run_id)
    assert states.pop("decision_quality.approve") == "skipped"  # no jump: no human approval asked
    assert set(states.values()) == {"success"}, states
    chunks = [key for key in states if key.startswith("magda.query_chunk[")]
    assert len(chunks) == math.ceil(len(celery.decisions()) / CHUNK_SIZE) >= 4, chunks  # one per chunk selected
    # every task that ran went through the broker to one of the two workers, and each worker ran some
    ran_by = {key: worker for key, worker in celery.stack.task_workers(SCHEME, celery.run_id).items()
              if key in states}
    print(f"tasks per worker: {Counter(ran_by.values())}; chunks: {Counter(ran_by[k] for k in chunks)}")  # noqa: T201
    # (an EmptyOperator never reaches an executor: the scheduler marks it done itself)
    assert [key for key, worker in ran_by.items() if worker is None] == ["decision_quality.no_approval_needed"]
    names = {w.node_name for w in runs.workers}
    assert set(ran_by.values()) - {None} == names, Counter(ran_by.values())
    assert {ran_by[key] for key in chunks} == names, {key: ran_by[key] for key in chunks}
    # and the LocalExecutor run ran the same tasks without any of that
    assert runs.local.stack.task_states(SCHEME, runs.local.run_id).keys() == {*states, "decision_quality.approve"}


def test_celery_and_local_executor_decide_grant_and_queue_the_same(runs: Runs) -> None:
    local, celery = runs.local, runs.celery
    assert local.opt_outs() == celery.opt_outs() and len(local.opt_outs()) == OPT_OUTS  # identical inputs
    decisions = celery.decisions()
    assert len(decisions) > 3000 and {d[1] for d in decisions} >= {"eligible", "not_eligible"}
    _assert_same("decisions", local.decisions(), decisions)
    grants = celery.grants()
    assert len(grants) > 500
    _assert_same("grants", local.grants(), grants)
    outbox = celery.outbox()
    assert {kind for kind, _, _ in outbox} == {"grant", "notify"}, outbox
    assert outbox == local.outbox()


def test_the_grants_are_the_expected_entitlements_minus_the_opt_outs(runs: Runs, e2e_population: Population) -> None:
    assert runs.opted_out <= _expected_eligible(e2e_population) and len(runs.opted_out) == OPT_OUTS
    # the generator's entitlement per person: tier, amount, end of validity (as compare_with_expected reads them)
    want = {r["subject_insz"]: (r["tier"] or None, Decimal(r["amount"]) if r["amount"] else None,
                                r["valid_until"] or None)
            for r in e2e_population.expected(SCHEME)
            if r["decision"] == "eligible" and r["subject_insz"] not in runs.opted_out}
    for side in (runs.celery, runs.local):
        grants = side.grants()
        got = {g[1]: (g[4], g[5], g[7].isoformat() if g[7] else None) for g in grants}
        assert len(got) == len(grants)  # one grant per person
        wrong = {insz for insz in want.keys() | got.keys() if want.get(insz) != got.get(insz)}
        assert not wrong, (f"{side.stack.executor}: {len(wrong)} of {len(got)} grants differ from the "
                           f"{len(want)} expected entitlements")
        decided = {d[0] for d in side.decisions()}
        assert not decided & runs.opted_out  # an opted-out person is not even queried

