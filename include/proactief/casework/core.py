"""Record a bezwaar, decide by hand, confirm (four eyes), withdraw; list what waits for a person.

Every change names who made it and when (columns of the rows themselves); the log names ids and the scheme, never
an INSZ. Bad input raises :class:`CaseworkError` (one line, no personal value) and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from proactief.insz import validate_insz
from proactief.ledger.models import (
    DECISION_RETENTION_YEARS,
    Bezwaar,
    DecisionRow,
    GrantRow,
    ManualDecision,
    Notice,
    OutboxMessage,
    Resident,
    SchemeRun,
)
from proactief.lifecycle.manual_decisions import PREVAILING, fact_outcomes, facts_digest

__all__ = [
    "BEZWAAR_CHANNELS",
    "BEZWAAR_TERMIJN_DAGEN",
    "CaseworkError",
    "CaseworkItem",
    "NotAllowed",
    "bezwaar_deadline_days",
    "casework_counts",
    "casework_of",
    "confirm_manual_decision",
    "list_casework",
    "record_bezwaar",
    "record_manual_decision",
    "withdraw_bezwaar",
]

log = logging.getLogger("proactief.casework")

BEZWAAR_CHANNELS = ("phone", "counter", "letter", "email", "web")
"""How an objection reaches the city: Gentinfo by phone, a service counter, a letter, an e-mail, the web form."""
BEZWAAR_CHANNEL_LABELS = {"phone": "telefoon", "counter": "balie", "letter": "brief", "email": "e-mail",
                          "web": "webformulier"}
"""The channels in the call centre's words (the dashboard's form and lookup)."""
BEZWAAR_TERMIJN_DAGEN: tuple[tuple[dt.date, int], ...] = ((dt.date(2020, 1, 1), 30),)
"""The objection period in days from the decision's (letter's) date, as a dated parameter: (in force from, days).
Ghent's assumed practice is 30 days; a change is a new row with the date it applies from."""
OUTCOMES = ("grant", "refuse")


class CaseworkError(ValueError):
    """Bad input for a casework action: the message is one line and names no personal value."""


class NotAllowed(CaseworkError):
    """The user may not edit this scheme (the dashboard maps it to 403)."""


def bezwaar_deadline_days(on: dt.date, table: Sequence[tuple[dt.date, int]] = BEZWAAR_TERMIJN_DAGEN) -> int:
    """The objection period in force on ``on`` (the decision's date)."""
    days = None
    for since, value in sorted(table):
        if since <= on:
            days = value
    if days is None:
        raise CaseworkError(f"no objection period (bezwaar_termijn_dagen) in force on {on.isoformat()}")
    return days


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _who(name: str | None, what: str) -> str:
    who = (name or "").strip()
    if not who:
        raise CaseworkError(f"{what}: say who you are (--by NAME)")
    return who[:120]


def _insz(value: str) -> str:
    try:
        return validate_insz(value)
    except ValueError as exc:
        raise CaseworkError(f"not a valid INSZ: {exc}") from None


def _scheme(scheme_id: str, may_edit: Collection[str] | None) -> Any:
    from proactief.schemes import load_scheme, scheme_ids

    known = scheme_ids()
    if scheme_id not in known:
        raise CaseworkError(f"unknown scheme {scheme_id!r} (known: {', '.join(known)})")
    if may_edit is not None and scheme_id not in may_edit:
        raise NotAllowed(f"you may not edit scheme {scheme_id}")
    return load_scheme(scheme_id)


