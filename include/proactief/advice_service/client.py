"""A client of the advice service: what the CLI, the dashboard lookup and (next) the DAGs call instead of MAGDA.

.. code-block:: python

    with AdviceServiceClient("http://advice:8091", token, user="callcenter/jan") as svc:
        advice = svc.advise("uitpas-kansentarief", d, insz)          # an AdviceOut
        svc.submit_batch("uitpas-2026-11-01-chunk-3", "uitpas-kansentarief", d, subjects)
        results = svc.wait_for_batch("uitpas-2026-11-01-chunk-3")     # every BatchResult, in order

The INSZ goes only in request bodies; errors carry the service's message and status, never a body sent.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from proactief.advice_service.models import (
    AdviceOut,
    AdviceRequest,
    BatchRequest,
    BatchResult,
    BatchStatus,
    BatchSubject,
    CityFacts,
    Purpose,
)

__all__ = ["AdviceServiceClient", "AdviceServiceError", "AdviceServiceSettings"]


class AdviceServiceError(RuntimeError):
    """The service refused or failed a call: ``status`` is the HTTP status (0: not reachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"advice service: HTTP {status}: {message}" if status else f"advice service: {message}")
        self.status = status


@dataclass(frozen=True)
class AdviceServiceSettings:
    """How a scheme run reaches the advice service (``PROACTIEF_ADVICE_URL``, ``_TOKEN``, ``_USER``,
    ``_WAIT_SECONDS``): with them, a run's chunks are decided by the service instead of in the task."""

    url: str
    token: str = field(repr=False)
    user: str = "airflow"
    """Who at the calling application asks (audited with each consultation as ``application/user``)."""
    wait_seconds: float = 3600.0
    """How long a chunk waits for its batch before the task fails (and its retry collects the same batch)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AdviceServiceSettings | None:
        """From the environment, or None when ``PROACTIEF_ADVICE_URL`` is not set (runs decide in-process).
        A URL without a token is refused: a run must not silently fall back to asking MAGDA itself."""
        env = os.environ if environ is None else environ
        url = (env.get("PROACTIEF_ADVICE_URL") or "").strip()
        if not url:
            return None
        token = (env.get("PROACTIEF_ADVICE_TOKEN") or "").strip()
        if not token:
            raise ValueError("PROACTIEF_ADVICE_URL is set but PROACTIEF_ADVICE_TOKEN is not")
        wait = (env.get("PROACTIEF_ADVICE_WAIT_SECONDS") or "").strip()
        return cls(url, token, (env.get("PROACTIEF_ADVICE_USER") or "").strip() or "airflow",
                   float(wait) if wait else 3600.0)


class AdviceServiceClient:
    """One application's connection to the service (its token), on behalf of ``user`` (audited with each call)."""

    def __init__(self, base_url: str, token: str, *, user: str, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._own = session is None
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "X-Proactief-User": user})

    def close(self) -> None:
        if self._own:
            self.session.close()

    def __enter__(self) -> AdviceServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None
              ) -> tuple[int, Any]:
        try:
            r = self.session.request(method, self.base_url + path, json=body, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise AdviceServiceError(0, f"not reachable at {self.base_url}: {type(exc).__name__}") from None
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail")
            except ValueError:
                detail = r.text[:200]
            if isinstance(detail, list):  # a validation error: the fields, never the values sent
                detail = "; ".join(f"{'.'.join(map(str, d.get('loc', ())))}: {d.get('msg')}" for d in detail)
            raise AdviceServiceError(r.status_code, str(detail))
        return r.status_code, r.json()

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/health")[1])

    def advise(self, scheme: str, reference_date: dt.date, insz: str, city: CityFacts | None = None) -> AdviceOut:
        """One subject's advice, now."""
        request = AdviceRequest(scheme=scheme, reference_date=reference_date, insz=insz,
                                city=city or CityFacts())
        return AdviceOut.model_validate(self._call("POST", "/v1/advice", body=request.model_dump(mode="json"))[1])

    def submit_batch(self, batch_id: str, scheme: str, reference_date: dt.date,
                     subjects: Iterable[BatchSubject], *, purpose: Purpose = "advice") -> BatchStatus:
        """Submit (or find again: the same id and content) a batch; returns its status. ``purpose="grant"``:
        a scheme run's chunk (results as :class:`~.models.StagedAdviceOut`)."""
        request = BatchRequest(batch_id=batch_id, scheme=scheme, reference_date=reference_date,
                               subjects=list(subjects), purpose=purpose)
        return BatchStatus.model_validate(self._call("POST", "/v1/batches", body=request.model_dump(mode="json"))[1])

    def batch(self, batch_id: str, *, offset: int = 0, limit: int | None = None) -> BatchStatus:
        params: dict[str, Any] = {"offset": offset}
        if limit is not None:
            params["limit"] = limit
        return BatchStatus.model_validate(self._call("GET", f"/v1/batches/{batch_id}", params=params)[1])

    def wait_for_batch(self, batch_id: str, *, timeout: float = 600.0, poll: float = 0.5) -> Sequence[BatchResult]:
        """Poll until the batch is done, then page through every result (in submission order)."""
        return self.collect_batch(batch_id, timeout=timeout, poll=poll)[1]

    def collect_batch(self, batch_id: str, *, timeout: float = 600.0, poll: float = 0.5
                      ) -> tuple[BatchStatus, Sequence[BatchResult]]:
        """Poll until the batch is done; its final status (answer dates, withheld questions) and every result."""
        deadline = time.monotonic() + timeout
        while (status := self.batch(batch_id, limit=0)).state != "done":
            if time.monotonic() > deadline:
                raise AdviceServiceError(0, f"batch {batch_id} not done after {timeout:.0f} s "
                                            f"({status.decided + status.failed}/{status.total})")
            time.sleep(poll)
        results: list[BatchResult] = []
        offset: int | None = 0
        while offset is not None:
            page = self.batch(batch_id, offset=offset)
            results.extend(page.results)
            offset = page.next_offset
        return status, results
