"""MAGDA mutations: read GeefPersoonMutatiesNotificaties weekly and publish the changed persons as an asset event.

Mondays 04:00 (Europe/Brussels). ``fetch_mutations`` stores the batch of changed persons in the ledger; the task
then emits an event on ``Asset("proactief-person-mutations")`` whose extra is ``{"batch_id": n, "persons": m}``
(the persons are never in the event). The asset-triggered DAG ``reevaluate_mutations`` re-evaluates just those
persons for every scheme. A week without mutations emits no event (the task is skipped).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, task
from airflow.sdk.exceptions import AirflowSkipException
from proactief_airflow import runtime
from proactief_airflow.assets import PERSON_MUTATIONS
from proactief_airflow.factory import MAGDA_POOL, OWNER_TEAM, SERVICE_START_DATE, default_args

with DAG(
    dag_id="magda_mutations",
    description="Fetch MAGDA person mutations and publish them as an asset event",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 4 * * 1", timezone="Europe/Brussels"),
    start_date=SERVICE_START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(OWNER_TEAM),
    tags=["proactief", "magda", "mutations"],
):

    @task(outlets=[PERSON_MUTATIONS], pool=MAGDA_POOL)
    def fetch_mutations(**context: Any) -> dict[str, Any]:
        from proactief.lifecycle import fetch_mutations as fetch

        with runtime.ledger() as engine:
            out = fetch(engine, runtime.magda_config(), external_id=runtime.external_id(context))
        if out.get("batch_id") is None or not out.get("persons"):
            raise AirflowSkipException("MAGDA reported no changed persons")
        extra = {"batch_id": int(out["batch_id"]), "persons": int(out["persons"])}
        context["outlet_events"][PERSON_MUTATIONS].extra = extra
        return extra

    fetch_mutations()
