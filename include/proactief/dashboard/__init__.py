"""The scheme owners' dashboard, without Airflow: figures per scheme and run, the take-up trend, the SVG plots,
the call centre's explanation of one person's decision, and the HTML pages.

The Airflow plugin (``plugins/proactief_dashboard.py`` and ``plugins/proactief_airflow/dashboard.py``) only adds
login, authorisation per scheme and the pending approvals from Airflow's metadata; everything that reads the
ledger lives here so it can be tested against PostgreSQL alone.
"""

from proactief.dashboard.districts import DistrictCoverage, coverage_by_district
from proactief.dashboard.figures import DQ_STEPS, RunFigures, newest_runs, runs, unfinished_runs
from proactief.dashboard.lookup import Explanation, explain, lookup_and_audit
from proactief.dashboard.trend import TrendPoint, take_up_trend

__all__ = [
    "DQ_STEPS",
    "DistrictCoverage",
    "Explanation",
    "RunFigures",
    "TrendPoint",
    "coverage_by_district",
    "explain",
    "lookup_and_audit",
    "newest_runs",
    "runs",
    "take_up_trend",
    "unfinished_runs",
]
