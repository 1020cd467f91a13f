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
from fastapi.responses import HTMLResponse, RedirectResponse

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
def lookup(user: UserDep, schemes: SchemesDep, engine: Annotated[Any, Depends(ledger)],
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
    return HTMLResponse(lookup_page(schemes, user=user.get_name(), explanation=explanation, scheme_id=scheme),
                        headers=_NO_STORE)


def _dutch_insz_error(message: str) -> str:
    if "11 digits" in message:
        return "een INSZ heeft precies 11 cijfers"
    if "day of birth" in message:
        return "de geboortedatum in het nummer kan niet bestaan"
    if "check digits" in message:
        return "de controlecijfers (de laatste twee) kloppen niet"
    return "het nummer klopt niet"