def _decision(conn: Connection, scheme_id: str, insz: str, decision_id: int | None) -> Any:
    """The decision objected against: the given one (it must be this person's, of this scheme), else the newest.

    Never one of a trial run (``dry_run``): nothing was granted or sent on it, so the citizen cannot object to it
    and a case worker cannot decide on it; the newest is the newest real decision — the one the lookup shows."""
    stmt = select(DecisionRow.id, DecisionRow.run_id, DecisionRow.period, DecisionRow.reference_date,
                  DecisionRow.decision, DecisionRow.decided_at, DecisionRow.advice, SchemeRun.dry_run).join(
        SchemeRun, SchemeRun.id == DecisionRow.run_id).where(
        DecisionRow.scheme_id == scheme_id, DecisionRow.insz == insz)
    if decision_id is not None:
        row = conn.execute(stmt.where(DecisionRow.id == decision_id)).one_or_none()
        if row is None:
            raise CaseworkError(f"decision {decision_id} is not a decision of {scheme_id} about this person")
        if row.dry_run:
            raise CaseworkError(f"decision {decision_id} was made in a trial run: nothing was granted or sent on it")
        return row
    return conn.execute(stmt.where(SchemeRun.dry_run.is_(False))
                        .order_by(DecisionRow.reference_date.desc(), DecisionRow.id.desc()).limit(1)).one_or_none()


def _letter_date(conn: Connection, decision_id: int) -> dt.date | None:
    """When the letter telling the decision went out (its grant's notice), if one did."""
    sent = conn.execute(select(func.min(Notice.sent_at)).select_from(OutboxMessage)
                        .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                        .join(Notice, Notice.id == OutboxMessage.notice_id)
                        .where(GrantRow.decision_id == decision_id, Notice.status == "sent")).scalar()
    return sent.date() if sent is not None else None


@dataclass(frozen=True)
class CaseworkItem:
    """A bezwaar or a manual decision as the CLI and the lookup show it."""

    kind: str
    """``bezwaar`` or ``manual_decision``."""
    id: int
    scheme_id: str
    insz: str
    status: str
    period: str | None
    at: dt.datetime
    by: str
    received_on: dt.date | None = None
    channel: str | None = None
    deadline: dt.date | None = None
    late: bool = False
    outcome: str | None = None
    reason: str | None = None
    legal_ground: str | None = None
    confirmed_by: str | None = None
    bezwaar_id: int | None = None
    decision_id: int | None = None
    letter_status: str | None = None

    def to_json(self, *, with_insz: bool = False) -> dict[str, Any]:
        out = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items()}
        if not with_insz:
            out.pop("insz")
        return out


# ------------------------------------------------------------------------------------------ bezwaar


def record_bezwaar(engine: Engine, *, insz: str, scheme_id: str, channel: str, received_on: dt.date,
                   recorded_by: str, decision_id: int | None = None, decision_date: dt.date | None = None,
                   note: str | None = None, may_edit: Collection[str] | None = None) -> CaseworkItem:
    """Record an objection against a decision of ``scheme_id`` about ``insz``.

    The decision is ``decision_id`` or else the person's newest of the scheme; the deadline runs from
    ``decision_date`` (the letter's date as the citizen quotes it), else the date the letter telling the decision
    was sent, else the decision's date, plus ``BEZWAAR_TERMIJN_DAGEN``. One received
    after its deadline is recorded all the same, flagged ``late``. Without any decision the objection is kept with
    no deadline (a person sorts it out)."""
    insz = _insz(insz)
    _scheme(scheme_id, may_edit)
    if channel not in BEZWAAR_CHANNELS:
        raise CaseworkError(f"unknown channel {channel!r} (one of {', '.join(BEZWAAR_CHANNELS)})")
    who = _who(recorded_by, "record a bezwaar")
    if received_on > _now().date() + dt.timedelta(days=1):
        raise CaseworkError(f"received date {received_on.isoformat()} lies in the future")
    at = _now()
    with engine.begin() as conn:
        decision = _decision(conn, scheme_id, insz, decision_id)
        start = decision_date or (_letter_date(conn, decision.id) or decision.decided_at.date()
                                  if decision is not None else None)
        deadline = start + dt.timedelta(days=bezwaar_deadline_days(start)) if start is not None else None
        late = deadline is not None and received_on > deadline
        base = decision.reference_date if decision is not None else received_on
        bid = int(conn.execute(Bezwaar.__table__.insert().values(
            scheme_id=scheme_id, insz=insz, decision_id=decision.id if decision is not None else None,
            period=decision.period if decision is not None else None, decision_date=start, received_on=received_on,
            channel=channel, deadline=deadline, late=late, status="open", note=note, recorded_by=who,
            recorded_at=at, retain_until=_add_years(max(base, received_on), DECISION_RETENTION_YEARS))
        ).inserted_primary_key[0])
    log.info("bezwaar %s recorded for %s by %s (channel %s%s)", bid, scheme_id, who, channel,
             ", late" if late else "")
    return CaseworkItem(kind="bezwaar", id=bid, scheme_id=scheme_id, insz=insz, status="open",
                        period=decision.period if decision is not None else None, at=at, by=who,
                        received_on=received_on, channel=channel, deadline=deadline, late=late,
                        decision_id=decision.id if decision is not None else None)


