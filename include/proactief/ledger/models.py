"""Ledger tables. Each table says what it keeps and for how long."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AUDIT_RETENTION_YEARS",
    "AdviceBatch",
    "AdviceBatchItem",
    "DECISION_RETENTION_YEARS",
    "Base",
    "Bezwaar",
    "DQResultRow",
    "DecisionRow",
    "Enrolment",
    "GrantRow",
    "MagdaConsultation",
    "ManualDecision",
    "MutationBatch",
    "MutationBatchScheme",
    "MutationSubject",
    "OcmwPeriod",
    "OptOut",
    "OptOutEvent",
    "OutboxMessage",
    "Resident",
    "RunSubject",
    "SchemeRun",
    "SourceAsOf",
    "StagedAdvice",
]

AUDIT_RETENTION_YEARS = 10
DECISION_RETENTION_YEARS = 5
"""Decisions, grants and sent notifications: kept five years after the period (the city's retention for
proof of an administrative decision and appeal), then deleted by the retention DAG."""

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
    consulted_by: Mapped[str | None] = mapped_column(String(120))
    """The staff account (Airflow user name) behind a consultation made by hand, e.g. a call-centre lookup in
    the dashboard; None for the automated runs (``gebruiker`` is MAGDA's own INSZ field, not a login)."""


# ------------------------------------------------------------------------------------------ city data


class Resident(Base):
    """The city's population-register extract (replaced by each population sync). Personal data: kept only
    while the person is in the extract; a person who left is marked ``left_at`` by the import and deleted by the
    repertorium sync once MAGDA no longer follows them."""

    __tablename__ = "resident"

    insz: Mapped[str] = mapped_column(String(11), primary_key=True)
    household_id: Mapped[str | None] = mapped_column(String(20), index=True)
    reference_person: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[str | None] = mapped_column(String(2))
    address_kind: Mapped[str] = mapped_column(String(10))
    postcode: Mapped[str | None] = mapped_column(String(4))
    nis_code: Mapped[str | None] = mapped_column(String(5))
    since: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    address_line: Mapped[str | None] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(80))
    """The wijk (one of Ghent's 25) from the extract's ``wijk`` column; None when the extract did not say."""
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    """The name the extract gives (``first_name``, ``last_name``): read when a message is sent, to address it
    ("Beste <voornaam> <naam>"); never copied into a decision, grant, notice or log. None when the extract has no
    name columns (the message then says "Beste Gentenaar")."""
    snapshot: Mapped[str] = mapped_column(String(40))
    """Which import brought the row (the snapshot file's digest)."""
    repertorium_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    """Registered in the MAGDA repertorium (needed before MAGDA answers about the person)."""
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When an import found the person gone from the extract. The row stays (ignored as city data) until the
    repertorium sync deregistered the person at MAGDA, then it is deleted."""


class OcmwPeriod(Base):
    """OCMW Gent data (budget management, debt mediation): replaced by each sync."""

    __tablename__ = "ocmw_period"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    insz: Mapped[str] = mapped_column(String(11), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)


class Enrolment(Base):
    """Enrolments in city schools and childcare: replaced by each sync."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("insz", "institution_id", "school_year", name="uq_enrolment_child"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    insz: Mapped[str] = mapped_column(String(11), index=True)
    institution_id: Mapped[str] = mapped_column(String(20))
    institution_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    school_year: Mapped[str] = mapped_column(String(9), index=True)


# ------------------------------------------------------------------------------------------ opt-out


class OptOut(Base):
    """A resident's objection (GDPR Art. 21), current state: while ``active`` the person is never queried,
    granted or written to. Kept as long as it is active (and its history with it)."""

    __tablename__ = "opt_out"

    insz: Mapped[str] = mapped_column(String(11), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(20))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When MAGDA's repertorium was told to stop following the person (``RegistreerUitschrijving``) for this
    objection; empty while that is still to be done (the opt-out intake sends it, and retries a failed one)."""


class OptOutEvent(Base):
    """History of objections and withdrawals: who, when, through which channel."""

    __tablename__ = "opt_out_event"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    insz: Mapped[str] = mapped_column(String(11), index=True)
    action: Mapped[str] = mapped_column(String(10))
    """``object`` or ``withdraw``."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)


