"""A real run with known secrets configured — the ledger URL's password, the UiTPAS client secret, the SMTP
password — leaves none of them in anything Airflow keeps: the run's output, the task logs, the XComs (which the
runner prints as the tasks' return values)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.dags.airflow_env import dag_test

pytestmark = pytest.mark.integration

SECRETS = ("Ledger-Geheim-1", "Uitpas-Geheim-2", "Smtp-Geheim-3")


def test_the_outbox_dispatch_run_logs_no_secret(airflow_home: dict[str, str], pg_url: str, ledger: Engine) -> None:
    db_url = re.sub(r"//([^:/@]+)@", rf"//\1:{SECRETS[0]}@", pg_url)  # trust authentication: any password works
    env = {**airflow_home, "PROACTIEF_DB_URL": db_url,
           "PROACTIEF_UITPAS_URL": "http://127.0.0.1:9/uitpas", "PROACTIEF_UITPAS_CLIENT_ID": "proactief",
           "PROACTIEF_UITPAS_CLIENT_SECRET": SECRETS[1], "PROACTIEF_SMTP_HOST": "127.0.0.1",
           "PROACTIEF_SMTP_PORT": "9", "PROACTIEF_SMTP_USERNAME": "mailer", "PROACTIEF_SMTP_PASSWORD": SECRETS[2]}
    result = dag_test(env, "outbox_dispatch", dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC), {})
    assert result["state"] == "success", result["tasks"]
    kept = [result["log"], *(p.read_text(errors="replace") for p in Path(airflow_home["AIRFLOW_HOME"]).rglob("*.log"))]
    for secret in SECRETS:
        assert not [text for text in kept if secret in text], secret