def withdraw_bezwaar(engine: Engine, bezwaar_id: int, *, by: str) -> None:
    """The person withdrew their objection: it is closed as ``withdrawn`` (an open one only)."""
    who = _who(by, "withdraw a bezwaar")
    with engine.begin() as conn:
        status = conn.execute(select(Bezwaar.status).where(Bezwaar.id == bezwaar_id)).scalar_one_or_none()
        if status is None:
            raise CaseworkError(f"no bezwaar {bezwaar_id}")
        if status != "open":
            raise CaseworkError(f"bezwaar {bezwaar_id} is {status}, not open")
        conn.execute(update(Bezwaar).where(Bezwaar.id == bezwaar_id).values(
            status="withdrawn", closed_by=who, closed_at=_now()))
    log.info("bezwaar %s withdrawn, recorded by %s", bezwaar_id, who)


# ------------------------------------------------------------------------------------------ manual decision


def _manual_terms(scheme: Any, d: dt.date, valid_until: dt.date | None,
                  identity: Mapping[str, str]) -> dict[str, Any]:
    """Grant terms for a manual grant against a decision that had none (it was a refusal): the scheme's key
    parts for D, the given validity and identity (an LEZ plate)."""
    from proactief.schemes.model import Period, period_label
    from proactief.schemes.subjects import identity_parts

    parts = {"scheme": scheme.id, "subject": "", "year": f"{d.year:04d}",
             "month": period_label(Period.MONTHLY, d), "school_year": period_label(Period.SCHOOL_YEAR, d),
             "week": period_label(Period.WEEKLY, d), **{k: v for k, v in identity.items() if v},
             "valid_until": valid_until.isoformat() if valid_until else "open"}
    missing = [n for n in scheme.grant.idempotency_key if n not in parts]
    if missing:
        raise CaseworkError(f"a manual grant of {scheme.id} needs {', '.join(missing)} (e.g. --plate)")
    return {"system": scheme.grant.system, "valid_from": d.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else None,
            "key_parts": [[n, parts[n]] for n in scheme.grant.idempotency_key],
            "attributes": dict(scheme.grant.attributes),
            **{p.name: identity.get(p.name) for p in identity_parts()},
            "amounts": {}, "percentages": {}, "basis": {}, "sources": []}


