"""One person's status for the city's other systems, per scheme: the latest decision and its reasons (codes and the
Dutch sentences the call centre reads), the grants, the letters, open bezwaren; and the opt-out.

Only the schemes the caller may read are read. :func:`status_and_audit` writes one row per scheme read to the
consultation log (service ``Proactief.API.Status``, the user's name as ``consulted_by``) before the answer is
returned, so the citizen's "who looked at my data" lists these reads too. Nothing here logs an INSZ.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select

from proactief.casework.core import casework_of
from proactief.citizen.sources import API_SERVICE
from proactief.insz import validate_insz
from proactief.ledger.models import (
    DecisionRow,
    GrantRow,
    ManualDecision,
    Notice,
    OptOut,
    OutboxMessage,
    SchemeRun,
)
from proactief.schemes import load_scheme

__all__ = ["API_AFNEMER", "API_SERVICE", "BezwaarStatus", "DecisionStatus", "GrantStatus", "LetterStatus",
           "OptOutStatus", "PersonStatus", "Reason", "SchemeStatus", "person_status", "status_and_audit"]

log = logging.getLogger("proactief.api")

API_AFNEMER = "Stad Gent – Proactief API"


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


@dataclass(frozen=True)
class DecisionStatus:
    decision: str
    label: str
    period: str
    reference_date: dt.date
    decided_at: dt.datetime
    dry_run: bool
    tier: str | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class GrantStatus:
    period: str
    status: str
    """``granted``, ``waiting_card`` (granted, waits for the person's pass), ``delivered``, ``revoked``,
    ``cancelled`` or ``expired``."""
    system: str
    valid_from: dt.date
    valid_until: dt.date | None
    granted_at: dt.datetime


@dataclass(frozen=True)
class LetterStatus:
    kind: str
    """``grant_notice`` (the letter or e-mail telling a grant) or ``bezwaar_decision`` (a case worker's decision)."""
    channel: str
    status: str
    date: dt.date | None
    """When it was sent; when it was queued while not sent yet."""


@dataclass(frozen=True)
class BezwaarStatus:
    id: int
    period: str | None
    received_on: dt.date
    channel: str
    deadline: dt.date | None
    late: bool
    status: str


@dataclass(frozen=True)
class SchemeStatus:
    scheme_id: str
    title: str
    decision: DecisionStatus | None
    grants: tuple[GrantStatus, ...] = ()
    letters: tuple[LetterStatus, ...] = ()
    open_bezwaren: tuple[BezwaarStatus, ...] = ()

    @property
    def outcome(self) -> str:
        return "found" if self.decision is not None else "no_decision"


@dataclass(frozen=True)
class OptOutStatus:
    active: bool
    since: dt.datetime | None = None
    channel: str | None = None


@dataclass(frozen=True)
class PersonStatus:
    opt_out: OptOutStatus
    schemes: tuple[SchemeStatus, ...] = field(default_factory=tuple)


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _scheme_status(conn: Connection, insz: str, scheme_id: str) -> SchemeStatus:
    from proactief.dashboard.lookup import DECISION_LABELS, reason_text

    scheme = load_scheme(scheme_id)
    tiers = {t.reason: t.title for t in scheme.tiers}
    row = conn.execute(
        select(DecisionRow.decision, DecisionRow.period, DecisionRow.reference_date, DecisionRow.decided_at,
               DecisionRow.tier, DecisionRow.reasons, SchemeRun.dry_run)
        .join(SchemeRun, SchemeRun.id == DecisionRow.run_id)
        .where(DecisionRow.insz == insz, DecisionRow.scheme_id == scheme_id)
        .order_by(SchemeRun.dry_run, DecisionRow.reference_date.desc(), DecisionRow.decided_at.desc(),
                  DecisionRow.id.desc()).limit(1)).first()
    decision = None
    if row is not None:
        decision = DecisionStatus(
            decision=row.decision, label=DECISION_LABELS.get(row.decision, row.decision), period=row.period,
            reference_date=row.reference_date, decided_at=row.decided_at, dry_run=bool(row.dry_run),
            tier={t.id: t.title for t in scheme.tiers}.get(row.tier or "", row.tier),
            reasons=tuple(Reason(c, reason_text(c, tiers)) for c in (row.reasons or ())))
    grants = []
    letters = []
    for g in conn.execute(select(GrantRow.id, GrantRow.period, GrantRow.status, GrantRow.system, GrantRow.valid_from,
                                 GrantRow.valid_until, GrantRow.granted_at)
                          .where(GrantRow.insz == insz, GrantRow.scheme_id == scheme_id)
                          .order_by(GrantRow.valid_from.desc(), GrantRow.id.desc())):
        state = g.status
        if state == "granted":
            waiting = conn.execute(select(OutboxMessage.id).where(
                OutboxMessage.grant_id == g.id, OutboxMessage.kind == "grant",
                OutboxMessage.status == "waiting_card")).first()
            state = "waiting_card" if waiting is not None else state
        grants.append(GrantStatus(g.period, state, g.system, g.valid_from, g.valid_until, g.granted_at))
        for m in conn.execute(select(OutboxMessage.channel, OutboxMessage.status, OutboxMessage.sent_at,
                                     OutboxMessage.created_at, Notice.sent_at.label("notice_sent_at"))
                              .outerjoin(Notice, Notice.id == OutboxMessage.notice_id)
                              .where(OutboxMessage.grant_id == g.id, OutboxMessage.kind == "notify")
                              .order_by(OutboxMessage.id)):
            letters.append(LetterStatus("grant_notice", m.channel, m.status,
                                        _day(m.sent_at or m.notice_sent_at or m.created_at)))
    for md in conn.execute(select(ManualDecision.letter_channel, ManualDecision.letter_status,
                                  ManualDecision.decided_at, Notice.sent_at)
                           .outerjoin(Notice, Notice.id == ManualDecision.letter_notice_id)
                           .where(ManualDecision.insz == insz, ManualDecision.scheme_id == scheme_id,
                                  ManualDecision.letter_status.is_not(None))
                           .order_by(ManualDecision.id)):
        letters.append(LetterStatus("bezwaar_decision", md.letter_channel or "letter", md.letter_status,
                                    _day(md.sent_at or md.decided_at)))
    bezwaren = tuple(BezwaarStatus(i.id, i.period, i.received_on, i.channel or "", i.deadline, i.late, i.status)
                     for i in casework_of(conn, insz, scheme_id)
                     if i.kind == "bezwaar" and i.status == "open" and i.received_on is not None)
    return SchemeStatus(scheme_id, scheme.title, decision, tuple(grants), tuple(letters), bezwaren)


def person_status(engine: Engine, insz: str, schemes: Sequence[str]) -> PersonStatus:
    """The person's opt-out and, for each of ``schemes`` (those the caller may read), their status; not audited.

    Raises ``InvalidINSZ`` for a malformed number (message free of the value)."""
    validate_insz(insz)
    with engine.connect() as conn:
        opt = conn.execute(select(OptOut.active, OptOut.since, OptOut.channel).where(OptOut.insz == insz)).first()
        per_scheme = tuple(_scheme_status(conn, insz, s) for s in schemes)
    opt_out = (OptOutStatus(True, opt.since, opt.channel) if opt is not None and opt.active
               else OptOutStatus(False))
    return PersonStatus(opt_out, per_scheme)


def status_and_audit(engine: Engine, insz: str, schemes: Sequence[str], *, consulted_by: str) -> PersonStatus:
    """:func:`person_status`, then one consultation-log row per scheme read (committed) before the answer is returned.

    ``consulted_by`` is the authenticated user (the CRM's service account or a member of staff)."""
    from proactief.ledger.audit import record_lookup

    status = person_status(engine, insz, schemes)
    for s in status.schemes:
        outcome = "opted_out" if status.opt_out.active else s.outcome
        record_lookup(engine, subject_insz=insz, consulted_by=consulted_by, outcome=outcome,
                      hoedanigheid=load_scheme(s.scheme_id).magda.hoedanigheid, purpose=s.scheme_id,
                      service=API_SERVICE, afnemer=API_AFNEMER)
    log.info("api status read of %d scheme(s) by %s", len(status.schemes), consulted_by)
    return status
