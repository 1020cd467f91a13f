"""The scheme lifecycle on the ledger: select → opt-out → MAGDA → decide → grant → notify, exactly once.

Every step is a function of ``(engine, run_id, …)`` that returns counts (JSON-safe, no personal data), so
Airflow tasks stay thin and a step can be retried, cleared or re-run without granting or writing twice: the
ledger's unique keys (grant key per scheme, outbox row per grant and channel) make the second attempt a no-op.

Importing the package loads the ledger models and SQLAlchemy: DAG files and the Airflow glue import it inside
task functions only (``tests/dags`` checks that parsing a DAG file never loads it).
"""

from __future__ import annotations

from proactief.lifecycle.citydata import load_city_data
from proactief.lifecycle.holds import held_schemes, hold_scheme, holds, release_scheme
from proactief.lifecycle.mutations import fetch_mutations, subjects_of_batch
from proactief.lifecycle.optout import (
    import_objections,
    is_opted_out,
    opted_out_among,
    record_objection,
    withdraw_objection,
)
from proactief.lifecycle.retention import apply_retention
from proactief.lifecycle.runs import (
    check,
    decide,
    finish_run,
    grant,
    notify,
    open_run,
    query_chunk,
    run_in_process,
    run_report,
    select_population,
)
from proactief.lifecycle.sync import import_city_data, sync_repertorium

__all__ = [
    "apply_retention",
    "check",
    "decide",
    "fetch_mutations",
    "finish_run",
    "grant",
    "held_schemes",
    "hold_scheme",
    "holds",
    "import_city_data",
    "import_objections",
    "is_opted_out",
    "load_city_data",
    "notify",
    "open_run",
    "opted_out_among",
    "query_chunk",
    "record_objection",
    "release_scheme",
    "run_in_process",
    "run_report",
    "select_population",
    "subjects_of_batch",
    "sync_repertorium",
    "withdraw_objection",
]