def record_manual_decision(engine: Engine, *, insz: str, scheme_id: str, outcome: str, reason: str,
                           legal_ground: str, decided_by: str, bezwaar_id: int | None = None,
                           decision_id: int | None = None, valid_until: dt.date | None = None,
                           identity: Mapping[str, str] | None = None, amount: Decimal | None = None,
                           tier: str | None = None, may_edit: Collection[str] | None = None) -> CaseworkItem:
    """A case worker decides by hand about the decision ``decision_id`` (else the person's newest of the scheme).

    A refusal is in force at once (and its letter queued); a grant waits for a second, different person
    (:func:`confirm_manual_decision`). The decision's criteria outcomes are kept, so a later run sees a change.
    It covers the runs from the decision's reference date: a grant until its ``valid_until`` (the decision's grant
    terms', else the one given), a refusal until ``valid_until`` or, without one, every later run."""
    insz = _insz(insz)
    scheme = _scheme(scheme_id, may_edit)
    if outcome not in OUTCOMES:
        raise CaseworkError(f"outcome must be grant or refuse, not {outcome!r}")
    who = _who(decided_by, "decide by hand")
    if not reason.strip() or not legal_ground.strip():
        raise CaseworkError("a manual decision needs a reason (--reason) and a legal ground (--legal-ground)")
    at = _now()
    with engine.begin() as conn:
        if bezwaar_id is not None:
            b = conn.execute(select(Bezwaar.insz, Bezwaar.scheme_id, Bezwaar.decision_id)
                             .where(Bezwaar.id == bezwaar_id)).one_or_none()
            if b is None or b.insz != insz or b.scheme_id != scheme_id:
                raise CaseworkError(f"bezwaar {bezwaar_id} is not this person's bezwaar about {scheme_id}")
            decision_id = decision_id if decision_id is not None else b.decision_id
        decision = _decision(conn, scheme_id, insz, decision_id)
        if decision is None:
            raise CaseworkError(f"no decision of {scheme_id} about this person to decide on")
        advice = dict(decision.advice or {})
        auto = advice.get("automatic")  # a decision a manual one already prevailed over: its own facts
        outcomes = fact_outcomes(advice.get("trace") or ())
        terms: dict[str, Any] | None = None
        if outcome == "grant":
            from proactief.lifecycle.runs import grant_key

            if advice.get("grant_terms") and not auto:
                terms = dict(advice["grant_terms"])
            elif valid_until is None:
                raise CaseworkError("this decision had no grant terms: a manual grant needs --valid-until")
            else:
                terms = _manual_terms(scheme, decision.reference_date, valid_until, identity or {})
            terms["grant_key"] = grant_key(scheme, advice.get("grant_recipient") or insz, terms)
            terms["tier"], terms["amount"] = tier or advice.get("tier"), str(amount) if amount is not None else \
                advice.get("amount")
            until = dt.date.fromisoformat(terms["valid_until"]) if terms.get("valid_until") else None
        else:
            until = valid_until
        if until is not None and until < decision.reference_date:
            raise CaseworkError("--valid-until lies before the decision's reference date")
        mid = int(conn.execute(ManualDecision.__table__.insert().values(
            scheme_id=scheme_id, insz=insz, period=decision.period, valid_from=decision.reference_date,
            valid_until=until, bezwaar_id=bezwaar_id, decision_id=decision.id, outcome=outcome,
            reason=reason.strip(), legal_ground=legal_ground.strip()[:300],
            facts={"outcomes": outcomes, "digest": facts_digest(outcomes)}, grant_terms=terms,
            status="pending_confirmation" if outcome == "grant" else "in_force", decided_by=who, decided_at=at,
            letter_attempts=0, retain_until=_add_years(decision.reference_date, DECISION_RETENTION_YEARS))
        ).inserted_primary_key[0])
        if outcome == "refuse":
            _take_effect(conn, scheme, mid, at)
    log.info("manual decision %s (%s, %s) recorded by %s%s", mid, scheme_id, outcome, who,
             "; waits for a second person's confirmation" if outcome == "grant" else "; in force")
    return _item(engine, mid)


def confirm_manual_decision(engine: Engine, manual_id: int, *, confirmed_by: str,
                            may_edit: Collection[str] | None = None) -> CaseworkItem:
    """The second person confirms a manual grant (four eyes): it is in force from now, its grant is written the way
    the grant step writes one (idempotent by grant key) and its letter queued. The decider may not confirm."""
    who = _who(confirmed_by, "confirm a manual decision")
    at = _now()
    with engine.begin() as conn:
        md = conn.execute(select(ManualDecision.__table__).where(ManualDecision.id == manual_id)
                          .with_for_update() if conn.dialect.name == "postgresql" else
                          select(ManualDecision.__table__).where(ManualDecision.id == manual_id)).one_or_none()
        if md is None:
            raise CaseworkError(f"no manual decision {manual_id}")
        scheme = _scheme(md.scheme_id, may_edit)
        if md.status != "pending_confirmation":
            raise CaseworkError(f"manual decision {manual_id} is {md.status}, nothing to confirm")
        if who.casefold() == md.decided_by.strip().casefold():
            raise CaseworkError(f"manual decision {manual_id}: the person who decided cannot also confirm it "
                                "(four eyes)")
        conn.execute(update(ManualDecision).where(ManualDecision.id == manual_id).values(
            confirmed_by=who, confirmed_at=at))
        _take_effect(conn, scheme, manual_id, at)
    log.info("manual decision %s (%s) confirmed by %s; in force", manual_id, md.scheme_id, who)
    return _item(engine, manual_id)


