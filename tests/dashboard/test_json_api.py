"""The JSON API for the city's other systems (``/proactief/api/v1``), exercised through the dashboard app with Airflow's
real auth manager: 401 without a token; schemes filtered per user; the INSZ only in POST bodies and never echoed;
every status read audited with the user; opt-out and bezwaar writes kept with the user; clear 422s; the OpenAPI
document lists the routes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from proactief.ledger.models import Bezwaar, MagdaConsultation, OptOut, OptOutEvent
from tests.dags import airflow_env  # noqa: F401 (sets the Airflow environment before Airflow is imported)
from tests.dashboard.airflow_auth import bearer as _headers
from tests.dashboard.ledger_data import IVAGO, UITPAS, Ledger, person

pytestmark = pytest.mark.integration

ALL = ["uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting", "lez-vrijstelling"]
BAD_CHECK = "85073003329"
BAD_MONTH = "85133003370"  # check digits fine, month 13


@pytest.fixture
def client(auth: Any, engine: Engine, data: Ledger) -> Iterator[Any]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from proactief_airflow import api, dashboard

    api.api.dependency_overrides[api.ledger] = lambda: engine
    root = FastAPI()  # what the api-server does with the plugin's fastapi_apps entry
    root.mount("/proactief", dashboard.app)
    try:
        with TestClient(root, base_url="http://testserver/proactief/api/v1/") as c:
            yield c
    finally:
        api.api.dependency_overrides.clear()


def _audit(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(MagdaConsultation.subject_insz, MagdaConsultation.consulted_by, MagdaConsultation.service,
                   MagdaConsultation.purpose, MagdaConsultation.outcome).order_by(MagdaConsultation.id))]


def test_every_route_needs_a_token(client: Any, engine: Engine) -> None:
    body = {"insz": person(1)}
    assert client.post("persons/status", json=body).status_code == 401
    assert client.post("persons/opt-out", json={**body, "channel": "web"}).status_code == 401
    assert client.post("persons/opt-out/withdraw", json={**body, "channel": "web"}).status_code == 401
    assert client.post("persons/bezwaar", json={**body, "scheme": UITPAS, "channel": "phone",
                                                "received_on": "2026-10-20"}).status_code == 401
    assert client.get("openapi.json").status_code == 401
    assert client.get("docs").status_code == 401
    assert client.post("persons/status", json=body,
                       headers={"Authorization": "Bearer not-a-jwt"}).status_code in (401, 403)
    assert _audit(engine) == []


def test_a_status_read_answers_per_scheme_and_is_audited_with_the_user(client: Any, auth: Any,
                                                                       engine: Engine) -> None:
    answer = client.post("persons/status", json={"insz": person(1)}, headers=_headers(auth, "crm.gentinfo", "viewer"))

    assert answer.status_code == 200, answer.text
    assert person(1) not in answer.text and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["opt_out"] == {"active": False, "since": None, "channel": None}
    by_id = {s["scheme_id"]: s for s in body["schemes"]}
    assert sorted(by_id) == sorted(ALL)
    uitpas = by_id[UITPAS]
    assert uitpas["decision"]["decision"] == "eligible" and uitpas["decision"]["period"] == "2026-10"
    assert uitpas["decision"]["dry_run"] is False
    assert [r["code"] for r in uitpas["decision"]["reasons"]] == ["RESIDENT_GHENT", "STATUTE_BIM_BVT"]
    assert all(r["text"] and not r["text"].startswith("Reden ") for r in uitpas["decision"]["reasons"])
    assert [(g["period"], g["status"]) for g in uitpas["grants"]] == [("2026-10", "granted")]
    assert uitpas["letters"] == [{"kind": "grant_notice", "channel": "email", "status": "sent",
                                  "date": "2026-10-01"}]
    assert uitpas["open_bezwaren"] == []
    assert by_id[IVAGO]["decision"]["decision"] == "eligible"
    assert by_id["onderwijskorting"]["decision"] is None and by_id["onderwijskorting"]["grants"] == []
    rows = _audit(engine)
    assert sorted(r[3] for r in rows) == sorted(ALL)
    assert {(r[0], r[1], r[2]) for r in rows} == {(person(1), "crm.gentinfo", "Proactief.API.Status")}
    assert {r[3]: r[4] for r in rows}[UITPAS] == "found" and {r[3]: r[4] for r in rows}["onderwijskorting"] == \
        "no_decision"


def test_an_opted_out_person_shows_the_opt_out_and_it_is_audited_as_such(client: Any, auth: Any,
                                                                         engine: Engine) -> None:
    answer = client.post("persons/status", json={"insz": person(4)}, headers=_headers(auth, "crm", "viewer"))
    assert answer.status_code == 200
    assert answer.json()["opt_out"]["active"] is True and answer.json()["opt_out"]["channel"] == "web"
    assert {r[4] for r in _audit(engine)} == {"opted_out"}


def _only_uitpas_for(name: str, auth: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The auth manager lets ``name`` read only the UiTPAS DAG (as a per-DAG policy would); others as configured."""
    real = auth.is_authorized_dag

    def decide(*, method: str, details: Any = None, user: Any, **kw: Any) -> bool:
        if user.get_name() == name:
            return details is not None and details.id == UITPAS and method == "GET"
        return bool(real(method=method, details=details, user=user, **kw))

    monkeypatch.setattr(auth, "is_authorized_dag", decide)


