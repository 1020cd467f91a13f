"""One lifecycle DAG per scheme, built from the scheme definitions (``include/proactief/schemes/definitions``).

Conventions (the tests in ``tests/dags`` pin them):

- ``dag_id`` is the scheme id unchanged (``uitpas-kansentarief``): dashes are valid in a dag_id, and the
  scheme owner finds the name they know in the UI, the REST API and ``airflow backfill create``.
- The schedule is the scheme's cron and timezone as a ``CronTriggerTimetable``: the logical date of a run is the
  moment it is due (06:00 local on the 1st of the month for UiTPAS), so the run's day *is* the period start and
  a backfill over three months makes three runs whose reference dates are the 1st of each month. (A
  ``CronDataIntervalTimetable`` would label each run with the previous period.) ``catchup=False``,
  ``max_active_runs=1``: one period at a time; owners backfill past periods explicitly.
- Task groups follow the lifecycle: ``select`` (open_run + select_population, which applies the opt-out filter)
  → ``population_quality`` → ``magda`` (``query_chunk`` mapped over chunks, pool ``magda``) → ``magda_quality``
  → ``advice`` (decide) → ``decision_quality`` (check + anomaly gate: a human ``approve`` step only when the
  decisions check asks for it) → ``grant`` → ``reconciliation`` → ``notify`` → ``report`` (finish_run).
- XCom carries the run id, chunk numbers and count dicts; never personal data. A failed data-quality gate raises
  ``AirflowFailException`` with the suite's summary (counts, no values), which e-mails the operators through the
  task failure callback like any failure.
- Heavy imports (the lifecycle, SQLAlchemy, GX, pandas, lxml) happen inside task functions only.

``add_lifecycle`` wires the steps after any "open a run" task, so the mutation re-evaluation DAG reuses them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import (
    DAG,
    AsyncCallback,
    CronTriggerTimetable,
    DeadlineAlert,
    Param,
    TaskGroup,
    TriggerRule,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException

from proactief_airflow import runtime
from proactief_airflow.alerts import ApprovalRequestNotifier, deadline_missed, notify_operators
from proactief_airflow.deadlines import FirstQueuedAtDeadline

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from proactief.schemes import Scheme

__all__ = [
    "DEADLINES",
    "INSZ_LIST_PATTERN",
    "MAGDA_POOL",
    "OWNER_CONTACT_CENTRE",
    "OWNER_PRIVACY",
    "OWNER_TEAM",
    "SERVICE_START_DATE",
    "START_DATE",
    "add_lifecycle",
    "build_scheme_dag",
    "default_args",
    "scheme_doc",
]

MAGDA_POOL = "magda"
"""Throttles MAGDA query tasks; defined in ``airflow/pools.json`` (a task naming a missing pool never runs)."""
INSZ_LIST_PATTERN = r"^\s*(\d{11}\s*(,\s*\d{11}\s*)*)?$"
"""The ``insz`` trigger param: 11-digit INSZ, comma-separated (check digits are verified by the domain)."""
DEADLINES: dict[str, dt.timedelta] = {
    "weekly": dt.timedelta(hours=4),
    "monthly": dt.timedelta(hours=6),
    "yearly": dt.timedelta(hours=12),
    "school-year": dt.timedelta(hours=12),
}
"""How long after a run is first queued it must be finished, per scheme period; later → the operators get an e-mail.
Counted from ``FirstQueuedAtDeadline`` (not ``DeadlineReference.DAGRUN_QUEUED_AT``, whose recalculation on clear
crashes in Airflow 3.3.2: see ``proactief_airflow.deadlines``), so clearing a task does not move it."""
START_DATE = dt.date(2022, 1, 1)
"""The oldest period the scheme parameters cover: backfills can go back this far."""
SERVICE_START_DATE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""Start date of the service DAGs in ``dags/`` (sync, intake, mutations, outbox, retention): with
``catchup=False`` only the latest interval runs, so this only has to lie in the past."""
OWNER_TEAM = "Stad Gent – team Proactieve dienstverlening"
"""Owner of the service DAGs the team itself answers for (scheme DAGs are owned by the scheme's department)."""
OWNER_CONTACT_CENTRE = "Stad Gent – Contactcenter Gentinfo"
"""Owner of ``opt_out_intake``: the contact centre takes the objections."""
OWNER_PRIVACY = "Stad Gent – Informatieveiligheid en privacy"
"""Owner of ``retention``: the information-security and privacy office."""
RETRIES = 2
APPROVAL_TIMEOUT = dt.timedelta(days=7)
"""An unanswered approval request counts as rejected after this long (the run stops before granting)."""