def _take_effect(conn: Connection, scheme: Any, manual_id: int, at: dt.datetime) -> None:
    """In force: older prevailing manual decisions of the person and scheme are superseded, a grant is written
    with its downstream order, the bezwaar is decided, and the letter queued (once: its message id is unique)."""
    from proactief.casework.letters import letter_addressee
    from proactief.lifecycle.runs import downstream_terms, notice_channel, write_grant

    md = conn.execute(select(ManualDecision.__table__).where(ManualDecision.id == manual_id)).one()
    conn.execute(update(ManualDecision).where(
        ManualDecision.scheme_id == md.scheme_id, ManualDecision.insz == md.insz, ManualDecision.id != md.id,
        ManualDecision.status.in_(PREVAILING)).values(status="superseded"))
    values: dict[str, Any] = {"status": "in_force"}
    if md.outcome == "grant":
        terms = dict(md.grant_terms)
        # "wacht op pas" as the grant step writes it: how long the grant waits for a card, what the letter says
        card = scheme.grant.awaiting_card_terms(lambda name: scheme.parameter(name, md.valid_from))
        row = {"scheme_id": md.scheme_id, "grant_key": terms["grant_key"], "insz": md.insz, "period": md.period,
               "run_id": None, "decision_id": md.decision_id, "system": terms["system"], "tier": terms.get("tier"),
               "amount": Decimal(terms["amount"]) if terms.get("amount") else None,
               "valid_from": dt.date.fromisoformat(terms["valid_from"]),
               "valid_until": dt.date.fromisoformat(terms["valid_until"]) if terms.get("valid_until") else None,
               "terms": {**downstream_terms(terms), **({"awaiting_card": card} if card is not None else {}),
                         "manual_decision": md.id}, "status": "granted",
               "granted_at": at, "retain_until": md.retain_until}
        values["grant_id"], _new = write_grant(conn, scheme, row, at)
    # A child's decision is told to a parent in its household, as its notification (``recipient: parents``).
    to = letter_addressee(conn, scheme.notification.recipient, md.insz)
    person = conn.execute(select(Resident.email, Resident.address_line).where(Resident.insz == to)).one_or_none()
    channel = notice_channel(scheme, (person.email, person.address_line) if person is not None else None)
    digest = hashlib.sha256(f"bezwaar|{md.id}|{channel}".encode()).hexdigest()[:24]
    values.update(letter_channel=channel, letter_message_id=f"bezwaar.{channel}.{digest}@proactief.gent",
                  letter_status="pending")
    conn.execute(update(ManualDecision).where(ManualDecision.id == md.id,
                                              ManualDecision.letter_message_id.is_(None)).values(**values))
    if md.bezwaar_id is not None:
        conn.execute(update(Bezwaar).where(Bezwaar.id == md.bezwaar_id, Bezwaar.status == "open").values(
            status="decided", closed_by=md.confirmed_by or md.decided_by, closed_at=at))


# ------------------------------------------------------------------------------------------ listing


def _bezwaar_item(b: Any) -> CaseworkItem:
    return CaseworkItem(kind="bezwaar", id=b.id, scheme_id=b.scheme_id, insz=b.insz, status=b.status,
                        period=b.period, at=b.recorded_at, by=b.recorded_by, received_on=b.received_on,
                        channel=b.channel, deadline=b.deadline, late=bool(b.late), decision_id=b.decision_id)


