"""Proactief Gent: the domain package (no Airflow imports), unit-testable on its own."""

__version__ = "0.1.0"
