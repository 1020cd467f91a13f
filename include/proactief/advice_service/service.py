"""The advice service's work, without HTTP: one subject now, batches in the background.

One :class:`~proactief.magda.client.MagdaClient` per process (one connection pool, the afnemer's certificate);
each request records its consultations with the caller (``application/user`` in ``consulted_by``) through a view
of that client. The decisions are the advice engine's own (:class:`~proactief.advice.engine.Advisor`): the same
person decided here and in a run gets the same advice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from proactief.advice.engine import Advice, Advisor
from proactief.advice_service import store
from proactief.advice_service.city import SubmittedCity
from proactief.advice_service.config import AdviceServiceConfig
from proactief.advice_service.models import AdviceOut, AdviceRequest, BatchRequest, BatchStatus, StagedAdviceOut
from proactief.advice_service.staging import AnswerDates, objectors, staged_flags, staged_summary
from proactief.ledger.audit import LedgerAuditSink, record_lookup
from proactief.magda.client import MagdaClient, MagdaConfigurationError, MagdaFault
from proactief.magda.config import MagdaConfig
from proactief.schemes import Scheme, load_all
from proactief.schemes.inforce import require_in_force

__all__ = ["ADVICE_SERVICE", "AdviceService", "SubjectObjected", "UnknownScheme"]

log = logging.getLogger("proactief.advice_service")

ADVICE_SERVICE = "Proactief.Adviesdienst.Advies"
"""Audit ``service`` of one subject asked of the service (counter, call centre, CLI): who asked about whom."""
_MAX_ATTEMPTS = 3


class UnknownScheme(LookupError):
    """The request names a scheme this service does not know."""


class SubjectObjected(PermissionError):
    """The subject objected (opt-out): nothing is asked about them; a benefit is then applied for by hand."""


class AdviceService:
    """Holds the MAGDA client, the schemes and the ledger; decides subjects and works through batches."""

    def __init__(self, config: AdviceServiceConfig, magda: MagdaConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.schemes: dict[str, Scheme] = dict(load_all())
        hoedanigheden = {**magda.hoedanigheden,
                         **{s.id: s.magda.hoedanigheid for s in self.schemes.values()
                            if s.id not in magda.hoedanigheden}}
        # One client for the process: each batch worker gets the concurrency a run's chunk task has on its own.
        self.magda = magda.with_changes(hoedanigheden=hoedanigheden, auto_register=True,
                                        max_concurrency=magda.max_concurrency * max(1, config.workers))
        self.client = MagdaClient(self.magda, LedgerAuditSink(engine))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._claims: set[str] = set()
        self._claims_lock = threading.Lock()

    def scheme(self, scheme_id: str) -> Scheme:
        try:
            return self.schemes[scheme_id]
        except KeyError:
            raise UnknownScheme(scheme_id) from None

    def _client_for(self, consulted_by: str) -> MagdaClient:
        return self.client.with_audit(LedgerAuditSink(self.engine, consulted_by=consulted_by))

    # ------------------------------------------------------------------------------------------ one subject

    def advise(self, request: AdviceRequest, *, application: str, user: str) -> AdviceOut:
        """Decide one subject now. Raises UnknownScheme, SchemeNotInForce, MagdaConfigurationError, MagdaFault."""
        scheme = self.scheme(request.scheme)
        require_in_force(scheme, request.reference_date)  # before MAGDA is asked anything about the person
        consulted_by = f"{application}/{user}"[:120]
        city = SubmittedCity([(request.insz, request.city)])
        outcome = "error"
        if objectors(self.engine, [request.insz]):
            record_lookup(self.engine, subject_insz=request.insz, consulted_by=consulted_by, outcome="opted_out",
                          hoedanigheid=scheme.magda.hoedanigheid, purpose=scheme.id, service=ADVICE_SERVICE,
                          afnemer=f"Stad Gent – Automatisch Advies ({application})")
            raise SubjectObjected("the person objected: nothing is asked about them")
        try:
            # Whoever objected (the subject, a household member) is never asked about, as in a run.
            advice = Advisor(self._client_for(consulted_by), scheme, city,
                             withheld=lambda people: objectors(self.engine, people)).advise_one(
                request.insz, request.reference_date)
            out = AdviceOut.from_advice(advice, compared_household=request.city.household is not None)
            outcome = out.decision
        finally:
            record_lookup(self.engine, subject_insz=request.insz, consulted_by=consulted_by, outcome=outcome,
                          hoedanigheid=scheme.magda.hoedanigheid, purpose=scheme.id, service=ADVICE_SERVICE,
                          afnemer=f"Stad Gent – Automatisch Advies ({application})")
        return out

    # ------------------------------------------------------------------------------------------ batches

    def submit(self, request: BatchRequest, *, application: str, user: str) -> tuple[BatchStatus, bool]:
        """Store a batch (idempotent on its id) and wake the worker. Raises UnknownScheme, SchemeNotInForce,
        store.BatchConflict, store.BatchNotFound (the id is another application's)."""
        scheme = self.scheme(request.scheme)
        require_in_force(scheme, request.reference_date)
        result = store.submit(self.engine, request, application=application, user=user,
                              hoedanigheid=scheme.magda.hoedanigheid, retention_days=self.config.retention_days)
        self._wake.set()
        return result

    def work_once(self) -> bool:
        """Claim one chunk and decide it; False when there was nothing to do."""
        chunk = store.claim(self.engine, instance=self.config.instance, size=self.config.chunk_size,
                            lease_seconds=self.config.lease_seconds)
        if chunk is None:
            return False
        with self._holding(chunk.claim):
            try:
                scheme = self.scheme(chunk.scheme_id)
                city = SubmittedCity((insz, facts) for _, insz, facts in chunk.subjects)
                answered = AnswerDates(LedgerAuditSink(self.engine, consulted_by=chunk.consulted_by))
                # Household members and reference persons who objected are not asked about: the same ledger,
                # the same question as a run's (one query per round).
                advisor = Advisor(self.client.with_audit(answered), scheme, city,
                                  withheld=lambda people: objectors(self.engine, people))
                compared = {insz for _, insz, facts in chunk.subjects if facts.household is not None}
                by_subject = {a.subject: self._result(a, scheme, chunk.purpose, compared)
                              for a in advisor.advise_many([insz for _, insz, _ in chunk.subjects],
                                                           chunk.reference_date)}
            except (MagdaConfigurationError, MagdaFault, UnknownScheme) as exc:
                self._failed(chunk, exc)
                return True
            except Exception:
                log.exception("batch %s: a chunk failed; it is given back", chunk.batch_id)
                store.release(self.engine, chunk)
                time.sleep(self.config.poll_seconds)
                return True
            written = store.complete(self.engine, chunk, {pos: by_subject[insz] for pos, insz, _ in chunk.subjects},
                                     instance=self.config.instance, answered=answered.latest,
                                     withheld=advisor.stats.withheld)
        if written < len(chunk.subjects):
            log.warning("batch %s: %d of %d results not written (the lease was taken over)", chunk.batch_id,
                        len(chunk.subjects) - written, len(chunk.subjects))
        return True

    @staticmethod
    def _result(advice: Advice, scheme: Scheme, purpose: str, compared: set[str]) -> dict[str, Any]:
        """A subject's stored result: the advice, or (``grant``) the advice as a run stages it — through the
        response model either way, so nothing beyond its fields is ever stored or answered."""
        if purpose == "grant":
            flags = staged_flags(advice)
            del flags["outcome"]  # the advice's decision
            return StagedAdviceOut.model_validate({**staged_summary(advice, scheme), **flags}).model_dump(mode="json")
        return AdviceOut.from_advice(advice, compared_household=advice.subject in compared).model_dump(mode="json")

    def _failed(self, chunk: store.Claimed, exc: Exception) -> None:
        """MAGDA refused (configuration, SOAP Fault): retried by the next claim, failed after a few attempts."""
        from sqlalchemy import select

        from proactief.ledger.models import AdviceBatchItem

        with self.engine.connect() as conn:
            attempts = conn.execute(select(AdviceBatchItem.attempts)
                                    .where(AdviceBatchItem.claim == chunk.claim)).scalars().all()
        message = f"MAGDA refused the questions: {type(exc).__name__}: {exc}"[:300]
        if attempts and max(attempts) >= _MAX_ATTEMPTS:
            store.complete(self.engine, chunk, {pos: {"error": message} for pos, _, _ in chunk.subjects},
                           instance=self.config.instance, failed=True)
        else:
            log.warning("batch %s: %s; the chunk is given back", chunk.batch_id, type(exc).__name__)
            store.release(self.engine, chunk)

    @contextmanager
    def _holding(self, claim: str) -> Iterator[None]:
        with self._claims_lock:
            self._claims.add(claim)
        try:
            yield
        finally:
            with self._claims_lock:
                self._claims.discard(claim)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.work_once()
            except Exception:
                log.exception("batch worker: claiming failed")
                busy = False
            if not busy:
                self._wake.wait(self.config.poll_seconds)
                self._wake.clear()

    def _heartbeat(self) -> None:
        interval = self.config.lease_seconds / 3
        while not self._stop.wait(interval):
            with self._claims_lock:
                claims = list(self._claims)
            try:
                store.renew(self.engine, claims, self.config.lease_seconds)
            except Exception:
                log.exception("batch worker: renewing leases failed")

    def start(self) -> None:
        """Start the batch worker and its heartbeat (unless this instance only answers HTTP)."""
        if not self.config.batch_worker:
            return
        targets = [(self._work, f"advice-batches-{n}") for n in range(self.config.workers)]
        for target, name in (*targets, (self._heartbeat, "advice-leases")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the chunk in hand (its results are written), claim nothing more, close the MAGDA client."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.client.close()