def test_schemes_the_user_may_not_read_are_left_out_and_not_audited(client: Any, auth: Any, engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _only_uitpas_for("alleen.uitpas", auth, monkeypatch)
    answer = client.post("persons/status", json={"insz": person(1)}, headers=_headers(auth, "alleen.uitpas", "viewer"))

    assert answer.status_code == 200, answer.text
    assert [s["scheme_id"] for s in answer.json()["schemes"]] == [UITPAS]
    assert [(r[1], r[3]) for r in _audit(engine)] == [("alleen.uitpas", UITPAS)]
    nobody = client.post("persons/status", json={"insz": person(1)}, headers=_headers(auth, "niemand", None))
    assert nobody.status_code == 403 and person(1) not in nobody.text
    assert len(_audit(engine)) == 1


def test_the_insz_is_never_taken_from_a_url(client: Any, auth: Any, engine: Engine) -> None:
    headers = _headers(auth, "crm", "viewer")
    assert client.get("persons/status", headers=headers).status_code == 405
    assert client.get("persons/status", params={"insz": person(1)}, headers=headers).status_code == 405
    in_query = client.post("persons/status", params={"insz": person(1)}, json={"insz": person(1)}, headers=headers)
    assert in_query.status_code == 400 and person(1) not in in_query.text
    assert _audit(engine) == []
    doc = client.get("openapi.json", headers=headers).json()
    for path, ops in doc["paths"].items():
        assert "{" not in path and set(ops) == {"post"}
        assert not [p for op in ops.values() for p in op.get("parameters", ())], path


@pytest.mark.parametrize(("body", "expected"), [
    ({"insz": BAD_CHECK}, "insz: INSZ check digits do not match (modulo 97)"),
    ({"insz": BAD_MONTH}, "insz: INSZ has an impossible month of birth"),
    ({"insz": "1234"}, "insz: INSZ must be exactly 11 digits"),
    ({"insz": person(1), "extra": BAD_CHECK}, "extra: Extra inputs are not permitted"),
    ({}, "insz: Field required"),
])
def test_a_bad_body_gets_a_one_line_422_without_the_insz(client: Any, auth: Any, engine: Engine,
                                                         body: dict[str, str], expected: str) -> None:
    answer = client.post("persons/status", json=body, headers=_headers(auth, "crm", "viewer"))

    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith(expected)
    for number in (BAD_CHECK, BAD_MONTH, person(1), "1234"):
        assert number not in answer.text
    assert _audit(engine) == []


def test_a_body_that_is_not_json_gets_a_422_that_echoes_nothing(client: Any, auth: Any) -> None:
    answer = client.post("persons/status", content=f"insz={BAD_CHECK}",
                         headers={**_headers(auth, "crm", "viewer"), "Content-Type": "application/json"})
    assert answer.status_code == 422 and BAD_CHECK not in answer.text
    assert answer.json() == {"detail": "body: not valid JSON"}


def _events(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(OptOutEvent.insz, OptOutEvent.action, OptOutEvent.channel,
                                                      OptOutEvent.recorded_by).order_by(OptOutEvent.id))]


