"""The e2e modules that share one Airflow stack (``conftest.py`` here): it lives as long as this package runs."""
