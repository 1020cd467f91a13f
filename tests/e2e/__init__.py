"""End-to-end tests: real Airflow processes on the repository's DAGs."""