def test_an_opt_out_and_its_withdrawal_are_recorded_with_the_user(client: Any, auth: Any, engine: Engine) -> None:
    headers = _headers(auth, "crm.gentinfo", "user")
    spaced = f"{person(1)[:2]}.{person(1)[2:4]}.{person(1)[4:6]}-{person(1)[6:9]}.{person(1)[9:]}"

    done = client.post("persons/opt-out", json={"insz": spaced, "channel": "contact-centre"}, headers=headers)

    assert done.status_code == 200, done.text
    assert done.json()["active"] is True and done.json()["channel"] == "contact-centre" and person(1) not in done.text
    back = client.post("persons/opt-out/withdraw", json={"insz": person(1), "channel": "web"}, headers=headers)
    assert back.status_code == 200 and back.json() == {"active": False, "since": None, "channel": None}
    assert _events(engine) == [(person(1), "object", "contact-centre", "crm.gentinfo"),
                               (person(1), "withdraw", "web", "crm.gentinfo")]


def test_an_opt_out_needs_edit_rights_on_every_scheme(client: Any, auth: Any, engine: Engine) -> None:
    for role in ("viewer", None):
        refused = client.post("persons/opt-out", json={"insz": person(1), "channel": "web"},
                              headers=_headers(auth, "kijker", role))
        assert refused.status_code == 403
    assert _events(engine) == []
    with engine.connect() as conn:
        assert conn.execute(select(OptOut.insz).where(OptOut.insz == person(1))).all() == []


def test_a_bezwaar_is_recorded_with_the_user_and_a_late_one_is_flagged(client: Any, auth: Any,
                                                                       engine: Engine) -> None:
    headers = _headers(auth, "crm.gentinfo", "user")
    # person 1's October decision: letter sent 1 October, so the 30-day deadline is 31 October.
    on_time = client.post("persons/bezwaar", json={"insz": person(1), "scheme": UITPAS, "channel": "phone",
                                                   "received_on": "2026-10-20"}, headers=headers)
    late = client.post("persons/bezwaar", json={"insz": person(1), "scheme": UITPAS, "channel": "letter",
                                                "received_on": "2026-11-20", "note": "per brief"}, headers=headers)

    assert on_time.status_code == 201, on_time.text
    assert on_time.json() == {"id": on_time.json()["id"], "scheme": UITPAS, "period": "2026-10",
                              "deadline": "2026-10-31", "late": False, "status": "open", "recorded_by": "crm.gentinfo",
                              "already_recorded": False}
    assert late.status_code == 201 and late.json()["late"] is True and person(1) not in late.text
    with engine.connect() as conn:
        rows = conn.execute(select(Bezwaar.insz, Bezwaar.recorded_by, Bezwaar.channel, Bezwaar.late)
                            .order_by(Bezwaar.id)).all()
    assert [tuple(r) for r in rows] == [(person(1), "crm.gentinfo", "phone", False),
                                        (person(1), "crm.gentinfo", "letter", True)]
    status_now = client.post("persons/status", json={"insz": person(1)}, headers=headers).json()
    uitpas = next(s for s in status_now["schemes"] if s["scheme_id"] == UITPAS)
    assert sorted(b["late"] for b in uitpas["open_bezwaren"]) == [False, True]


def test_a_retried_bezwaar_is_answered_with_the_one_already_open_not_recorded_twice(
        client: Any, auth: Any, engine: Engine) -> None:
    body = {"insz": person(1), "scheme": UITPAS, "channel": "phone", "received_on": "2026-10-20"}
    first = client.post("persons/bezwaar", json=body, headers=_headers(auth, "crm", "user"))
    again = client.post("persons/bezwaar", json=body, headers=_headers(auth, "crm", "user"))
    other_day = client.post("persons/bezwaar", json={**body, "received_on": "2026-10-21"},
                            headers=_headers(auth, "crm", "user"))

    assert first.status_code == 201 and again.status_code == 200 and other_day.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.json()["already_recorded"] is True
    assert client.post("persons/bezwaar", json=body, headers=_headers(auth, "kijker", "viewer")).status_code == 403
    with engine.connect() as conn:
        assert len(conn.execute(select(Bezwaar.id)).all()) == 2


