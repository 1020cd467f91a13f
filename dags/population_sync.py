"""Population sync: import the city's resident snapshot and city data, check it, update the MAGDA repertorium.

Daily at 02:00 (Europe/Brussels), before the scheme runs of 06:00. Reads the files the city drops in
``PROACTIEF_CITY_DATA_DIR`` (the generator's layout: ``residents.csv``, OCMW and enrolment files); the population
data-quality suite (valid INSZ, unique, household references consistent) gates the repertorium step, which
registers new residents with MAGDA and deregisters those who left.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, task
from airflow.sdk.exceptions import AirflowFailException
from proactief_airflow import runtime
from proactief_airflow.factory import OWNER_TEAM, SERVICE_START_DATE, default_args

with DAG(
    dag_id="population_sync",
    description="Import the resident snapshot and city data; register/deregister in the MAGDA repertorium",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 2 * * *", timezone="Europe/Brussels"),
    start_date=SERVICE_START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(OWNER_TEAM),
    tags=["proactief", "population", "magda"],
):

    @task
    def import_city_data() -> dict[str, Any]:
        import os
        from pathlib import Path

        from proactief.lifecycle import import_city_data as import_

        folder = os.environ.get("PROACTIEF_CITY_DATA_DIR")
        if not folder or not Path(folder).is_dir():
            raise AirflowFailException("PROACTIEF_CITY_DATA_DIR is not set or not a directory")
        with runtime.ledger() as engine:
            return dict(import_(engine, Path(folder)))

    @task
    def check_population() -> dict[str, Any]:
        from proactief.lifecycle import check

        with runtime.ledger() as engine:
            result = check(engine, None, "population")
        if not result.success:
            raise AirflowFailException(f"data-quality gate population failed: {result.summary()}")
        return {"step": "population", "success": True, "summary": result.summary()}

    @task(pool="magda")
    def sync_repertorium() -> dict[str, Any]:
        from proactief.lifecycle import sync_repertorium as sync

        with runtime.ledger() as engine:
            return dict(sync(engine, runtime.magda_config()))

    import_city_data() >> check_population() >> sync_repertorium()
