"""Re-evaluate the persons MAGDA reported as changed, for every scheme (asset-triggered).

Runs on each event of ``Asset("proactief-person-mutations")`` (published by ``magda_mutations``). For each scheme
a task group opens a ledger run limited to the batches' persons (``open_run(..., mutation_batches=ids)``) and
then goes through the same steps as the scheme's own DAG: select → DQ → MAGDA → DQ → advice → DQ and approval
gate → grant → reconciliation → notify → report. Grants stay unique per scheme, person and period, so a person
already granted this period is not granted again. The reference date is the run's day (``run_after``, in
Europe/Brussels) mapped through each scheme's reference-date rule.

If several events were queued before this DAG started, Airflow merges them into one run: the run re-evaluates
every batch it was triggered by, and each scheme also takes every older batch it has not decided yet (its run
failed or was rejected, or the scheme was on hold). A scheme records the batches as decided only when its run
reaches ``report``; a batch is done in the ledger (``mutation_batch.done_at``) once every scheme decided it.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, TaskGroup, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from proactief_airflow import runtime
from proactief_airflow.assets import PERSON_MUTATIONS
from proactief_airflow.factory import OWNER_TEAM, SERVICE_START_DATE, add_lifecycle, default_args

from proactief.schemes import load_scheme, scheme_ids

TIMEZONE = "Europe/Brussels"
log = logging.getLogger(__name__)

with DAG(
    dag_id="reevaluate_mutations",
    description="Re-evaluate persons with MAGDA mutations for every scheme",
    doc_md=__doc__,
    schedule=[PERSON_MUTATIONS],
    start_date=SERVICE_START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(OWNER_TEAM),
    tags=["proactief", "magda", "mutations", "scheme"],
):

    @task
    def mutation_batches(**context: Any) -> list[int]:
        """Every batch id the run's (possibly merged) asset events name: none is left out."""
        events = [e for evs in (context.get("triggering_asset_events") or {}).values() for e in evs]
        batches = sorted({int(e.extra["batch_id"]) for e in events if (e.extra or {}).get("batch_id") is not None})
        if not batches:
            raise AirflowSkipException("no mutation batch in the triggering asset events")
        if len(batches) > 1:
            log.info("%d mutation batches merged into this run: %s; every one is re-evaluated", len(batches), batches)
        return batches

    batches = mutation_batches()

    for scheme_id in scheme_ids():
        scheme = load_scheme(scheme_id)

        def open_mutation_run(scheme_id: str = scheme.id, tz: str = TIMEZONE) -> Any:
            @task
            def open_run(batch_ids: list[int]) -> int:
                from proactief.lifecycle import open_run as open_

                context = get_current_context()
                with runtime.ledger() as engine:
                    try:
                        return open_(engine, scheme_id, runtime.run_day(context, tz),
                                     external_id=runtime.external_id(context, scheme_id),
                                     mutation_batches=batch_ids)
                    except ValueError as exc:
                        raise AirflowFailException(str(exc)) from None

            return open_run(batches)

        with TaskGroup(scheme.id.replace("-", "_"), tooltip=scheme.title):
            add_lifecycle(open_mutation_run, scheme_title=scheme.title, owner_contact=scheme.owner.contact)
