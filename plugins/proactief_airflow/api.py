"""The JSON API for the city's other systems (the call centre's CRM, "Mijn Gent"), version 1, mounted by the dashboard
app at ``/proactief/api/v1`` (so ``<api-server>/proactief/api/v1/...``).

Same authentication as the dashboard: Airflow's own ``get_user`` (a Bearer token from ``POST /auth/token``, or the
UI's ``_token`` cookie; none → 401). Same authorization, per scheme, by the auth manager: a status read shows only
the schemes whose DAG the user may read (``is_authorized_dag`` GET; the others are left out, not an error); a
bezwaar needs edit rights on its scheme (PUT; else 403); an opt-out stops everything for the person in every
scheme, so it needs edit rights on every scheme (else 403).

The INSZ travels only in POST bodies: no route takes it in a path or a query, and a request that puts ``insz`` in
its query string is refused (400) so it does not become a habit that fills access logs. Answers never echo the INSZ;
a bad body gets a 422 with one line that names the field (never its value). Every status read is written to the
consultation log (``Proactief.API.Status``, with the user) before the answer goes out; every write keeps the user's
name. A write is one ledger transaction: it is either recorded in full or not at all (ledger down → 503, retry).

The OpenAPI document is ``GET /proactief/api/v1/openapi.json`` and the Swagger page ``GET /proactief/api/v1/docs``,
both behind the same authentication.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("proactief.api")

EXAMPLE_INSZ = "85673003360"
"""A MAGDA test number (month + 60): never a real person's INSZ in the documentation."""
_NO_STORE = {"Cache-Control": "no-store"}

api = FastAPI(
    title="Proactief Gent – JSON API",
    version="1",
    description=(
        "One person's decisions, grants, letters, opt-out and open objections (bezwaren) per scheme, for the city's "
        "other systems (the call centre's CRM, Mijn Gent); opt-outs and bezwaren recorded through it. Behind "
        "Airflow's authentication (Bearer token from `POST /auth/token`); per-scheme authorization by Airflow's "
        "auth manager (DAG read for a status, DAG edit for a bezwaar, edit on every scheme for an opt-out). "
        "The INSZ is sent only in POST bodies and never returned. Every status read is audited with the user."),
    docs_url=None, redoc_url=None, openapi_url=None,
)

UserDep = Annotated[BaseUser, Depends(get_user)]


def ledger() -> Any:
    """FastAPI dependency: the dashboard's pooled ledger engine."""
    from proactief_airflow.dashboard import ledger as dashboard_ledger

    return dashboard_ledger()


def readable_schemes(user: UserDep) -> list[str]:
    """The schemes whose DAG this user may read (the dashboard's rule)."""
    from proactief_airflow.dashboard import readable_schemes as rule

    return rule(user)


def editable_schemes(user: UserDep) -> list[str]:
    """The schemes whose DAG this user may edit (the dashboard's rule for a bezwaar)."""
    from proactief_airflow.dashboard import editable_schemes as rule

    return rule(user)


def no_insz_in_url(request: Request) -> None:
    """Refuse a request that carries an INSZ in its query string (it would end up in access logs)."""
    if any(key.lower() == "insz" for key in request.query_params):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Send the INSZ in the POST body, never in the URL")


EngineDep = Annotated[Any, Depends(ledger)]
ReadableDep = Annotated[list[str], Depends(readable_schemes)]
EditableDep = Annotated[list[str], Depends(editable_schemes)]


