"""The ledger side of the MAGDA audit trail: an AuditSink that writes consultations to the database."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.orm import Session

from proactief.ledger.bulk import copy_rows
from proactief.ledger.models import AUDIT_RETENTION_YEARS, MagdaConsultation
from proactief.magda.audit import Consultation

__all__ = ["LOOKUP_AFNEMER", "LOOKUP_SERVICE", "LedgerAuditSink", "consultations_about",
           "purge_expired_consultations", "record_lookup"]

LOOKUP_SERVICE = "Proactief.Dashboard.Opzoeking"
"""The audit ``service`` of a person looked up by hand in the dashboard (not a MAGDA call, but the same log:
a citizen asking who consulted their data sees the call-centre lookups too)."""
LOOKUP_AFNEMER = "Stad Gent – Proactief dashboard"


_TABLE = MagdaConsultation.__table__
_COLUMNS = ("message_ref", "question_ref", "service", "afnemer", "hoedanigheid", "gebruiker", "subject_insz",
            "requested_at", "outcome", "code", "purpose", "duration_ms", "retain_until", "consulted_by")
"""The columns an automated consultation fills (``consulted_by``: the advice service's ``application/user``; NULL
for a run, where no staff account asked)."""


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
    On PostgreSQL a burst is one ``COPY`` (a city's 300,000 rows through executemany INSERTs cost the client and
    the server several times more).
    A failed write fails every caller whose rows it carried."""

    def __init__(self, engine: Engine, *, consulted_by: str | None = None) -> None:
        self._engine = engine
        self._consulted_by = consulted_by[:120] if consulted_by else None
        """Who the consultations were made for (the advice service's ``application/user``); None for runs."""
        self._lock = threading.Lock()
        self._queue: list[tuple[list[tuple[object, ...]], Future[None]]] = []
        self._writing = False

    def record(self, consultations: Sequence[Consultation]) -> None:
        if not consultations:
            return
        retain: dict[date, date] = {}
        rows: list[tuple[object, ...]] = []
        for c in consultations:
            day = c.requested_at.date()
            until = retain.get(day)
            if until is None:
                until = retain[day] = _retain_until(c.requested_at)
            rows.append((c.message_ref, c.question_ref, c.service, c.afnemer, c.hoedanigheid, c.gebruiker,
                         c.subject, c.requested_at, c.outcome.value if hasattr(c.outcome, "value") else str(c.outcome),
                         c.code, c.purpose, c.duration_ms, until, self._consulted_by))
        done: Future[None] = Future()
        with self._lock:
            self._queue.append((rows, done))
            lead = not self._writing
            self._writing = self._writing or lead
        if lead:
            self._drain()
        done.result()

    def _take(self) -> list[tuple[list[tuple[object, ...]], Future[None]]]:
        """Everything queued so far; an empty queue ends this writer's turn (the next caller leads)."""
        with self._lock:
            batch, self._queue = self._queue, []
            if not batch:
                self._writing = False
            return batch

    def _drain(self) -> None:
        # One connection for the bursts that queue up while this writer writes (one pool checkout and pre-ping,
        # not one per burst); after a failed write the next burst takes a fresh connection.
        while batch := self._take():
            try:
                conn = self._engine.connect()
            except BaseException as exc:  # noqa: BLE001 (handed to every waiting caller)
                _settle(batch, exc)
                continue
            try:
                while _write(conn, batch):
                    batch = self._take()
                    if not batch:
                        return
            finally:
                # Closing a connection a failed write broke may raise; nothing is lost by ignoring that, and an
                # exception here would leave this writer's turn taken and every queued caller waiting for ever.
                with contextlib.suppress(Exception):
                    conn.close()


def _write(conn: Connection, batch: list[tuple[list[tuple[object, ...]], Future[None]]]) -> bool:
    """One burst in one transaction (a ``COPY`` on PostgreSQL); settles its callers; False when it failed."""
    try:
        with conn.begin():
            copy_rows(conn, _TABLE, _COLUMNS, [row for rows, _ in batch for row in rows])
    except BaseException as exc:  # noqa: BLE001 (handed to every waiting caller)
        _settle(batch, exc)
        return False
    _settle(batch, None)
    return True


def _settle(batch: list[tuple[list[tuple[object, ...]], Future[None]]], exc: BaseException | None) -> None:
    for _, waiting in batch:
        if exc is None:
            waiting.set_result(None)
        else:
            waiting.set_exception(exc)


def record_lookup(engine: Engine, *, subject_insz: str, consulted_by: str, outcome: str, hoedanigheid: str,
                  purpose: str = "callcenter", at: datetime | None = None, service: str = LOOKUP_SERVICE,
                  afnemer: str = LOOKUP_AFNEMER) -> str:
    """Write one dashboard lookup of a person to the consultation log, committed before the answer is shown.

    ``consulted_by`` is the staff account that looked (the Airflow user name); ``hoedanigheid`` the capacity of
    the scheme the lookup was for. ``service``/``afnemer`` name another kind of look by staff (the citizen's access
    document: ``Proactief.Burger.Inzage``). Returns the row's message reference."""
    moment = at or datetime.now(UTC)
    ref = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(insert(MagdaConsultation).values(
            message_ref=ref, question_ref=ref, service=service[:80], afnemer=afnemer[:120],
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