def default_args(owner: str) -> dict[str, Any]:
    """Retries and the operators' failure e-mail on every task (task-level, not only DAG-level)."""
    return {
        "owner": owner,
        "retries": RETRIES,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=20),
        "on_failure_callback": notify_operators,
    }


def _params() -> dict[str, Param]:
    return {
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Decide and report only: grant and notify nothing (a shadow run)."),
        "insz": Param(None, type=["null", "string"], pattern=INSZ_LIST_PATTERN, title="Only these INSZ",
                      description="Comma-separated INSZ (11 digits each) to re-evaluate only those persons. "
                                  "Stored in Airflow's metadata DB with the run: see the DAG doc."),
        "chunk_size": Param(1000, type="integer", minimum=100, maximum=5000, title="Chunk size",
                            description="Persons per MAGDA query task (100..5000)."),
    }


def scheme_doc(scheme: Scheme) -> str:
    """The DAG's doc_md: the scheme in the owner's words, its legal basis, and how the DAG treats it."""
    legal = "\n".join(f"- {lb.citation}" + (f" ({lb.url})" if lb.url else "") for lb in scheme.legal_basis)
    return f"""# {scheme.title}

{scheme.doc.strip()}

**Eigenaar:** {scheme.owner.department} ({scheme.owner.contact})
**Periode:** {scheme.period.value}, gepland `{scheme.schedule.cron}` ({scheme.schedule.timezone});
regelversie {scheme.rule_version}.

## Rechtsgrond
{legal}

## Hoe deze DAG werkt
Elke run behandelt één periode; de logische datum van de run is de peildatum (of bepaalt ze). Stappen: selectie
(met bezwaren) → kwaliteitscontrole → MAGDA (in blokken, beperkt door de pool `{MAGDA_POOL}`) → controle →
advies → controle en afwijkingspoort (bij een sprong in het aandeel rechthebbenden vraagt de stap `approve`
een menselijke goedkeuring met de cijfers) → toekenning → afstemming → kennisgeving → rapport. Een herhaalde,
gewiste of ingehaalde run kent niets twee keer toe.

**Trigger-parameters:** `dry_run` (alleen beslissen en rapporteren), `insz` (alleen deze personen herbekijken),
`chunk_size` (personen per MAGDA-taak, 100..5000). *Let op:* parameters worden met de run opgeslagen in de
Airflow-metadatabank (`dag_run.conf`) en zijn zichtbaar in de UI en de API voor wie de DAG mag bekijken. Een
INSZ-lijst daar is dus persoonsgegeven buiten het grootboek: gebruik `insz` enkel voor een gerichte
herbeoordeling, en verkies anders de CLI (`proactief`) die niets in Airflow bewaart.
"""


def _fail_unless(step: str, ledger_run: int | None, result: Any) -> None:
    if not result.success and not getattr(result, "needs_approval", False):
        raise AirflowFailException(f"data-quality gate {step} failed for run {ledger_run}: {result.summary()}")


def _dq_xcom(step: str, result: Any) -> dict[str, Any]:
    """What a DQ task leaves in XCom: verdict, summary sentence and statistics (counts and shares, no values)."""
    stats = getattr(result, "statistics", None) or {}
    return {"step": step, "success": bool(result.success),
            "needs_approval": bool(getattr(result, "needs_approval", False)), "summary": result.summary(),
            "statistics": {str(k): v for k, v in dict(stats).items() if isinstance(v, int | float)}}


def _dq_task(step: str, **task_kwargs: Any) -> Callable[..., XComArg]:
    @task(task_id=f"check_{step}", **task_kwargs)
    def check_step(ledger_run: int) -> dict[str, Any]:
        from proactief.lifecycle import check

        with runtime.ledger() as engine:
            result = check(engine, ledger_run, step)  # type: ignore[arg-type]
        _fail_unless(step, ledger_run, result)
        quarantined = int(result.statistics.get("data_errors", 0) or 0)
        if quarantined:
            from airflow.sdk import get_current_context

            from proactief_airflow.alerts import report_data_errors

            report_data_errors(get_current_context(), quarantined)
        return _dq_xcom(step, result)

    return check_step