@api.exception_handler(RequestValidationError)
async def _invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
    """One line naming the field and what is wrong: never the value (FastAPI's default echoes the input)."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        where, message = "body", "not valid JSON"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return JSONResponse({"detail": f"{where}: {message}{more}"}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                        headers=_NO_STORE)


@api.exception_handler(DBAPIError)
async def _ledger_down(request: Request, exc: DBAPIError) -> JSONResponse:
    log.warning("api: the ledger could not be used (%s); nothing was recorded", type(exc.orig).__name__)
    return JSONResponse({"detail": "The ledger is not available: nothing was recorded or read. Try again later."},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers=_NO_STORE)


# ------------------------------------------------------------------------------------------------------- models


def _clean_insz(value: object) -> str:
    from proactief.insz import validate_insz

    if not isinstance(value, str):
        raise ValueError("INSZ must be a string of 11 digits")
    return validate_insz("".join(ch for ch in value if ch not in " .-/"))  # as printed on an eID: 85.07.30-033.28


class PersonRequest(BaseModel):
    """Who: the INSZ, in the body only (never in a URL)."""

    insz: str = Field(description="The person's INSZ (rijksregister- or bisnummer): 11 digits; dots, dashes and "
                                  "spaces as printed on an eID are allowed. Checked (month, day, modulo 97).",
                      examples=[EXAMPLE_INSZ])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"insz": EXAMPLE_INSZ}]})

    @field_validator("insz", mode="before")
    @classmethod
    def _check_insz(cls, value: object) -> str:
        return _clean_insz(value)


class OptOutRequest(PersonRequest):
    """Record or withdraw the person's opt-out (GDPR art. 21: nothing is asked, granted or sent while it holds)."""

    channel: str = Field(min_length=1, max_length=20, description="How the person told the city (free text, "
                         "e.g. `contact-centre`, `web`, `letter`, `counter`).", examples=["contact-centre"])
    note: str | None = Field(default=None, max_length=500, description="Optional note for the file (no "
                             "personal data beyond what the case needs).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"insz": EXAMPLE_INSZ, "channel": "contact-centre"}]})


class BezwaarRequest(PersonRequest):
    """Record an objection (bezwaar) against the person's newest decision of one scheme."""

    scheme: str = Field(description="The scheme's id (its DAG id), e.g. `uitpas-kansentarief`.",
                        examples=["uitpas-kansentarief"])
    channel: str = Field(description="How the objection came in: `phone`, `counter`, `letter`, `email` or `web`.",
                         examples=["phone"])
    received_on: dt.date = Field(description="The day the city received the objection (not in the future).",
                                 examples=["2026-11-20"])
    letter_date: dt.date | None = Field(default=None, description="The date of the decision letter as the citizen "
                                        "quotes it; the 30-day deadline runs from it. Default: the day the letter "
                                        "was sent, else the decision's date.", examples=["2026-11-02"])
    note: str | None = Field(default=None, max_length=2000, description="Optional note for the case worker.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "insz": EXAMPLE_INSZ, "scheme": "uitpas-kansentarief", "channel": "phone", "received_on": "2026-11-20"}]})


class ReasonOut(BaseModel):
    code: str = Field(description="The reason code of the decision.", examples=["STATUTE_BIM_BVT"])
    text: str = Field(description="The reason in plain Dutch, as the call centre may read it out.",
                      examples=["Heeft de verhoogde tegemoetkoming (BIM/VT)."])


class DecisionOut(BaseModel):
    decision: str = Field(description="`eligible`, `not_eligible` or `undetermined`.", examples=["eligible"])
    label: str = Field(description="The decision in Dutch.", examples=["Heeft recht"])
    period: str = Field(examples=["2026-11"])
    reference_date: dt.date = Field(description="The date the facts were taken on (peildatum).")
    decided_at: dt.datetime
    dry_run: bool = Field(description="True for a trial run's decision: nothing was granted.")
    tier: str | None = Field(default=None, description="The tier (group) the person falls in, in Dutch, if any.")
    reasons: list[ReasonOut]


class GrantOut(BaseModel):
    period: str = Field(examples=["2026-11"])
    status: str = Field(description="`granted`, `waiting_card` (granted; waits for the person's UiTPAS), "
                        "`delivered`, `revoked`, `cancelled` (opt-out before delivery) or `expired` (no pass in "
                        "time).", examples=["delivered"])
    system: str = Field(description="The system that pays out.", examples=["uitpas"])
    valid_from: dt.date
    valid_until: dt.date | None = Field(description="Last day of the grant; null: open-ended.")
    granted_at: dt.datetime


class LetterOut(BaseModel):
    kind: str = Field(description="`grant_notice` (the message telling a grant) or `bezwaar_decision`.",
                      examples=["grant_notice"])
    channel: str = Field(description="`email`, `letter` or `ebox`.", examples=["email"])
    status: str = Field(description="`pending`, `sent`, `failed` or `cancelled`.", examples=["sent"])
    date: dt.date | None = Field(description="When it was sent (or queued, while not sent yet).")


class BezwaarOut(BaseModel):
    id: int
    period: str | None = Field(description="The period of the decision objected against.")
    received_on: dt.date
    channel: str
    deadline: dt.date | None = Field(description="Last day to object; null when there was no decision.")
    late: bool = Field(description="Received after the deadline (recorded all the same).")
    status: str = Field(description="`open`, `decided` or `withdrawn`.", examples=["open"])


class SchemeOut(BaseModel):
    scheme_id: str = Field(examples=["uitpas-kansentarief"])
    title: str = Field(examples=["UiTPAS kansentarief"])
    decision: DecisionOut | None = Field(description="The latest decision (real runs before trial runs); null when "
                                         "there is none.")
    grants: list[GrantOut] = Field(description="Every grant of the scheme to the person, newest first.")
    letters: list[LetterOut] = Field(description="The letters and e-mails about the scheme's grants and bezwaren.")
    open_bezwaren: list[BezwaarOut]


class OptOutOut(BaseModel):
    active: bool = Field(description="True while the person's opt-out holds: nothing is asked, granted or sent.")
    since: dt.datetime | None = None
    channel: str | None = None


class StatusOut(BaseModel):
    """The person's status in every scheme the caller may read (the others are left out)."""

    opt_out: OptOutOut
    schemes: list[SchemeOut]


class BezwaarRecorded(BaseModel):
    id: int = Field(description="The bezwaar's number in the ledger.", examples=[12])
    scheme: str = Field(examples=["uitpas-kansentarief"])
    period: str | None = Field(description="The period of the decision objected against (null: no decision yet).")
    deadline: dt.date | None = Field(description="Last day to object (null: no decision, a person sorts it out).")
    late: bool = Field(description="True when received after the deadline: recorded all the same, flagged.")
    status: str = Field(examples=["open"])
    recorded_by: str = Field(description="The authenticated user who recorded it.")
    already_recorded: bool = Field(default=False, description="True (status 200, not 201) when the same bezwaar "
                                   "(scheme, channel, day received) was already open: a retry records nothing twice.")


class Problem(BaseModel):
    detail: str = Field(description="One line, never the INSZ.", examples=["insz: INSZ check digits do not match "
                                                                          "(modulo 97)"])


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "An INSZ in the query string."},
    401: {"model": Problem, "description": "No or an invalid token."},
    403: {"model": Problem, "description": "The user may not do this for the scheme(s)."},
    422: {"model": Problem, "description": "A bad body or an INSZ that fails its check."},
    503: {"model": Problem, "description": "The ledger is down: nothing was recorded; try again."},
}


