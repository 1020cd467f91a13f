"""The ledger side of the MAGDA audit trail: an AuditSink that writes consultations to the database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC, date, datetime

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from proactief.ledger.models import AUDIT_RETENTION_YEARS, MagdaConsultation
from proactief.magda.audit import Consultation

__all__ = ["LOOKUP_AFNEMER", "LOOKUP_SERVICE", "LedgerAuditSink", "consultations_about",
           "purge_expired_consultations", "record_lookup"]

LOOKUP_SERVICE = "Proactief.Dashboard.Opzoeking"
"""The audit ``service`` of a person looked up by hand in the dashboard (not a MAGDA call, but the same log:
a citizen asking who consulted their data sees the call-centre lookups too)."""
LOOKUP_AFNEMER = "Stad Gent – Proactief dashboard"


def _retain_until(moment: datetime) -> date:
    day = moment.date()
    try:
        return day.replace(year=day.year + AUDIT_RETENTION_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + AUDIT_RETENTION_YEARS, day=28)


class LedgerAuditSink:
    """Writes every consultation before the client hands the answer on, with group commit.

    ``record`` returns only once its rows are committed, so the log holds every question before its answer is
    used. Concurrent callers (the client's worker threads) share one transaction: whoever finds no write in
    progress writes everything queued so far, and again until the queue is empty. One commit per burst instead of
    one per single call took a whole-city run's audit cost from most of the MAGDA step to a small part of it.
    A failed write fails every caller whose rows it carried."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._queue: list[tuple[list[dict[str, object]], Future[None]]] = []
        self._writing = False

    def record(self, consultations: Sequence[Consultation]) -> None:
        if not consultations:
            return
        rows: list[dict[str, object]] = [
            {
                "message_ref": c.message_ref,
                "question_ref": c.question_ref,
                "service": c.service,
                "afnemer": c.afnemer,
                "hoedanigheid": c.hoedanigheid,
                "gebruiker": c.gebruiker,
                "subject_insz": c.subject,
                "requested_at": c.requested_at,
                "outcome": c.outcome.value if hasattr(c.outcome, "value") else str(c.outcome),
                "code": c.code,
                "purpose": c.purpose,
                "duration_ms": c.duration_ms,
                "retain_until": _retain_until(c.requested_at),
            }
            for c in consultations
        ]
        done: Future[None] = Future()
        with self._lock:
            self._queue.append((rows, done))
            lead = not self._writing
            self._writing = self._writing or lead
        if lead:
            self._drain()
        done.result()

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._writing = False
                    return
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(MagdaConsultation), [row for rows, _ in batch for row in rows])
            except BaseException as exc:  # noqa: BLE001 (handed to every waiting caller)
                for _, waiting in batch:
                    waiting.set_exception(exc)
            else:
                for _, waiting in batch:
                    waiting.set_result(None)


def record_lookup(engine: Engine, *, subject_insz: str, consulted_by: str, outcome: str, hoedanigheid: str,
                  purpose: str = "callcenter", at: datetime | None = None) -> str:
    """Write one dashboard lookup of a person to the consultation log, committed before the answer is shown.

    ``consulted_by`` is the staff account that looked (the Airflow user name); ``hoedanigheid`` the capacity of
    the scheme the lookup was for. Returns the row's message reference."""
    moment = at or datetime.now(UTC)
    ref = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(insert(MagdaConsultation).values(
            message_ref=ref, question_ref=ref, service=LOOKUP_SERVICE, afnemer=LOOKUP_AFNEMER,
            hoedanigheid=hoedanigheid[:40], gebruiker=None, subject_insz=subject_insz, requested_at=moment,
            outcome=outcome[:24], code=None, purpose=purpose[:80], duration_ms=None,
            retain_until=_retain_until(moment), consulted_by=consulted_by[:120]))
    return ref


def consultations_about(engine: Engine, insz: str) -> list[MagdaConsultation]:
    """Who consulted this person's data, when and why: the answer to a citizen's access request."""
    with Session(engine) as session:
        stmt = (
            select(MagdaConsultation)
            .where(MagdaConsultation.subject_insz == insz)
            .order_by(MagdaConsultation.requested_at)
        )
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def purge_expired_consultations(engine: Engine, today: date) -> int:
    """Delete audit rows past their 10-year retention; returns how many went."""
    with engine.begin() as conn:
        result = conn.execute(delete(MagdaConsultation).where(MagdaConsultation.retain_until < today))
        return int(result.rowcount or 0)
