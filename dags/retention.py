"""Retention: delete what is past its retention period, daily at 03:00 (Europe/Brussels).

Staged facts after their run, notifications and decisions after the period the city keeps them; the MAGDA
consultation audit log is kept 10 years. Returns the number of rows deleted per table (no personal data).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, task
from proactief_airflow import runtime
from proactief_airflow.factory import OWNER_PRIVACY, SERVICE_START_DATE, default_args

with DAG(
    dag_id="retention",
    description="Delete ledger data past its retention period",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 3 * * *", timezone="Europe/Brussels"),
    start_date=SERVICE_START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(OWNER_PRIVACY),
    tags=["proactief", "retention", "gdpr"],
):

    @task
    def apply_retention() -> dict[str, Any]:
        from airflow.sdk import get_current_context

        from proactief.lifecycle import apply_retention as apply

        day = runtime.run_day(get_current_context(), "Europe/Brussels")
        with runtime.ledger() as engine:
            return {str(k): int(v) for k, v in apply(engine, day).items()}

    apply_retention()