def test_a_letter_date_moves_the_deadline(client: Any, auth: Any) -> None:
    answer = client.post("persons/bezwaar", json={"insz": person(1), "scheme": UITPAS, "channel": "email",
                                                  "received_on": "2026-11-20", "letter_date": "2026-11-02"},
                         headers=_headers(auth, "crm", "user"))
    assert answer.status_code == 201 and answer.json()["deadline"] == "2026-12-02" and answer.json()["late"] is False


def test_a_bezwaar_for_a_scheme_the_user_may_not_edit_is_refused_and_bad_ones_get_422(
        client: Any, auth: Any, engine: Engine) -> None:
    body = {"insz": person(1), "scheme": UITPAS, "channel": "phone", "received_on": "2026-10-20"}
    assert client.post("persons/bezwaar", json=body, headers=_headers(auth, "kijker", "viewer")).status_code == 403
    user = _headers(auth, "crm", "user")
    unknown = client.post("persons/bezwaar", json={**body, "scheme": "nope"}, headers=user)
    assert unknown.status_code == 422 and unknown.json()["detail"] == "scheme: unknown scheme"
    fax = client.post("persons/bezwaar", json={**body, "channel": "fax"}, headers=user)
    assert fax.status_code == 422 and "unknown channel" in fax.json()["detail"]
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert client.post("persons/bezwaar", json={**body, "received_on": future}, headers=user).status_code == 422
    bad_date = client.post("persons/bezwaar", json={**body, "received_on": "20-10-2026"}, headers=user)
    assert bad_date.status_code == 422 and bad_date.json()["detail"].startswith("received_on:")
    bad = client.post("persons/bezwaar", json={**body, "insz": BAD_CHECK}, headers=user)
    assert bad.status_code == 422 and BAD_CHECK not in bad.text
    with engine.connect() as conn:
        assert conn.execute(select(Bezwaar.id)).all() == []


def test_a_write_while_the_ledger_is_down_gets_503_and_records_nothing(client: Any, auth: Any,
                                                                       engine: Engine) -> None:
    from proactief_airflow import api

    from proactief.ledger import make_engine

    api.api.dependency_overrides[api.ledger] = lambda: make_engine("postgresql+psycopg://postgres@127.0.0.1:1/x")
    answer = client.post("persons/opt-out", json={"insz": person(1), "channel": "web"},
                         headers=_headers(auth, "crm", "user"))
    assert answer.status_code == 503 and "nothing was recorded" in answer.json()["detail"]
    assert _events(engine) == []


def test_the_openapi_document_lists_the_routes_with_a_test_number_as_example(client: Any, auth: Any) -> None:
    doc = client.get("openapi.json", headers=_headers(auth, "crm", "viewer"))
    assert doc.status_code == 200
    paths = doc.json()["paths"]
    assert set(paths) >= {"/persons/status", "/persons/opt-out", "/persons/opt-out/withdraw", "/persons/bezwaar"}
    assert doc.json()["servers"] == [{"url": "/proactief/api/v1"}]
    schemas = doc.json()["components"]["schemas"]
    example = schemas["PersonRequest"]["properties"]["insz"]["examples"][0]
    assert 60 <= int(example[2:4]) <= 72  # a MAGDA test number, never a real one
    assert "StatusOut" in schemas and "BezwaarRecorded" in schemas
    page = client.get("docs", headers=_headers(auth, "crm", "viewer"))
    assert page.status_code == 200 and "openapi.json" in page.text


def test_an_api_read_shows_in_the_citizens_document_as_a_staff_read_not_a_magda_question(
        client: Any, auth: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from proactief.citizen.inzage import gather

    _only_uitpas_for("alleen.uitpas", auth, monkeypatch)
    assert client.post("persons/status", json={"insz": person(1)},
                       headers=_headers(auth, "alleen.uitpas", "viewer")).status_code == 200

    doc = gather(engine, person(1), staff_names=True)

    assert doc.consultations == ()
    (look,) = doc.staff_views
    assert look.who == "medewerker alleen.uitpas"
    assert look.what.startswith("Bekeek uw dossier over UiTPAS") and "Mijn Gent" in look.what