class SchemeHold(Base):
    """An operator's hold on a scheme (its DAG paused for a reason): while ``released_at`` is empty nothing of the
    scheme leaves the city (the outbox keeps its grants and notices pending) and MAGDA mutations do not re-decide
    it. Rows are kept as the history of holds."""

    __tablename__ = "scheme_hold"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    scheme_id: Mapped[str] = mapped_column(String(64), index=True)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    held_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str | None] = mapped_column(String(80))


# ------------------------------------------------------------------------------------------ runs


class SchemeRun(Base):
    """One lifecycle run of a scheme for one period (one Airflow DAG run). Counts only, no personal data."""

    __tablename__ = "scheme_run"
    __table_args__ = (Index("ix_scheme_run_scheme_period", "scheme_id", "period"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    scheme_id: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(12))
    reference_date: Mapped[date] = mapped_column(Date)
    external_id: Mapped[str] = mapped_column(String(250), unique=True)
    """The Airflow DAG id and run id (or a CLI run's id): a retried task finds its run again."""
    dry_run: Mapped[bool] = mapped_column(Boolean)
    selection: Mapped[str] = mapped_column(String(20))
    """``population`` (everyone the scheme covers), ``subjects`` (a given list) or ``mutations``."""
    chunk_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RunSubject(Base):
    """Who a run covers, in chunks (staging: deleted when the run is finished)."""

    __tablename__ = "run_subject"

    run_id: Mapped[int] = mapped_column(ForeignKey("scheme_run.id", ondelete="CASCADE"), primary_key=True)
    insz: Mapped[str] = mapped_column(String(11), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, index=True)


class StagedAdvice(Base):
    """What MAGDA and the city data established about a subject, before the advice step commits it.

    Short-lived: deleted when the run's decisions are committed, when the person objects, or by retention.
    Holds the yes/no outcome, tier and amounts — never the raw MAGDA answer.
    """

    __tablename__ = "staged_advice"

    run_id: Mapped[int] = mapped_column(ForeignKey("scheme_run.id", ondelete="CASCADE"), primary_key=True)
    insz: Mapped[str] = mapped_column(String(11), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    transient: Mapped[bool] = mapped_column(Boolean)
    """Undetermined because a MAGDA or city source was temporarily unavailable."""
    data_error: Mapped[bool] = mapped_column(Boolean, server_default=false())
    """Undetermined because MAGDA answered a data error (20002, 30004 …): quarantined, not transient."""
    advice: Mapped[dict[str, Any]] = mapped_column(JSON)
    staged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DecisionRow(Base):
    """A decision about one subject in one run: what was decided, why, under which rule version, on which
    consultations. Kept ``DECISION_RETENTION_YEARS`` after the reference date."""

    __tablename__ = "decision"
    __table_args__ = (
        UniqueConstraint("run_id", "insz", name="uq_decision_run_subject"),
        Index("ix_decision_scheme_subject", "scheme_id", "insz"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scheme_run.id", ondelete="CASCADE"), index=True)
    scheme_id: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(12))
    reference_date: Mapped[date] = mapped_column(Date)
    insz: Mapped[str] = mapped_column(String(11))
    decision: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    rule_version: Mapped[str] = mapped_column(String(20))
    advice: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The value-free summary: amounts, percentages, trace (criterion, source, outcome), grant terms."""
    consultations: Mapped[list[str]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retain_until: Mapped[date] = mapped_column(Date, index=True)


class GrantRow(Base):
    """A benefit granted: at most one per scheme and grant key (the scheme's ``idempotency_key``: subject and
    period, or plate and end date). The unique constraint is what makes retries and backfills harmless."""

    __tablename__ = "benefit_grant"
    __table_args__ = (
        UniqueConstraint("scheme_id", "grant_key", name="uq_benefit_grant_key"),
        Index("ix_benefit_grant_subject", "insz"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    scheme_id: Mapped[str] = mapped_column(String(40))
    grant_key: Mapped[str] = mapped_column(String(200))
    insz: Mapped[str] = mapped_column(String(11))
    period: Mapped[str] = mapped_column(String(12))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_run.id", ondelete="SET NULL"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="SET NULL"))
    system: Mapped[str] = mapped_column(String(40))
    tier: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Attributes for the downstream system (card system, tariff status, plate…)."""
    status: Mapped[str] = mapped_column(String(16))
    """``granted`` (downstream action queued, or waiting for the person's card: its outbox row says
    ``waiting_card``), ``delivered``, ``revoked`` (ended early), ``cancelled`` (the person objected before the
    downstream system had it), ``expired`` (waited for a card longer than the scheme allows)."""
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retain_until: Mapped[date] = mapped_column(Date, index=True)


class OutboxMessage(Base):
    """Transactional outbox: downstream grant actions and notifications, written in the same transaction as
    the grant. One row per grant, kind and channel (unique), so nothing is queued — or sent — twice."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("grant_id", "kind", "channel", name="uq_outbox_grant_kind_channel"),
        Index("ix_outbox_pending", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("benefit_grant.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    """``grant`` (tell the downstream system), ``revoke`` (end it early) or ``notify`` (tell the citizen)."""
    channel: Mapped[str] = mapped_column(String(20))
    """``uitpas``, ``ivago``, ``school-billing``, ``lez`` for grants; ``email``, ``letter``, ``ebox`` for notices."""
    status: Mapped[str] = mapped_column(String(12))
    """``pending`` → ``sent``; or ``cancelled`` (objection), ``failed`` (gave up, needs a person). A grant row
    whose person has no card yet (UiTPAS: no passholder or no membership) is ``waiting_card`` ("wacht op pas"):
    not failed; its notification goes out at once, every dispatch asks again, and it becomes ``sent`` when the card
    is there (no second notification) or ``expired`` after the scheme's ``grant.awaiting_card`` wait."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(120), unique=True)
    """Derived from the row (``<kind>.<channel>.<grant key digest>@proactief.gent``): a resend is detectable."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """A failed attempt waits until then (back-off); None: due now."""
    reference: Mapped[str | None] = mapped_column(String(200))
    """What the downstream system calls the delivery (passholder id, file name, LEZ Referte, notice id)."""
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="SET NULL"), index=True)
    """The (combined) message that carries this notification."""
    addressee: Mapped[str | None] = mapped_column(String(11))
    """A notification: the INSZ it is addressed to when that is not the grant's holder (a child's onderwijskorting
    goes to a parent in the child's household: ``notification.recipient: parents``); None = the holder."""


class Notice(Base):
    """One message to one person on one channel, carrying every notification the person had pending: several
    benefits make one combined letter. Its message id is derived from its outbox rows, so a resend after a
    crash carries the same id."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_pending", "status"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(120), unique=True)
    insz: Mapped[str] = mapped_column(String(11))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    """``pending`` → ``sent``; ``cancelled`` (objection before sending), ``failed`` (gave up)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DQResultRow(Base):
    """A data-quality check of a run step: the suite, pass/fail and counts — never personal values."""

    __tablename__ = "dq_result"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_run.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    suite: Mapped[str] = mapped_column(String(40))
    success: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ------------------------------------------------------------------------------------------ MAGDA mutations


class MutationBatch(Base):
    """One read of ``GeefPersoonMutatiesNotificaties``: the receipt cursor and how many persons changed."""

    __tablename__ = "mutation_batch"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    receipt: Mapped[str | None] = mapped_column(String(80))
    """The ``Ontvangstreferte`` to acknowledge with the next read."""
    persons: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(250), unique=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When every scheme had decided the batch's persons (``MutationBatchScheme``); until then each
    re-evaluation run takes the batch again for the schemes that have not."""


class MutationBatchScheme(Base):
    """Scheme S finished re-evaluating batch B (run R): so a failed or held scheme takes B again next time, and the
    others do not ask MAGDA about B's persons twice. Counts nothing personal."""

    __tablename__ = "mutation_batch_scheme"

    batch_id: Mapped[int] = mapped_column(ForeignKey("mutation_batch.id", ondelete="CASCADE"), primary_key=True)
    scheme_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_run.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MutationSubject(Base):
    """A person a mutation batch names (staging: deleted by retention after ``MUTATION_DAYS``)."""

    __tablename__ = "mutation_subject"

    batch_id: Mapped[int] = mapped_column(ForeignKey("mutation_batch.id", ondelete="CASCADE"), primary_key=True)
    insz: Mapped[str] = mapped_column(String(11), primary_key=True)


# ------------------------------------------------------------------------------------------ casework (bezwaar)


class Bezwaar(Base):
    """An objection (*bezwaar*) against one decision — not an opt-out: the person wants the decision looked at
    again, by a person. Recorded by the call centre; a late one (received after ``deadline``) is kept, flagged.
    Kept ``DECISION_RETENTION_YEARS`` after the decision's reference date, like the decision."""

    __tablename__ = "bezwaar"
    __table_args__ = (Index("ix_bezwaar_scheme_subject", "scheme_id", "insz"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    scheme_id: Mapped[str] = mapped_column(String(40))
    insz: Mapped[str] = mapped_column(String(11))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="SET NULL"))
    period: Mapped[str | None] = mapped_column(String(12))
    """The period of the decision objected against (kept when the decision row is gone)."""
    decision_date: Mapped[date | None] = mapped_column(Date)
    """The date the deadline runs from: the letter's date, else the decision's."""
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    """``phone``, ``counter``, ``letter``, ``email`` or ``web``."""
    deadline: Mapped[date | None] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, server_default=false())
    status: Mapped[str] = mapped_column(String(20))
    """``open`` → ``decided`` (a manual decision answers it) or ``withdrawn``."""
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retain_until: Mapped[date] = mapped_column(Date, index=True)


class ManualDecision(Base):
    """A case worker's decision by hand about one subject of one scheme, from ``valid_from`` (to ``valid_until``;
    open: every later run). A grant takes effect once a second, different person confirmed it (four eyes); a refusal
    at once. While ``in_force`` (or ``back_to_case_worker``) the automatic runs neither grant, re-grant nor revoke
    for the subject in that window (``lifecycle.runs``). ``facts`` holds the outcome (true/false/unknown) of each
    criterion the decision rested on — never a value — so a run can tell when one changed."""

    __tablename__ = "manual_decision"
    __table_args__ = (Index("ix_manual_decision_scheme_subject", "scheme_id", "insz"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    scheme_id: Mapped[str] = mapped_column(String(40))
    insz: Mapped[str] = mapped_column(String(11))
    period: Mapped[str] = mapped_column(String(12))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    bezwaar_id: Mapped[int | None] = mapped_column(ForeignKey("bezwaar.id", ondelete="SET NULL"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(10))
    """``grant`` or ``refuse``."""
    reason: Mapped[str] = mapped_column(Text)
    legal_ground: Mapped[str] = mapped_column(String(300))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Criterion → outcome of the decision trace it rested on, and their digest (``{"outcomes": …, "digest": …}``)."""
    grant_terms: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A grant's terms (key parts, validity, attributes), as the automatic grant step writes them."""
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_grant.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(24))
    """``pending_confirmation`` (a grant awaiting its second person), ``in_force``, ``back_to_case_worker`` (a
    fact a refusal rested on changed), ``withdrawn``."""
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    back_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    back_run_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_run.id", ondelete="SET NULL"))
    """The run that found a changed fact and sent the decision back."""
    letter_channel: Mapped[str | None] = mapped_column(String(20))
    letter_message_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    """The letter telling the decision (``bezwaar_beslissing``): one per decision in force, derived from its id."""
    letter_status: Mapped[str | None] = mapped_column(String(12))
    """``pending`` → ``sent``; ``failed`` after too many attempts (a person looks)."""
    letter_attempts: Mapped[int] = mapped_column(Integer, default=0)
    letter_error: Mapped[str | None] = mapped_column(String(300))
    letter_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="SET NULL"))
    retain_until: Mapped[date] = mapped_column(Date, index=True)


class SourceAsOf(Base):
    """How fresh a source was (issue 18.1): one row per imported city file (``run_id`` empty: its as-of date and
    content digest) and one per scheme run and MAGDA source asked (the latest answer's date in that run). Holds no
    personal data and no answer content: names, dates, a digest and a row count."""

    __tablename__ = "source_as_of"
    __table_args__ = (Index("ix_source_as_of_source", "source", "id"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    """A source id of ``proactief/freshness/sources.yaml`` (``residents``, ``ocmw``, ``ksz_statutes`` …)."""
    as_of: Mapped[date] = mapped_column(Date)
    as_of_from: Mapped[str] = mapped_column(String(20))
    """Where the as-of came from: ``manifest``, ``option``, ``mtime`` (a city file) or ``answers`` (MAGDA)."""
    digest: Mapped[str | None] = mapped_column(String(64))
    """sha256 of the imported file (city files only): an identical re-delivery has the same digest."""
    rows: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_run.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ------------------------------------------------------------------------------------------ advice service


class AdviceBatch(Base):
    """A batch of subjects submitted to the advice service (issue 20) under a batch id the caller chose: kept so a
    second instance behind the same URL serves the poll, and a restarted one knows what is done. The same id
    submitted again is the same batch (idempotent); no answer content, only the decisions in the items."""

    __tablename__ = "advice_batch"

    batch_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    application: Mapped[str] = mapped_column(String(80))
    """The calling application (its token's name): only it may read the batch."""
    requested_by: Mapped[str | None] = mapped_column(String(120))
    """``X-Proactief-User`` of the submission."""
    scheme_id: Mapped[str] = mapped_column(String(80))
    reference_date: Mapped[date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(64))
    """sha256 of the submitted request: the same id with another content is refused (409)."""
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retain_until: Mapped[date] = mapped_column(Date, index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="advice", server_default="advice")
    """``advice`` (the advice only) or ``grant`` (a scheme run's chunk: also what its grant needs, migration 0015)."""
    work: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What deciding the batch learnt, merged chunk by chunk: ``answered`` (MAGDA service → ISO date of its latest
    ok/definitive answer, a run's freshness) and ``withheld`` (questions withheld for objectors). No personal data."""


class AdviceBatchItem(Base):
    """One subject of a batch: its INSZ and the city's facts as submitted (personal data, kept as long as the
    batch), who is deciding it (a lease, so a killed instance's work is taken over), and its advice once decided."""

    __tablename__ = "advice_batch_item"
    __table_args__ = (Index("ix_advice_batch_item_state", "state", "claimed_until"),)

    batch_id: Mapped[str] = mapped_column(ForeignKey("advice_batch.batch_id", ondelete="CASCADE"),
                                          primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_insz: Mapped[str] = mapped_column(String(11))
    key: Mapped[str | None] = mapped_column(String(120))
    """The caller's own opaque key for the subject, echoed back with its result."""
    city: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12))
    """``pending`` → ``claimed`` (an instance asks MAGDA) → ``done``."""
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claim: Mapped[str | None] = mapped_column(String(36))
    """A fresh token per claim: an instance whose lease ran out cannot write over its successor's result."""
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The advice (the service's response model): decision, tier, amounts, reasons, rule version, references."""
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
