"""The plugin's FastAPI app with Airflow's own authentication: 401 without a token, 200 with one (Bearer or the
UI's ``_token`` cookie), schemes filtered by the auth manager, the lookup a POST that is audited by user name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.dags import airflow_env  # noqa: F401 (sets the Airflow environment before Airflow is imported)
from tests.dashboard.airflow_auth import token as _token
from tests.dashboard.ledger_data import UITPAS, Ledger, person

pytestmark = pytest.mark.integration


@pytest.fixture
def client(auth: Any, engine: Engine, data: Ledger) -> Iterator[Any]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from proactief_airflow import dashboard

    from proactief.dashboard.render import Approval

    waiting = [Approval(UITPAS, "manual__e", "Goedkeuring nodig", dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                        "/dags/uitpas-kansentarief/runs/manual__e/tasks/decision_quality.approve/required_actions")]
    dashboard.app.dependency_overrides[dashboard.ledger] = lambda: engine
    dashboard.app.dependency_overrides[dashboard.pending_approvals] = lambda: waiting
    root = FastAPI()  # what the api-server does with the plugin's fastapi_apps entry
    root.mount("/proactief", dashboard.app)
    try:
        with TestClient(root, base_url="http://testserver/proactief/") as c:
            yield c
    finally:
        dashboard.app.dependency_overrides.clear()


def test_anonymous_requests_get_401(client: Any) -> None:
    for path in ("dashboard", "lookup", ""):
        assert client.get(path, follow_redirects=False).status_code == 401
    assert client.post("lookup", data={"insz": person(1), "scheme": UITPAS}).status_code == 401
    assert client.get("dashboard", headers={"Authorization": "Bearer not-a-jwt"}).status_code in (401, 403)


def test_a_viewer_sees_every_scheme_with_a_bearer_token_or_the_ui_cookie(client: Any, auth: Any) -> None:
    token = _token(auth, "eigenaar", "viewer")
    page = client.get("dashboard", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200, page.text
    assert "Aangemeld als eigenaar" in page.text
    assert page.headers["cache-control"] == "no-store"
    for scheme in ("uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting", "lez-vrijstelling"):
        assert f'id="scheme-{scheme}"' in page.text
    assert "decision_quality.approve/required_actions" in page.text
    assert page.text.count("<h3>Bereik per wijk</h3>") == 2  # the two schemes with a finished population run
    client.cookies.set("_token", token)
    assert client.get("dashboard").status_code == 200


def test_a_user_without_dag_access_sees_no_scheme_and_cannot_look_up(client: Any, auth: Any) -> None:
    headers = {"Authorization": f"Bearer {_token(auth, 'niemand', None)}"}
    page = client.get("dashboard", headers=headers)
    assert page.status_code == 200 and "U hebt geen toegang tot een regeling" in page.text
    assert "Bereik per wijk" not in page.text and "data-district" not in page.text
    refused = client.post("lookup", data={"insz": person(1), "scheme": UITPAS}, headers=headers)
    assert refused.status_code == 403


def test_a_lookup_posts_explains_and_audits_the_user(client: Any, auth: Any, engine: Engine) -> None:
    from proactief.ledger.models import MagdaConsultation

    headers = {"Authorization": f"Bearer {_token(auth, 'an.callcenter', 'viewer')}"}
    form = client.get("lookup", headers=headers)
    assert form.status_code == 200 and 'method="post"' in form.text
    spaced = f"{person(1)[:2]}.{person(1)[2:4]}.{person(1)[4:6]}-{person(1)[6:9]}.{person(1)[9:]}"
    answer = client.post("lookup", data={"insz": spaced, "scheme": UITPAS}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert 'data-decision="eligible"' in answer.text and "Bericht verstuurd per e-mail" in answer.text
    assert person(1) not in answer.text
    with engine.connect() as conn:
        rows = conn.execute(select(MagdaConsultation.subject_insz, MagdaConsultation.consulted_by,
                                   MagdaConsultation.service, MagdaConsultation.purpose)).all()
    assert rows == [(person(1), "an.callcenter", "Proactief.Dashboard.Opzoeking", "callcenter")]


def test_an_invalid_insz_gets_a_clear_error_and_no_audit_row(client: Any, auth: Any, engine: Engine) -> None:
    from proactief.ledger.models import MagdaConsultation

    headers = {"Authorization": f"Bearer {_token(auth, 'an.callcenter', 'viewer')}"}
    answer = client.post("lookup", data={"insz": "85073003329", "scheme": UITPAS}, headers=headers)
    assert answer.status_code == 422
    assert "Dit is geen geldig INSZ: de controlecijfers (de laatste twee) kloppen niet." in answer.text
    assert "85073003329" not in answer.text
    short = client.post("lookup", data={"insz": "1234", "scheme": UITPAS}, headers=headers)
    assert "een INSZ heeft precies 11 cijfers" in short.text
    assert client.post("lookup", data={"insz": person(1), "scheme": "nope"}, headers=headers).status_code == 404
    with engine.connect() as conn:
        assert conn.execute(select(MagdaConsultation.id)).all() == []
