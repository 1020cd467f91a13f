"""The scheme lifecycle on the ledger: select → opt-out → MAGDA → decide → grant → notify, exactly once.

Every step is a function of ``(engine, run_id, …)`` that returns counts (JSON-safe, no personal data), so
Airflow tasks stay thin and a step can be retried, cleared or re-run without granting or writing twice: the
ledger's unique keys (grant key per scheme, outbox row per grant and channel) make the second attempt a no-op.

Names are resolved lazily so that importing the package (as DAG files do, indirectly) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "open_run": "runs",
    "select_population": "runs",
    "query_chunk": "runs",
    "check": "runs",
    "decide": "runs",
    "grant": "runs",
    "notify": "runs",
    "finish_run": "runs",
    "run_report": "runs",
    "run_in_process": "runs",
    "record_objection": "optout",
    "withdraw_objection": "optout",
    "is_opted_out": "optout",
    "opted_out_among": "optout",
    "import_objections": "optout",
    "import_city_data": "sync",
    "sync_repertorium": "sync",
    "fetch_mutations": "mutations",
    "subjects_of_batch": "mutations",
    "apply_retention": "retention",
    "load_city_data": "citydata",
    "hold_scheme": "holds",
    "release_scheme": "holds",
    "held_schemes": "holds",
    "holds": "holds",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'proactief.lifecycle' has no attribute {name!r}")
    return getattr(importlib.import_module(f"proactief.lifecycle.{module}"), name)
