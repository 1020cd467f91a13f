"""Fixtures for the DAG tests (environment and helpers: ``tests/dags/airflow_env.py``).

``airflow_home`` (session) migrates a SQLite metadata database and imports ``airflow/pools.json`` once, for the
tests that need the database (``dag.test``, the CLI); the integrity tests never touch it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.dags.airflow_env import DAGS, POOLS_FILE, Sink, airflow_cli, airflow_env, pool_names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def dagbag():  # type: ignore[no-untyped-def]
    """All DAG files parsed once, with the pools of ``airflow/pools.json`` as the known pools."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS), known_pools=pool_names())


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A migrated SQLite metadata DB with the pools imported; yields the environment for Airflow subprocesses."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = airflow_env(home)
    airflow_cli(env, "db", "migrate")
    airflow_cli(env, "pools", "import", str(POOLS_FILE))
    yield env


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    """A real SMTP server on a free port, wired as ``smtp_default`` here and in ``sink.conn_env`` for Airflow."""
    from aiosmtpd.controller import Controller

    sink, port = Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.conn_env = {
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "", "password": "",
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@proactief.test",
                      "timeout": 10, "retry_limit": 1}}),
        "PROACTIEF_ALERT_EMAIL": "ops@proactief.test",
    }
    for key, value in sink.conn_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PROACTIEF_ALERT_FROM", raising=False)
    try:
        yield sink
    finally:
        controller.stop()
