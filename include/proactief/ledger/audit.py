"""The ledger side of the MAGDA audit trail: an AuditSink that writes consultations to the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from proactief.ledger.models import AUDIT_RETENTION_YEARS, MagdaConsultation
from proactief.magda.audit import Consultation

__all__ = ["LedgerAuditSink", "consultations_about", "purge_expired_consultations"]


def _retain_until(moment: datetime) -> date:
    day = moment.date()
    try:
        return day.replace(year=day.year + AUDIT_RETENTION_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + AUDIT_RETENTION_YEARS, day=28)


class LedgerAuditSink:
    """Writes every consultation in one transaction per batch, so a list call of 1,000 persons is one insert."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, consultations: Sequence[Consultation]) -> None:
        if not consultations:
            return
        rows = [
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
        with self._engine.begin() as conn:
            conn.execute(insert(MagdaConsultation), rows)


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