# ------------------------------------------------------------------------------------------------------- routes


@api.post("/persons/status", response_model=StatusOut, responses=_ERRORS, tags=["persons"],
          dependencies=[Depends(no_insz_in_url)])
def person_status(body: PersonRequest, user: UserDep, schemes: ReadableDep, engine: EngineDep) -> JSONResponse:
    """Per scheme the user may read: the latest decision with its reasons, the grants, the letters and the open
    bezwaren; and the person's opt-out. Audited (one row per scheme read, with the user) before the answer."""
    from dataclasses import asdict

    from proactief.api import status_and_audit

    if not schemes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You may not read any scheme")
    found = status_and_audit(engine, body.insz, schemes, consulted_by=user.get_name())
    out = StatusOut.model_validate(asdict(found))
    return JSONResponse(out.model_dump(mode="json"), headers=_NO_STORE)


def _may_edit_every_scheme(editable: list[str]) -> None:
    from proactief.schemes import scheme_ids

    if not set(scheme_ids()) <= set(editable):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "An opt-out stops every scheme: it needs edit rights on every scheme")


def _opt_out_answer(engine: Any, insz: str) -> JSONResponse:
    from sqlalchemy import select

    from proactief.ledger.models import OptOut

    with engine.connect() as conn:
        row = conn.execute(select(OptOut.active, OptOut.since, OptOut.channel).where(OptOut.insz == insz)).first()
    out = OptOutOut(active=True, since=row.since, channel=row.channel) if row is not None and row.active \
        else OptOutOut(active=False)
    return JSONResponse(out.model_dump(mode="json"), headers=_NO_STORE)


