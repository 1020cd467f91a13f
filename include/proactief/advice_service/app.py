"""The advice service over HTTP (FastAPI): ``proactief advice-service`` serves :func:`create_app`.

- ``GET /health``: the process and its ledger (no credential; for the container's health check).
- ``POST /v1/advice``: one subject, synchronously → :class:`~.models.AdviceOut`.
- ``POST /v1/batches``: a batch under the caller's id → 202 (new) or 200 (the same batch again), its status.
- ``GET /v1/batches/{batch_id}?offset=&limit=``: progress and a page of results.

Every ``/v1`` call needs ``Authorization: Bearer <token>`` of a configured application (401 otherwise) and
``X-Proactief-User`` (who at the application asked; 400 without). INSZ travel only in POST bodies; the access log
shows paths (batch ids refuse long digit runs) and never a body.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from proactief.advice_service import store
from proactief.advice_service.config import AdviceServiceConfig
from proactief.advice_service.models import AdviceOut, AdviceRequest, BatchRequest, BatchStatus
from proactief.advice_service.service import AdviceService, SubjectObjected, UnknownScheme
from proactief.ledger import open_ledger
from proactief.magda.client import MagdaConfigurationError, MagdaFault
from proactief.magda.config import MagdaConfig
from proactief.schemes.inforce import SchemeNotInForce

__all__ = ["Caller", "create_app"]

log = logging.getLogger("proactief.advice_service")


class Caller:
    """The authenticated application and the user at it, for the audit."""

    def __init__(self, application: str, user: str) -> None:
        self.application = application
        self.user = user


def _service(request: Request) -> AdviceService:
    return request.app.state.service  # type: ignore[no-any-return]


def _caller(request: Request, authorization: Annotated[str | None, Header()] = None,
            x_proactief_user: Annotated[str | None, Header()] = None) -> Caller:
    """The calling application by its Bearer token (401 without a known one) and the user it names (400 without)."""
    cfg: AdviceServiceConfig = request.app.state.config
    scheme, _, token = (authorization or "").partition(" ")
    application = cfg.application_for(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if application is None:
        raise HTTPException(401, "a valid Bearer token of a calling application is required",
                            headers={"WWW-Authenticate": "Bearer"})
    user = (x_proactief_user or "").strip()
    if not user or len(user) > 80:
        raise HTTPException(400, "X-Proactief-User (who at the application asks, ≤ 80 characters) is required")
    return Caller(application, user)


Auth = Annotated[Caller, Depends(_caller)]
Service = Annotated[AdviceService, Depends(_service)]


def create_app(config: AdviceServiceConfig | None = None, magda: MagdaConfig | None = None) -> FastAPI:
    """The app; configuration from ``PROACTIEF_ADVICE_*`` and ``PROACTIEF_MAGDA_*`` unless given."""
    cfg = config or AdviceServiceConfig.from_env()
    magda_cfg = magda or MagdaConfig.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_ledger(cfg.db_url)
        service = AdviceService(cfg, magda_cfg, engine)
        app.state.service = service
        service.start()
        log.info("advice service %s ready (%d application(s))", cfg.instance, len(set(cfg.tokens.values())))
        try:
            yield
        finally:
            service.stop()
            engine.dispose()

    app = FastAPI(title="Proactief Gent – Automatisch Advies", version="1", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.config = cfg

    @app.get("/health")
    def health(svc: Service) -> dict[str, str]:
        try:
            with svc.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported as unhealthy, message without credentials
            raise HTTPException(503, f"ledger unreachable: {type(exc).__name__}") from None
        return {"status": "ok", "instance": cfg.instance}

    @app.post("/v1/advice", response_model=AdviceOut)
    def advise(body: AdviceRequest, who: Auth, svc: Service) -> AdviceOut:
        try:
            return svc.advise(body, application=who.application, user=who.user)
        except UnknownScheme:
            raise HTTPException(404, f"unknown scheme {body.scheme!r}") from None
        except SchemeNotInForce as exc:
            raise HTTPException(422, str(exc)) from None
        except SubjectObjected as exc:
            raise HTTPException(409, str(exc)) from None
        except (MagdaConfigurationError, MagdaFault) as exc:
            raise HTTPException(502, f"MAGDA refused the question: {type(exc).__name__}") from None

    @app.post("/v1/batches", response_model=BatchStatus, status_code=202)
    def submit(body: BatchRequest, who: Auth, svc: Service, response: Response) -> BatchStatus:
        if body.purpose == "grant" and who.application not in cfg.grant_applications:
            raise HTTPException(403, "this application may not submit grant batches")
        if len(body.subjects) > cfg.max_batch:
            raise HTTPException(413, f"at most {cfg.max_batch} subjects per batch")
        try:
            status, created = svc.submit(body, application=who.application, user=who.user)
        except UnknownScheme:
            raise HTTPException(404, f"unknown scheme {body.scheme!r}") from None
        except SchemeNotInForce as exc:
            raise HTTPException(422, str(exc)) from None
        except store.BatchNotFound:
            raise HTTPException(409, "this batch id is taken") from None
        except store.BatchConflict as exc:
            raise HTTPException(409, str(exc)) from None
        if not created:
            response.status_code = 200
        return status

    @app.get("/v1/batches/{batch_id}", response_model=BatchStatus)
    def batch(batch_id: str, who: Auth, svc: Service, offset: Annotated[int, Query(ge=0)] = 0,
              limit: Annotated[int | None, Query(ge=0)] = None) -> BatchStatus | JSONResponse:
        try:
            return store.status(svc.engine, batch_id, application=who.application, offset=offset,
                                limit=min(limit if limit is not None else cfg.page_size, cfg.page_size))
        except store.BatchNotFound:
            return JSONResponse({"detail": "no such batch"}, status_code=404)

    return app
