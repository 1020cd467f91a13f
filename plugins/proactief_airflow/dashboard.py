"""The scheme owners' dashboard as a FastAPI app inside the Airflow api-server (mounted at ``/proactief`` by
``plugins/proactief_dashboard.py``, shown in the UI under *Regelingen* at ``/plugin/proactief``).

Airflow does not authenticate plugin apps: every route here depends on Airflow's own ``get_user`` (the UI's
``_token`` cookie or a Bearer token, checked by the configured auth manager; none → 401) and shows a scheme only
when the auth manager lets the user read that scheme's DAG (``is_authorized_dag`` GET). The page itself is built
by ``proactief.dashboard`` (no Airflow there); this module adds what only the api-server knows: the user, the
permissions and the approvals waiting in Airflow's metadata (HITL details of ``decision_quality.approve``).

Ledger: env ``PROACTIEF_DB_URL``; else the Airflow connection ``proactief_ledger`` read with
``airflow.models.Connection.get_connection_from_secrets`` (the api-server has the metadata DB and the secrets
backends, but no Task SDK supervisor, so ``runtime.ledger_url`` does not apply here); else the SQLite default.

The person lookup is a POST (the INSZ stays out of URLs, access logs and browser history) and is written to the
consultation audit log with the Airflow user name before the answer is shown. The session cookie is
``SameSite=Lax``, so another site cannot make a logged-in browser post a lookup.

The citizen's access document (``POST /inzage``, HTML or PDF) is offered on the lookup's answer to a user who may
read every scheme (the document covers them all). Its form posts the lookup's reference in the consultation log,
not the INSZ; the route accepts only a recent lookup by the same user, and writes the export to the log with the
user's name before the document is sent.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, Form, HTTPException, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from proactief.dashboard.render import Approval

log = logging.getLogger("proactief.dashboard")

LEDGER_CONN_ID = "proactief_ledger"
APPROVE_TASK = "decision_quality.approve"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}

app = FastAPI(title="Proactief Gent – regelingen", docs_url=None, redoc_url=None, openapi_url=None)

UserDep = Annotated[BaseUser, Depends(get_user)]


def ledger_url() -> str:
    """The ledger's URL inside the api-server (see the module docstring)."""
    env = os.environ.get("PROACTIEF_DB_URL")
    if env:
        return env
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        conn = Connection.get_connection_from_secrets(LEDGER_CONN_ID)
    except AirflowNotFoundException:
        conn = None
    if conn is not None:
        from proactief_airflow.runtime import _url_from_connection

        return _url_from_connection(conn)
    from proactief.ledger import database_url

    return database_url(None)


@cache
def _engine(url: str) -> Engine:
    from proactief.ledger import make_engine

    return make_engine(url)


def ledger() -> Engine:
    """FastAPI dependency: one pooled engine per ledger URL for the life of the api-server."""
    return _engine(ledger_url())


def ui_base() -> str:
    """The Airflow UI's root path (``[api] base_url``), for links that open in the top window."""
    from airflow.api_fastapi.app import API_ROOT_PATH

    return API_ROOT_PATH or "/"


def readable_schemes(user: UserDep) -> list[str]:
    """The schemes whose DAG this user may read (the auth manager decides, per scheme)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    from proactief.schemes import scheme_ids

    manager = get_auth_manager()
    return [s for s in scheme_ids()
            if manager.is_authorized_dag(method="GET", details=DagDetails(id=s), user=user)]


SchemesDep = Annotated[list[str], Depends(readable_schemes)]


def editable_schemes(user: UserDep) -> list[str]:
    """The schemes whose DAG this user may edit (``is_authorized_dag`` PUT): who may record a bezwaar."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    from proactief.schemes import scheme_ids

    manager = get_auth_manager()
    return [s for s in scheme_ids()
            if manager.is_authorized_dag(method="PUT", details=DagDetails(id=s), user=user)]


EditableDep = Annotated[list[str], Depends(editable_schemes)]


