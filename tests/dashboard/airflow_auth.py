"""Tokens of Airflow's own auth manager (the ``auth`` fixture of ``tests/conftest.py``) for a user with a role, and
a test client of the plugin's dashboard app on a given ledger, for the tests of the plugin's apps."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from tests.dags import airflow_env  # noqa: F401 (sets the Airflow environment before Airflow is imported)


def token(auth: Any, username: str, role: str | None) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(auth.generate_jwt(SimpleAuthManagerUser(username=username, role=role)))


def bearer(auth: Any, username: str, role: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(auth, username, role)}"}


@contextlib.contextmanager
def dashboard_client(engine: Engine) -> Iterator[Any]:
    """The dashboard app mounted at ``/proactief`` as in the api-server, reading ``engine``."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from proactief_airflow import dashboard

    dashboard.app.dependency_overrides[dashboard.ledger] = lambda: engine
    root = FastAPI()
    root.mount("/proactief", dashboard.app)
    try:
        with TestClient(root, base_url="http://testserver/proactief/") as client:
            yield client
    finally:
        dashboard.app.dependency_overrides.clear()
