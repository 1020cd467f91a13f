"""Ledger tables. Each table says what it keeps and for how long."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "MagdaConsultation", "AUDIT_RETENTION_YEARS"]

AUDIT_RETENTION_YEARS = 10

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


# BIGINT on PostgreSQL, INTEGER on SQLite (which only autoincrements an INTEGER PRIMARY KEY).
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class MagdaConsultation(Base):
    """One MAGDA consultation: who asked what about whom, when, why, and what came of it.

    Kept ``AUDIT_RETENTION_YEARS`` years so a citizen can ask who consulted their data. Holds no
    answer content — only references, the subject and the outcome class.
    """

    __tablename__ = "magda_consultation"
    __table_args__ = (
        UniqueConstraint("message_ref", "question_ref", "subject_insz", name="uq_magda_consultation_refs"),
        Index("ix_magda_consultation_subject_time", "subject_insz", "requested_at"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    message_ref: Mapped[str] = mapped_column(String(36))
    question_ref: Mapped[str] = mapped_column(String(36))
    service: Mapped[str] = mapped_column(String(80))
    afnemer: Mapped[str] = mapped_column(String(120))
    hoedanigheid: Mapped[str] = mapped_column(String(40))
    gebruiker: Mapped[str | None] = mapped_column(String(11))
    subject_insz: Mapped[str | None] = mapped_column(String(11))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    outcome: Mapped[str] = mapped_column(String(24))
    code: Mapped[str | None] = mapped_column(String(10))
    purpose: Mapped[str | None] = mapped_column(String(80))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    retain_until: Mapped[date] = mapped_column(Date, index=True)
