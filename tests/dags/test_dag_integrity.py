"""DAG integrity and policy: every DAG file imports, every scheme has its DAG with the schedule the issue asks for,
and every task carries what operations rely on (owner, retries, failure e-mail, an existing pool); DAG files stay
light (no heavy top-level imports; their parse time is a benchmark, benchmarks/bench_dag_parse.py) and trigger
params are validated.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import subprocess
import sys
import textwrap
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from airflow.sdk import DAG, CronTriggerTimetable, TriggerRule
from airflow.sdk.exceptions import ParamValidationError
from proactief_airflow.alerts import OperatorFailureNotifier
from proactief_airflow.factory import (
    DEADLINES,
    MAGDA_POOL,
    OWNER_CONTACT_CENTRE,
    OWNER_PRIVACY,
    OWNER_TEAM,
    SERVICE_START_DATE,
)

from proactief.schemes import load_scheme, scheme_ids
from tests.dags.airflow_env import DAGS, airflow_env, pool_names

OTHER_DAGS = {"population_sync", "opt_out_intake", "magda_mutations", "reevaluate_mutations", "retention",
              "outbox_dispatch"}
EXPECTED_SCHEDULES = {  # the issue: UiTPAS monthly, IVAGO yearly on 1 January, onderwijskorting 1 September, LEZ weekly
    "uitpas-kansentarief": "0 6 1 * *",
    "ivago-tegemoetkoming": "0 6 1 1 *",
    "onderwijskorting": "0 6 1 9 *",
    "lez-vrijstelling": "0 6 * * 1",
}
HEAVY = ("sqlalchemy", "great_expectations", "lxml", "pandas", "proactief.lifecycle", "proactief.magda",
         "proactief.advice", "proactief.ledger")


def all_dags(dagbag: Any) -> list[DAG]:
    return list(dagbag.dags.values())


def scheme_dags(dagbag: Any) -> list[DAG]:
    return [dagbag.dags[s] for s in scheme_ids()]


def test_every_dag_file_imports_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == set(scheme_ids()) | OTHER_DAGS


def test_one_dag_per_scheme_definition_named_by_the_scheme_id(dagbag: Any) -> None:
    ids = scheme_ids()
    assert set(ids) == set(EXPECTED_SCHEDULES)
    for scheme_id in ids:
        dag = dagbag.dags[scheme_id]
        scheme = load_scheme(scheme_id)
        assert dag.description == scheme.title
        assert scheme.doc.strip().splitlines()[0] in dag.doc_md
        assert all(lb.citation.split()[0] in dag.doc_md for lb in scheme.legal_basis)
        assert "metadata" in dag.doc_md  # the trade-off of INSZ in trigger params is spelled out


def test_every_dag_has_tags_and_every_task_an_owner(dagbag: Any) -> None:
    for dag in all_dags(dagbag):
        assert dag.tags and "proactief" in dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", (dag.dag_id, t.task_id)
    for scheme_id in scheme_ids():
        owner = load_scheme(scheme_id).owner.department
        assert {t.owner for t in dagbag.dags[scheme_id].tasks} == {owner}


def test_service_dags_take_their_owner_and_start_date_from_the_factory(dagbag: Any) -> None:
    """One place for the owner strings and the start date: a DAG file names the constant, never the value."""
    for dag_id in OTHER_DAGS:
        dag = dagbag.dags[dag_id]
        assert dag.start_date == SERVICE_START_DATE, dag_id
        assert {t.owner for t in dag.tasks} <= {OWNER_TEAM, OWNER_CONTACT_CENTRE, OWNER_PRIVACY}, dag_id
    for path in DAGS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "Stad Gent" not in source, path.name
        assert "dt.datetime(" not in source and "datetime(20" not in source, path.name


def test_every_task_retries_and_emails_the_operators_on_failure(dagbag: Any) -> None:
    for dag in all_dags(dagbag):
        for t in dag.tasks:
            assert t.retries >= 1, (dag.dag_id, t.task_id)
            callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
            assert any(isinstance(c, OperatorFailureNotifier) for c in callbacks), (dag.dag_id, t.task_id)


def test_every_pool_a_task_names_exists_in_the_pools_file(dagbag: Any) -> None:
    known = pool_names() | {"default_pool"}
    for dag in all_dags(dagbag):
        for t in dag.tasks:
            assert t.pool in known, (dag.dag_id, t.task_id, t.pool)
    pools = json.loads((DAGS.parent / "airflow" / "pools.json").read_text())
    assert pools[MAGDA_POOL]["slots"] >= 1 and "description" in pools[MAGDA_POOL]


def test_magda_queries_are_mapped_over_chunks_and_throttled_by_the_pool(dagbag: Any) -> None:
    for dag in scheme_dags(dagbag):
        query = dag.get_task("magda.query_chunk")
        assert query.is_mapped if hasattr(query, "is_mapped") else type(query).__name__ == "MappedOperator"
        assert query.pool == MAGDA_POOL and query.pool_slots == 1
        assert "select.select_population" in query.upstream_task_ids


def test_scheme_dags_follow_the_lifecycle_with_an_approval_gate_before_grant(dagbag: Any) -> None:
    order = ["select.open_run", "select.select_population", "population_quality.check_population",
             "magda.query_chunk", "magda_quality.check_magda_results", "advice.decide",
             "decision_quality.check_decisions", "decision_quality.gate", "grant.grant",
             "reconciliation.check_reconciliation", "notify.notify", "report.finish_run"]
    for dag in scheme_dags(dagbag):
        for before, after in zip(order, order[1:], strict=False):
            if after == "grant.grant":
                continue
            assert before in dag.get_task(after).upstream_task_ids, (dag.dag_id, before, after)
        gate = dag.get_task("decision_quality.gate")
        assert gate.downstream_task_ids == {"decision_quality.approve", "decision_quality.no_approval_needed"}
        grant = dag.get_task("grant.grant")
        assert {"decision_quality.approve", "decision_quality.no_approval_needed"} <= grant.upstream_task_ids
        # approved or not needed → grant runs; rejected → the ApprovalOperator skips grant (and so the rest)
        assert grant.trigger_rule == TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
        approve = dag.get_task("decision_quality.approve")
        assert type(approve).__name__ == "ApprovalOperator"
        # the wait is announced by e-mail (operators and scheme owner), not first noticed at the deadline
        assert [type(n).__name__ for n in approve.notifiers] == ["ApprovalRequestNotifier"]
        # a run that selects nobody skips the mapped query but is still checked and decided
        assert dag.get_task("magda_quality.check_magda_results").trigger_rule == TriggerRule.NONE_FAILED


def test_schedules_catchup_and_concurrency(dagbag: Any) -> None:
    for dag in all_dags(dagbag):
        assert dag.catchup is False, dag.dag_id
        assert dag.max_active_runs == 1, dag.dag_id
    for scheme_id, cron in EXPECTED_SCHEDULES.items():
        timetable = dagbag.dags[scheme_id].timetable
        assert isinstance(timetable, CronTriggerTimetable)
        assert timetable.expression == cron
        assert str(getattr(timetable.timezone, "name", timetable.timezone)) == "Europe/Brussels"


def _serialized(dag: DAG) -> Any:
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


@pytest.mark.parametrize(("scheme_id", "start", "end", "expected"), [
    ("uitpas-kansentarief", dt.date(2026, 1, 1), dt.date(2026, 3, 31),
     [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]),
    ("ivago-tegemoetkoming", dt.date(2024, 1, 1), dt.date(2026, 6, 30),
     [dt.date(2024, 1, 1), dt.date(2025, 1, 1), dt.date(2026, 1, 1)]),
    ("onderwijskorting", dt.date(2024, 1, 1), dt.date(2026, 12, 31),
     [dt.date(2024, 9, 1), dt.date(2025, 9, 1), dt.date(2026, 9, 1)]),
    ("lez-vrijstelling", dt.date(2026, 11, 2), dt.date(2026, 11, 22),
     [dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)]),
])
def test_a_backfill_makes_one_run_per_period_whose_logical_day_is_the_reference_date(
        dagbag: Any, scheme_id: str, start: dt.date, end: dt.date, expected: list[dt.date]) -> None:
    serialized = _serialized(dagbag.dags[scheme_id])
    infos = list(serialized.iter_dagrun_infos_between(dt.datetime.combine(start, dt.time(), dt.UTC),
                                                      dt.datetime.combine(end, dt.time(23, 59), dt.UTC)))
    days = [i.logical_date.astimezone(ZoneInfo("Europe/Brussels")).date() for i in infos]
    assert days == expected
    scheme = load_scheme(scheme_id)
    assert [scheme.reference_date_for(d) for d in days] == expected


def test_every_dag_serializes_and_scheme_dags_carry_a_deadline_alert(dagbag: Any) -> None:
    for dag in all_dags(dagbag):
        _serialized(dag)
    for scheme_id in scheme_ids():
        dag = dagbag.dags[scheme_id]
        (alert,) = dag.deadline
        assert type(alert.reference).__name__ == "FirstQueuedAtDeadline"
        assert alert.interval == DEADLINES[load_scheme(scheme_id).period.value]
        assert type(alert.callback).__name__ == "AsyncCallback"
        assert alert.callback.path == "proactief_airflow.alerts.deadline_missed"


def test_the_deadline_reference_is_not_the_one_airflow_recalculates_on_clear(dagbag: Any) -> None:
    """Airflow 3.3.2 recalculates a pending deadline whose stored ``reference_type`` is ``DagRunQueuedAtDeadline``
    when a task is cleared, and crashes on the interval (apache/airflow#70368); ours is decoded by its class path,
    which the ``proactief_deadlines`` plugin registers, and evaluates to the run's ``queued_at``."""
    from airflow.models.deadline import ReferenceModels
    from airflow.serialization.decoders import decode_deadline_reference
    from airflow.serialization.encoders import encode_deadline_alert

    from airflow import plugins_manager

    (alert,) = dagbag.dags["uitpas-kansentarief"].deadline
    stored = encode_deadline_alert(alert)["reference"]
    assert stored["reference_type"] != ReferenceModels.DagRunQueuedAtDeadline.__name__
    assert stored["__class_path"] == "proactief_airflow.deadlines.FirstQueuedAtDeadline"
    assert stored["__class_path"] in plugins_manager.get_deadline_references_plugins()
    decoded = decode_deadline_reference(stored)
    assert decoded.reference_name == "FirstQueuedAtDeadline"


def _validated(dag: DAG, conf: dict[str, Any]) -> dict[str, Any]:
    params = copy.deepcopy(dag.params)
    params.update(conf)
    return params.validate()


def test_trigger_params_are_flat_scalars_with_defaults(dagbag: Any) -> None:
    for dag in scheme_dags(dagbag):
        assert _validated(dag, {}) == {"dry_run": False, "insz": None, "chunk_size": 1000}
        ok = _validated(dag, {"dry_run": True, "insz": "85073003328, 90010100123", "chunk_size": 100})
        assert ok["dry_run"] is True and ok["chunk_size"] == 100


@pytest.mark.parametrize("conf", [
    {"chunk_size": 50}, {"chunk_size": 5001}, {"chunk_size": "big"},
    {"insz": "1234"}, {"insz": "85073003328;90010100123"}, {"insz": "85.07.30-033.28"}, {"insz": "85073003328,"},
    {"dry_run": "yes"},
])
def test_bad_trigger_params_are_rejected(dagbag: Any, conf: dict[str, Any]) -> None:
    with pytest.raises(ParamValidationError):
        _validated(dagbag.dags["uitpas-kansentarief"], conf)


def _run_python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=airflow_env(), capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS.glob("*.py")))
def test_dag_files_import_nothing_heavy_at_top_level(dag_file: str) -> None:
    """Airflow itself loads SQLAlchemy, so what counts is what the DAG file adds on top of ``airflow.sdk`` and the
    operators it uses, as the dag-processor sees it: measured in a fresh interpreter per file."""
    out = _run_python(f"""
        import json, runpy, sys
        import airflow.sdk
        import airflow.providers.standard.operators.hitl, airflow.providers.standard.operators.empty
        before = set(sys.modules)
        runpy.run_path({str(DAGS / dag_file)!r})
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in set(sys.modules) - before
                                if any(m == h or m.startswith(h + ".") for h in heavy))))
    """)
    assert json.loads(out) == []


@pytest.mark.integration
def test_airflow_backfill_create_plans_one_run_per_month(airflow_home: dict[str, str]) -> None:
    """What a scheme owner types: ``airflow backfill create`` over three months plans three runs, on the 1st."""
    from tests.dags.airflow_env import airflow_cli

    airflow_cli(airflow_home, "dags", "reserialize")
    out = airflow_cli(airflow_home, "backfill", "create", "--dag-id", "uitpas-kansentarief", "--from-date",
                      "2026-01-01", "--to-date", "2026-03-31", "--dry-run").stdout
    planned = sorted(set(re.findall(r"(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}\+00:00 \|", out)))
    assert planned == ["2026-01-01", "2026-02-01", "2026-03-01"], out[-2000:]