def pending_approvals(schemes: SchemesDep) -> list[Approval]:
    """Approvals nobody answered yet, from Airflow's metadata (``hitl_detail`` of ``decision_quality.approve``
    whose task still waits), with a link to answer each in the UI. Empty, with a warning, when the metadata
    cannot be read: the ledger figures are still worth showing."""
    from proactief.dashboard.render import Approval

    if not schemes:
        return []
    try:
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import select

        with create_session() as session:
            rows = session.execute(
                select(TaskInstance.dag_id, TaskInstance.run_id, HITLDetail.subject, HITLDetail.created_at)
                .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
                .where(TaskInstance.dag_id.in_(schemes), TaskInstance.task_id == APPROVE_TASK,
                       HITLDetail.responded_at.is_(None),
                       TaskInstance.state.in_((TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED)))
                .order_by(HITLDetail.created_at)).all()
    except Exception:  # noqa: BLE001 (the page must not fail on the metadata DB)
        log.warning("could not read the pending approvals from Airflow's metadata", exc_info=True)
        return []
    base = ui_base().rstrip("/")
    return [Approval(r.dag_id, r.run_id, r.subject, r.created_at,
                     f"{base}/dags/{quote(r.dag_id, safe='')}/runs/{quote(r.run_id, safe='')}/tasks/"
                     f"{APPROVE_TASK}/required_actions") for r in rows]


@app.get("/", include_in_schema=False)
def index(user: UserDep) -> RedirectResponse:
    return RedirectResponse("dashboard", status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@app.get("/dashboard", response_class=HTMLResponse)
def dashboard(user: UserDep, schemes: SchemesDep, engine: Annotated[Any, Depends(ledger)],
              approvals: Annotated[list[Any], Depends(pending_approvals)]) -> HTMLResponse:
    """Per scheme: the latest runs and their figures, the take-up plot, what waits for approval."""
    from proactief.dashboard.render import dashboard_page

    html = dashboard_page(engine, schemes, user=user.get_name(), approvals=approvals, ui_base=ui_base())
    return HTMLResponse(html, headers=_NO_STORE)


@app.get("/lookup", response_class=HTMLResponse)
def lookup_form(user: UserDep, schemes: SchemesDep) -> HTMLResponse:
    from proactief.dashboard.render import lookup_page

    return HTMLResponse(lookup_page(schemes, user=user.get_name()), headers=_NO_STORE)


@app.post("/lookup", response_class=HTMLResponse)
def lookup(user: UserDep, schemes: SchemesDep, editable: EditableDep, engine: Annotated[Any, Depends(ledger)],
           insz: Annotated[str, Form()], scheme: Annotated[str, Form()]) -> HTMLResponse:
    """One person's latest decision for one scheme, explained; audited as a consultation by this user."""
    from proactief.dashboard.lookup import lookup_and_audit
    from proactief.dashboard.render import lookup_page
    from proactief.insz import InvalidINSZ
    from proactief.schemes import scheme_ids

    if scheme not in scheme_ids():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Onbekende regeling")
    if scheme not in schemes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Geen toegang tot deze regeling")
    number = "".join(ch for ch in insz if ch not in " .-/")  # as printed on an eID: 85.07.30-033.28
    try:
        explanation = lookup_and_audit(engine, number, scheme, consulted_by=user.get_name())
    except InvalidINSZ as exc:
        error = f"Dit is geen geldig INSZ: {_dutch_insz_error(str(exc))}. Kijk het nummer na en probeer opnieuw."
        return HTMLResponse(lookup_page(schemes, user=user.get_name(), error=error, scheme_id=scheme),
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, headers=_NO_STORE)
    return HTMLResponse(lookup_page(schemes, user=user.get_name(), explanation=explanation, scheme_id=scheme,
                                    export=_reads_every_scheme(schemes), bezwaar=scheme in editable,
                                    live_service=_advice_service() is not None),
                        headers=_NO_STORE)


def _advice_service() -> tuple[str, str] | None:
    from proactief.dashboard.live import service_settings

    return service_settings()


@app.post("/advies", response_class=HTMLResponse)
def live_advice(user: UserDep, schemes: SchemesDep, editable: EditableDep, engine: Annotated[Any, Depends(ledger)],
                lookup: Annotated[str, Form()], scheme: Annotated[str, Form()]) -> HTMLResponse:
    """Ask the advice service now about the looked-up person (the lookup's log reference names them, not an
    INSZ): today's advice beside the latest decision; the service audits its questions with this user."""
    import dataclasses

    from proactief.citizen.inzage import subject_of_lookup
    from proactief.dashboard.live import ask_now
    from proactief.dashboard.lookup import explain
    from proactief.dashboard.render import lookup_page
    from proactief.schemes import scheme_ids

    if scheme not in scheme_ids():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Onbekende regeling")
    if scheme not in schemes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Geen toegang tot deze regeling")
    service = _advice_service()
    if service is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Automatisch Advies is niet ingesteld")
    name = user.get_name()
    insz = subject_of_lookup(engine, lookup, consulted_by=name)
    if insz is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Zoek de persoon eerst (opnieuw) op")
    url, token = service
    live = ask_now(engine, insz, scheme, url=url, token=token, user=name)
    explanation = dataclasses.replace(explain(engine, insz, scheme), audit_ref=lookup)
    return HTMLResponse(lookup_page(schemes, user=name, explanation=explanation, scheme_id=scheme,
                                    export=_reads_every_scheme(schemes), bezwaar=scheme in editable,
                                    live_service=True, live=live),
                        headers=_NO_STORE)


@app.post("/bezwaar", response_class=HTMLResponse)
def record_bezwaar(user: UserDep, schemes: SchemesDep, editable: EditableDep,
                   engine: Annotated[Any, Depends(ledger)], lookup: Annotated[str, Form()],
                   scheme: Annotated[str, Form()], channel: Annotated[str, Form()],
                   received: Annotated[str, Form()], note: Annotated[str, Form()] = "") -> HTMLResponse:
    """Record an objection against the looked-up person's decision (the lookup's log reference names the person,
    not an INSZ); only for a user who may edit the scheme (else 403); kept with the user's name."""
    import datetime as dt

    from proactief.casework import CaseworkError
    from proactief.casework import record_bezwaar as record
    from proactief.citizen.inzage import subject_of_lookup
    from proactief.dashboard.render import lookup_page
    from proactief.schemes import scheme_ids

    if scheme not in scheme_ids():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Onbekende regeling")
    if scheme not in editable:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "U mag voor deze regeling geen bezwaar registreren")
    name = user.get_name()
    insz = subject_of_lookup(engine, lookup, consulted_by=name)
    if insz is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Zoek de persoon eerst (opnieuw) op")
    try:
        item = record(engine, insz=insz, scheme_id=scheme, channel=channel,
                      received_on=dt.date.fromisoformat(received), recorded_by=name, note=note.strip() or None,
                      may_edit=editable)
    except (CaseworkError, ValueError) as exc:
        return HTMLResponse(lookup_page(schemes, user=name, error=f"Bezwaar niet geregistreerd: {exc}",
                                        scheme_id=scheme), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                            headers=_NO_STORE)
    deadline = f"; termijn tot {item.deadline:%d/%m/%Y}" if item.deadline else ""
    late = " Te laat ingediend: toch geregistreerd en gemarkeerd." if item.late else ""
    log.info("dashboard: bezwaar %s recorded for %s by %s", item.id, scheme, name)
    return HTMLResponse(lookup_page(schemes, user=name, scheme_id=scheme,
                                    notice=f"Bezwaar #{item.id} geregistreerd{deadline}.{late}"),
                        headers=_NO_STORE)