@api.post("/persons/opt-out", response_model=OptOutOut, responses=_ERRORS, tags=["opt-out"],
          dependencies=[Depends(no_insz_in_url)])
def record_opt_out(body: OptOutRequest, user: UserDep, editable: EditableDep, engine: EngineDep) -> JSONResponse:
    """Record the person's opt-out (GDPR art. 21) with the user's name: at once, in one transaction, pending
    messages to the person are cancelled and nothing is asked or granted any more. Recording it again keeps the
    first date. Answers the opt-out as it now stands."""
    from proactief.lifecycle.optout import record_objection

    return _change_opt_out(record_objection, "recorded", body, user, editable, engine)


@api.post("/persons/opt-out/withdraw", response_model=OptOutOut, responses=_ERRORS, tags=["opt-out"],
          dependencies=[Depends(no_insz_in_url)])
def withdraw_opt_out(body: OptOutRequest, user: UserDep, editable: EditableDep, engine: EngineDep) -> JSONResponse:
    """Record that the person withdrew their opt-out, with the user's name; the next run includes them again."""
    from proactief.lifecycle.optout import withdraw_objection

    return _change_opt_out(withdraw_objection, "withdrawn", body, user, editable, engine)


def _change_opt_out(change: Any, done: str, body: OptOutRequest, user: Any, editable: Any,
                    engine: Any) -> JSONResponse:
    """Record or withdraw an opt-out (``change``) in the user's name; a bad INSZ or channel is a 422."""
    _may_edit_every_scheme(editable)
    try:
        change(engine, body.insz, channel=body.channel, recorded_by=user.get_name(), note=body.note)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    log.info("api: opt-out %s by %s", done, user.get_name())
    return _opt_out_answer(engine, body.insz)


@api.post("/persons/bezwaar", response_model=BezwaarRecorded, status_code=status.HTTP_201_CREATED,
          responses=_ERRORS, tags=["bezwaar"], dependencies=[Depends(no_insz_in_url)])
def record_bezwaar(body: BezwaarRequest, user: UserDep, editable: EditableDep, engine: EngineDep) -> JSONResponse:
    """Record an objection against the person's newest decision of the scheme, with the user's name (201). 403 when
    the user may not edit the scheme. One received after its deadline is recorded all the same and answered with
    ``late: true``. Sent again while the same one is open (same scheme, channel and day received): nothing new is
    recorded; the answer is that one, with ``already_recorded: true`` (200)."""
    from proactief.api.writes import record_bezwaar_once
    from proactief.casework import CaseworkError, NotAllowed
    from proactief.schemes import scheme_ids

    if body.scheme not in scheme_ids():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "scheme: unknown scheme")
    if body.scheme not in editable:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You may not record a bezwaar for this scheme")
    name = user.get_name()
    try:
        item, new = record_bezwaar_once(engine, insz=body.insz, scheme_id=body.scheme, channel=body.channel,
                                        received_on=body.received_on, recorded_by=name,
                                        decision_date=body.letter_date, note=body.note or None, may_edit=editable)
    except NotAllowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You may not record a bezwaar for this scheme") from None
    except CaseworkError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    log.info("api: bezwaar %s %s for %s by %s", item.id, "recorded" if new else "already open", body.scheme, name)
    out = BezwaarRecorded(id=item.id, scheme=body.scheme, period=item.period, deadline=item.deadline, late=item.late,
                          status=item.status, recorded_by=item.by, already_recorded=not new)
    return JSONResponse(out.model_dump(mode="json"), headers=_NO_STORE,
                        status_code=status.HTTP_201_CREATED if new else status.HTTP_200_OK)


@api.get("/openapi.json", include_in_schema=False)
def openapi(user: UserDep, request: Request) -> JSONResponse:
    """The OpenAPI document of this API (behind the same authentication)."""
    doc = dict(api.openapi())
    root = request.scope.get("root_path", "")
    if root:
        doc["servers"] = [{"url": root}]
    return JSONResponse(doc)


@api.get("/docs", include_in_schema=False)
def docs(user: UserDep) -> HTMLResponse:
    """Swagger UI for the OpenAPI document."""
    return get_swagger_ui_html(openapi_url="openapi.json", title=f"{api.title} – docs")
