"""Data-quality suites for the scheme lifecycle, run with Great Expectations Core inside Airflow tasks.

Why GX Core and not ``airflow-provider-great-expectations`` (see ARCHITECTURE.md): the provider cannot be installed
with Airflow >= 3.3.1 and pushes validation results -- including unexpected data values -- to XCom. Here each task
calls a suite on an in-memory pandas frame, GX runs in an ephemeral context with ``result_format`` SUMMARY and
``partial_unexpected_count: 0``, and only expectation names, column names, counts and shares leave this package.

Importing this package is cheap: GX and pandas are imported inside the suite functions, never at DAG-parse time.
"""

from proactief.quality.suites import (
    DQFailure,
    DQResult,
    check_decisions,
    check_freshness,
    check_magda_results,
    check_population,
    check_reconciliation,
    merge_results,
)

__all__ = [
    "DQFailure",
    "DQResult",
    "check_decisions",
    "check_freshness",
    "check_magda_results",
    "check_population",
    "check_reconciliation",
    "merge_results",
]