def _reads_every_scheme(schemes: list[str]) -> bool:
    from proactief.schemes import scheme_ids

    return set(scheme_ids()) <= set(schemes)


@app.post("/inzage")
def citizen_export(user: UserDep, schemes: SchemesDep, engine: Annotated[Any, Depends(ledger)],
                   lookup: Annotated[str, Form()], fmt: Annotated[str, Form(alias="format")] = "html") -> Response:
    """The looked-up person's access document (HTML or PDF) as a download; audited with this user's name."""
    import datetime as dt

    from proactief.citizen import export_and_audit, render_html, render_pdf
    from proactief.citizen.inzage import subject_of_lookup

    if fmt not in ("html", "pdf"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "Kies html of pdf")
    if not _reads_every_scheme(schemes):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Het overzicht vraagt leestoegang tot alle regelingen")
    name = user.get_name()
    insz = subject_of_lookup(engine, lookup, consulted_by=name)
    if insz is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Zoek de persoon eerst (opnieuw) op")
    doc = export_and_audit(engine, insz, by=name, output=f"dashboard-{fmt}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    headers = {**_NO_STORE, "Content-Disposition": f'attachment; filename="inzage-{stamp}.{fmt}"'}
    if fmt == "pdf":
        return Response(render_pdf(doc), media_type="application/pdf", headers=headers)
    return Response(render_html(doc), media_type="text/html; charset=utf-8", headers=headers)


def _dutch_insz_error(message: str) -> str:
    if "11 digits" in message:
        return "een INSZ heeft precies 11 cijfers"
    if "day of birth" in message:
        return "de geboortedatum in het nummer kan niet bestaan"
    if "check digits" in message:
        return "de controlecijfers (de laatste twee) kloppen niet"
    return "het nummer klopt niet"


def _mount_json_api() -> None:
    """The JSON API for the city's other systems at ``/proactief/api/v1`` (``proactief_airflow.api``)."""
    from proactief_airflow.api import api

    app.mount("/api/v1", api)


_mount_json_api()