def _manual_item(m: Any) -> CaseworkItem:
    return CaseworkItem(kind="manual_decision", id=m.id, scheme_id=m.scheme_id, insz=m.insz, status=m.status,
                        period=m.period, at=m.decided_at, by=m.decided_by, outcome=m.outcome, reason=m.reason,
                        legal_ground=m.legal_ground, confirmed_by=m.confirmed_by, bezwaar_id=m.bezwaar_id,
                        decision_id=m.decision_id, letter_status=m.letter_status)


def _item(engine: Engine, manual_id: int) -> CaseworkItem:
    with engine.connect() as conn:
        return _manual_item(conn.execute(select(ManualDecision.__table__)
                                         .where(ManualDecision.id == manual_id)).one())


def list_casework(engine: Engine, *, open_only: bool = False, back_only: bool = False,
                  scheme_id: str | None = None) -> list[CaseworkItem]:
    """Bezwaren and manual decisions, oldest first. ``open_only``: what waits for a person (open bezwaren, grants
    awaiting confirmation, decisions sent back); ``back_only``: decisions a changed fact sent back."""
    with engine.connect() as conn:
        bq = select(Bezwaar.__table__).order_by(Bezwaar.id)
        mq = select(ManualDecision.__table__).order_by(ManualDecision.id)
        if scheme_id:
            bq, mq = bq.where(Bezwaar.scheme_id == scheme_id), mq.where(ManualDecision.scheme_id == scheme_id)
        if back_only:
            return [_manual_item(m) for m in conn.execute(mq.where(ManualDecision.status == "back_to_case_worker"))]
        if open_only:
            bq = bq.where(Bezwaar.status == "open")
            mq = mq.where(ManualDecision.status.in_(("pending_confirmation", "back_to_case_worker")))
        items = [*(_bezwaar_item(b) for b in conn.execute(bq)), *(_manual_item(m) for m in conn.execute(mq))]
    return sorted(items, key=lambda i: i.at)


def casework_of(conn: Connection, insz: str, scheme_id: str | None = None) -> list[CaseworkItem]:
    """One person's bezwaren and manual decisions (of one scheme, or all), newest first."""
    bq = select(Bezwaar.__table__).where(Bezwaar.insz == insz)
    mq = select(ManualDecision.__table__).where(ManualDecision.insz == insz)
    if scheme_id:
        bq, mq = bq.where(Bezwaar.scheme_id == scheme_id), mq.where(ManualDecision.scheme_id == scheme_id)
    items = [*(_bezwaar_item(b) for b in conn.execute(bq)), *(_manual_item(m) for m in conn.execute(mq))]
    return sorted(items, key=lambda i: i.at, reverse=True)


def casework_counts(engine: Engine, scheme_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per scheme, what waits for a person (counts only): open bezwaren (and how many late), manual grants awaiting
    their second person, manual decisions a changed fact sent back. Schemes with nothing waiting are left out."""
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for scheme_id, late, n in conn.execute(
                select(Bezwaar.scheme_id, Bezwaar.late, func.count()).where(
                    Bezwaar.status == "open", Bezwaar.scheme_id.in_(list(scheme_ids)))
                .group_by(Bezwaar.scheme_id, Bezwaar.late)):
            figures = out.setdefault(scheme_id, {})
            figures["open"] = figures.get("open", 0) + int(n)
            if late:
                figures["late"] = int(n)
        for scheme_id, state, n in conn.execute(
                select(ManualDecision.scheme_id, ManualDecision.status, func.count()).where(
                    ManualDecision.status.in_(("pending_confirmation", "back_to_case_worker")),
                    ManualDecision.scheme_id.in_(list(scheme_ids)))
                .group_by(ManualDecision.scheme_id, ManualDecision.status)):
            out.setdefault(scheme_id, {})[str(state)] = int(n)
    return out