def add_lifecycle(open_run_task: Callable[[], XComArg], *, scheme_title: str,
                  owner_contact: str | None = None) -> dict[str, Any]:
    """Wire select → … → report after ``open_run_task()`` (which must return the ledger run id), in the current
    DAG / task group. Returns the main task handles (for tests and callers that chain after the report)."""

    @task
    def select_population(ledger_run: int) -> list[int]:
        """Returns the chunk numbers to map over; the counts go to XCom key ``counts``."""
        from proactief.lifecycle import select_population as select

        with runtime.ledger() as engine:
            out = select(engine, ledger_run)
        counts = {k: int(v) for k, v in out.items() if k != "chunks"}
        get_current_context()["ti"].xcom_push(key="counts", value=counts)
        return [int(c) for c in out["chunks"]]

    @task(pool=MAGDA_POOL, pool_slots=1)
    def query_chunk(ledger_run: int, chunk: int) -> dict[str, Any]:
        from proactief.lifecycle import query_chunk as query

        service = runtime.advice_service()  # set: the advice service decides, no MAGDA configuration here
        with runtime.ledger() as engine:
            return dict(query(engine, ledger_run, chunk, runtime.magda_config() if service is None else None,
                              service=service))

    @task
    def decide(ledger_run: int) -> dict[str, int]:
        from proactief.lifecycle import decide as decide_

        with runtime.ledger() as engine:
            return dict(decide_(engine, ledger_run))

    @task
    def check_decisions(ledger_run: int, decided: dict[str, int]) -> dict[str, Any]:
        from proactief.lifecycle import check, run_report

        with runtime.ledger() as engine:
            nobody = not sum(int(v) for v in decided.values())
            if nobody and run_report(engine, ledger_run)["selection"] != "population":
                # A re-evaluation (mutation batch, INSZ list) can hold nobody this scheme covers; the suite's
                # "a run without decisions fails" is meant for population runs.
                return {"step": "decisions", "success": True, "needs_approval": False, "statistics": {"total": 0},
                        "summary": "No decisions: none of the persons to re-evaluate falls under this scheme."}
            result = check(engine, ledger_run, "decisions")
        _fail_unless("decisions", ledger_run, result)
        return _dq_xcom("decisions", result)

    @task.branch
    def gate(checked: dict[str, Any], approve_id: str, skip_id: str) -> str:
        return approve_id if checked.get("needs_approval") else skip_id

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def grant(ledger_run: int) -> dict[str, Any]:
        from proactief.lifecycle import grant as grant_

        with runtime.ledger() as engine:
            return dict(grant_(engine, ledger_run))

    @task
    def notify(ledger_run: int) -> dict[str, Any]:
        from proactief.lifecycle import notify as notify_

        with runtime.ledger() as engine:
            return dict(notify_(engine, ledger_run))

    @task
    def finish_run(ledger_run: int) -> dict[str, Any]:
        from proactief.lifecycle import finish_run as finish

        with runtime.ledger() as engine:
            return dict(finish(engine, ledger_run))

    with TaskGroup("select", tooltip="Open the run and select the population (opt-outs filtered out)"):
        ledger_run = open_run_task()
        selected = select_population(ledger_run)
    with TaskGroup("population_quality", tooltip="Data quality of the resident snapshot"):
        population_ok = _dq_task("population")(ledger_run)
    selected >> population_ok
    with TaskGroup("magda", tooltip="Ask MAGDA, chunk by chunk (pool 'magda')"):
        queried = query_chunk.partial(ledger_run=ledger_run).expand(chunk=selected)
    population_ok >> queried
    with TaskGroup("magda_quality", tooltip="Every subject answered or undetermined; transient share bounded"):
        # none_failed: a run without chunks (nobody selected) skips the mapped query but is still checked
        magda_ok = _dq_task("magda_results", trigger_rule=TriggerRule.NONE_FAILED)(ledger_run)
    queried >> magda_ok
    with TaskGroup("advice", tooltip="Commit the staged outcomes as decisions"):
        decided = decide(ledger_run)
    magda_ok >> decided
    with TaskGroup("decision_quality", tooltip="Decisions check and anomaly gate (human approval on a jump)"):
        checked = check_decisions(ledger_run, decided)
        check_id = checked.operator.task_id
        decide_id = decided.operator.task_id
        approve = ApprovalOperator(
            task_id="approve",
            subject=f"Goedkeuring nodig vóór toekenning: {scheme_title}",
            body=(
                "De controle van de beslissingen vond een afwijking tegenover de vorige run. Er wordt niets "
                "toegekend of verstuurd tot iemand dit goedkeurt.\n\n"
                f"**Controle:** {{{{ ti.xcom_pull(task_ids='{check_id}')['summary'] }}}}\n\n"
                f"**Beslissingen deze run:** {{{{ ti.xcom_pull(task_ids='{decide_id}') }}}}\n\n"
                "*Goedkeuren* gaat verder met toekenning en kennisgeving; *Afwijzen* stopt de run vóór de "
                "toekenning (de beslissingen blijven bewaard)."
            ),
            defaults="Reject",
            response_timeout=APPROVAL_TIMEOUT,
            notifiers=[ApprovalRequestNotifier(scheme_title, owner_contact, check_id)],
        )
        no_approval_needed = EmptyOperator(task_id="no_approval_needed")
        gate(checked, approve_id=approve.task_id, skip_id=no_approval_needed.task_id) >> [approve,
                                                                                          no_approval_needed]
    decided >> checked
    with TaskGroup("grant", tooltip="Grant (idempotent per scheme, subject and period; opt-out re-checked)"):
        granted = grant(ledger_run)
    [approve, no_approval_needed] >> granted
    with TaskGroup("reconciliation", tooltip="Every new eligible subject has exactly one grant"):
        reconciled = _dq_task("reconciliation")(ledger_run)
    granted >> reconciled
    with TaskGroup("notify", tooltip="Queue the notices (outbox; opt-out re-checked)"):
        notified = notify(ledger_run)
    reconciled >> notified
    with TaskGroup("report", tooltip="Close the run, drop its staging, keep the figures"):
        report = finish_run(ledger_run)
    notified >> report
    return {"ledger_run": ledger_run, "selected": selected, "queried": queried, "approve": approve, "grant": granted,
            "report": report}


