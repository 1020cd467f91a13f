"""The consultation record every MAGDA call leaves behind (kept 10 years, MAGDA.md "Obligations").

The client produces :class:`Consultation` rows and hands them to an :class:`AuditSink`; the ledger
implements the sink with a database table. The subject INSZ lives here and in the ledger only —
never in a log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

__all__ = ["OutcomeClass", "Consultation", "AuditSink", "MemoryAuditSink", "NOT_SENT", "SUBJECT_REFUSED"]

NOT_SENT = "NOT_SENT"
"""``code`` of a question the client did not send: the service's XSD refuses the subject's number (a data
error of that person). The row keeps the references the message would have had, ``duration_ms`` 0, so the
trail still shows what was asked about whom, when and why, and that MAGDA never saw it."""
SUBJECT_REFUSED = "XSD_SUBJ"
"""``code`` of a question MAGDA answered with a SOAP Fault (level 1) about the subject's number only: the
platform's schema refused that person's number, so it is that person's data error, not a bug."""


class OutcomeClass(StrEnum):
    """What a consultation came to, in the project's semantics (MAGDA.md error table)."""

    OK = "ok"
    DEFINITIVE = "definitive"  # no data / unknown person: the criterion is false
    TRANSIENT = "transient"  # source unavailable, overload, timeout, 5xx: undetermined
    NEEDS_INSCRIPTION = "needs_inscription"  # 40003: register in the repertorium, then ask again
    DATA_ERROR = "data_error"  # 20002, 30004: quarantine / refresh, no decision
    CONFIGURATION_ERROR = "configuration_error"  # 13001, 40001 …: fail loudly
    FAULT = "fault"  # SOAP Fault (level 1): a bug or configuration error


@dataclass(frozen=True, slots=True)
class Consultation:
    message_ref: str
    """``Afzender/Referte`` of the SOAP message (unique per message)."""
    question_ref: str
    """``Vraag/Referte`` (unique per question)."""
    service: str
    """Service key, e.g. ``SocZek.GeefSociaalStatuut-03.00``."""
    afnemer: str
    """``Afzender/Identificatie``: who asked."""
    hoedanigheid: str
    """``Afzender/Hoedanigheid``: the legal capacity (purpose) the question was asked under."""
    subject: str | None
    """The INSZ asked about (None for services without a subject, e.g. mutation notifications)."""
    requested_at: datetime
    outcome: OutcomeClass
    gebruiker: str | None = None
    """The civil servant (INSZ) who asked, for consultations by a person (call centre)."""
    code: str | None = None
    """The deciding ``Uitzondering/Identificatie`` when there was one."""
    purpose: str | None = None
    """Free label: the scheme id or job that caused the consultation."""
    duration_ms: int | None = None


class AuditSink(Protocol):
    def record(self, consultations: Sequence[Consultation]) -> None:
        """Persist the consultations; must not raise for ordinary volumes, must not log subjects."""
        ...


@dataclass
class MemoryAuditSink:
    """Keeps consultations in memory: for tests and for dry runs that must still show what was asked."""

    consultations: list[Consultation] = field(default_factory=list)

    def record(self, consultations: Sequence[Consultation]) -> None:
        self.consultations.extend(consultations)
