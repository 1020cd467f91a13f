"""Proactief Gent: the domain package (no Airflow imports), unit-testable on its own."""

from proactief.logsafety import install as _keep_insz_out_of_http_logs

__version__ = "0.1.0"

_keep_insz_out_of_http_logs()