def build_scheme_dag(scheme_id: str) -> DAG:
    """The lifecycle DAG of one scheme (see the module docstring for the conventions)."""
    from proactief.schemes import load_scheme  # YAML + JSON-schema check: light, but only when building

    scheme = load_scheme(scheme_id)
    tz = scheme.schedule.timezone
    period = scheme.period.value

    def open_scheme_run() -> XComArg:
        @task
        def open_run() -> int:
            from proactief.lifecycle import open_run as open_

            context = get_current_context()
            params = context["params"]
            subjects = runtime.parse_insz_list(params.get("insz"))
            with runtime.ledger() as engine:
                try:
                    return open_(engine, scheme.id, runtime.run_day(context, tz),
                                 external_id=runtime.external_id(context), dry_run=bool(params.get("dry_run")),
                                 subjects=subjects, chunk_size=int(params.get("chunk_size") or 1000))
                except ValueError as exc:  # a malformed INSZ (named by position) or chunk size: no retry helps
                    raise AirflowFailException(str(exc)) from None

        return open_run()

    with DAG(
        dag_id=scheme.id,
        description=scheme.title,
        doc_md=scheme_doc(scheme),
        schedule=CronTriggerTimetable(scheme.schedule.cron, timezone=tz),
        start_date=dt.datetime(START_DATE.year, START_DATE.month, START_DATE.day, tzinfo=ZoneInfo(tz)),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(scheme.owner.department),
        params=_params(),
        tags=["proactief", "scheme", scheme.id, period],
        deadline=DeadlineAlert(
            reference=FirstQueuedAtDeadline(),
            interval=DEADLINES[period],
            callback=AsyncCallback(deadline_missed, kwargs={"scheme_title": scheme.title}),
            name=f"{scheme.id} finished within {DEADLINES[period]}",
        ),
        render_template_as_native_obj=False,
    ) as dag:
        add_lifecycle(open_scheme_run, scheme_title=scheme.title, owner_contact=scheme.owner.contact)
    return dag
