"""One person's latest decision for one scheme, explained in plain Dutch (B1) for the call centre.

What a caller may hear: the decision, why (reason codes turned into sentences), what we checked and where
(the trace: criterion, source, yes/no/unknown — never a value from a MAGDA answer), the tier and the benefit,
whether the grant reached its system and whether the letter or e-mail went out. Every lookup is written to the
consultation audit log (``magda_consultation``, service ``Proactief.Dashboard.Opzoeking``) with the staff
account that looked, before the answer is shown: a citizen asking who consulted their data sees it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, select

from proactief.casework.core import BEZWAAR_CHANNEL_LABELS, CaseworkItem, casework_of
from proactief.insz import validate_insz
from proactief.ledger.models import DecisionRow, GrantRow, OptOut, OutboxMessage, SchemeRun
from proactief.lifecycle.outbox import EXPIRED, WAITING_CARD, card_deadline
from proactief.schemes import load_scheme
from proactief.schemes.factdefs import REASON_TEXTS
from proactief.schemes.factdefs.base import HOUSEHOLD_SUFFIX
from proactief.schemes.factdefs.statute import STATUTE_WORDS

__all__ = ["Check", "Explanation", "checks_of", "explain", "lookup_and_audit", "reason_text"]

log = logging.getLogger("proactief.dashboard")

DECISION_LABELS = {"eligible": "Heeft recht", "not_eligible": "Heeft geen recht",
                   "undetermined": "Nog niet beslist"}
_HOUSEHOLD = HOUSEHOLD_SUFFIX
_OUTCOMES = {"true": "ja", "false": "nee", "unknown": "onbekend (tijdelijk)", "not_asked": "niet nodig"}
_OBJECTION = "HOUSEHOLD_MEMBER_OBJECTED"


def _outcome(step: Mapping[str, Any]) -> str:
    """A checked criterion's outcome in words; unknown because of an objection is not a temporary gap."""
    if step.get("outcome") == "unknown" and step.get("reason") == _OBJECTION:
        return "onbekend (bezwaar van een gezinslid)"
    return _OUTCOMES.get(str(step.get("outcome")), str(step.get("outcome")))
_CHANNELS = {"email": "e-mail", "letter": "brief", "ebox": "eBox"}
_SYSTEMS = {"uitpas": "UiTPAS", "ivago": "IVAGO", "school-billing": "de schoolfacturatie",
            "lez-magda": "het LEZ-register"}


def reason_text(code: str, tiers: Mapping[str, str] | None = None) -> str:
    """A reason code as one plain Dutch sentence (``_IN_HOUSEHOLD``: about someone in the household).

    The sentences are declared with the facts (:mod:`proactief.schemes.factdefs`); a household code without a
    sentence of its own says "In het gezin: …" before the plain one."""
    if tiers and code in tiers:
        return f"Valt in de groep: {tiers[code]}."
    text = REASON_TEXTS.get(code)
    if text is not None:
        return text
    household = code.endswith(_HOUSEHOLD)
    base = code[: -len(_HOUSEHOLD)] if household else code
    text = None if base.endswith(_HOUSEHOLD) else REASON_TEXTS.get(base)  # a household code's own sentence only
    if text is None:
        return f"Reden {code} (geen uitleg in gewone taal: vraag het na bij de eigenaar van de regeling)."
    if household:
        return f"In het gezin: {text[0].lower()}{text[1:]}"
    return text


def checks_of(trace: Sequence[Mapping[str, Any]] | None) -> tuple[Check, ...]:
    """An advice's trace as the criteria checked, in the call centre's words (lookups of a run's decision and the
    advice service's answer alike); lookups of data are left out."""
    return tuple(Check(_label(str(s.get("label") or s.get("criterion") or "?")), _outcome(s),
                       str(s.get("source") or "-"))
                 for s in trace or () if s.get("kind", "criterion") == "criterion")


def _label(label: str) -> str:
    for code, (words, _) in sorted(STATUTE_WORDS.items(), key=lambda item: -len(item[0])):  # longest code first
        label = label.replace(f"sociaal statuut {code}", f"sociaal statuut: {words}")
    return label


@dataclass(frozen=True)
class Check:
    """One criterion we checked: what, the answer (ja/nee/onbekend) and where it came from."""

    label: str
    answer: str
    source: str


@dataclass(frozen=True)
class Explanation:
    """What the call centre may tell the person; ``outcome`` is what the audit log records."""

    scheme_id: str
    scheme_title: str
    outcome: str
    headline: str
    opted_out_since: dt.date | None = None
    decision: str | None = None
    decision_label: str | None = None
    period: str | None = None
    reference_date: dt.date | None = None
    decided_at: dt.datetime | None = None
    dry_run: bool = False
    reasons: Sequence[str] = field(default_factory=tuple)
    tier: str | None = None
    benefit: Sequence[str] = field(default_factory=tuple)
    checks: Sequence[Check] = field(default_factory=tuple)
    grant_status: str | None = None
    notice_status: str | None = None
    audit_ref: str | None = None
    """The lookup's reference in the consultation log (set by :func:`lookup_and_audit`): the page's export button
    posts it instead of the INSZ."""
    casework: Sequence[str] = field(default_factory=tuple)
    """The person's bezwaren and manual decisions for the scheme, newest first, one sentence each."""


def _money_or_pct(name: str, value: Any, unit: str) -> str | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    shown = f"{number:.2f}".replace(".", ",") if unit == "€" else f"{number.normalize():f}".replace(".", ",")
    return f"{name}: € {shown}" if unit == "€" else f"{name}: {shown} %"


def _date(value: dt.datetime | dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value is not None else "?"


def _grant_sentences(grant: Any, notices: Sequence[Any], card: str | None = None) -> tuple[str, str]:
    """``card``: the status of the grant's downstream row when it waits for the person's card or expired."""
    system = _SYSTEMS.get(grant.system, grant.system)
    if card == "waiting_card" and grant.status == "granted":
        until = card_deadline(grant.granted_at, grant.terms, grant.valid_until)
        g = (f"Toegekend op {_date(grant.granted_at)}, maar deze persoon heeft nog geen pas: het voordeel wacht op de "
             f"pas tot {_date(until)}. Het bericht zegt waar de pas te halen is; zodra de pas er is, zetten we het "
             "erop (zonder nieuw bericht).")
    elif grant.status == "expired":
        g = ("Toegekend, maar vervallen: er kwam geen pas binnen de termijn. Aan de balie kan het voordeel met de "
             "hand op de pas gezet worden.")
    elif grant.status == "delivered":
        g = f"Toegekend en doorgegeven aan {system}."
    elif grant.status == "granted":
        g = f"Toegekend op {_date(grant.granted_at)}. Het wordt nog doorgegeven aan {system}."
    elif grant.status == "revoked":
        until = (grant.terms or {}).get("revoke_from")
        g = f"Toegekend, maar later beëindigd{f' vanaf {until}' if until else ''} (geen recht meer)."
    elif grant.status == "cancelled":
        g = "Niet doorgegeven: de persoon maakte bezwaar voor het doorgegeven werd."
    else:
        g = f"Toekenning: {grant.status}."
    if not notices:
        return g, "Er staat nog geen bericht klaar."
    n = notices[0]
    channel = _CHANNELS.get(n.channel, n.channel)
    n_text = {
        "sent": f"Bericht verstuurd per {channel} op {_date(n.sent_at)}.",
        "pending": f"Bericht per {channel} staat klaar en wordt binnenkort verstuurd.",
        "failed": f"Bericht per {channel} kon niet verstuurd worden. Een medewerker kijkt het na.",
        "cancelled": f"Bericht per {channel} niet verstuurd: de persoon maakte bezwaar.",
    }.get(n.status, f"Bericht per {channel}: {n.status}.")
    return g, n_text


_CASE_STATUS = {"open": "open", "decided": "beslist", "withdrawn": "ingetrokken",
                "pending_confirmation": "wacht op bevestiging door een tweede medewerker",
                "in_force": "geldt", "back_to_case_worker": "terug naar de dossierbehandelaar (een gegeven veranderde)",
                "superseded": "vervangen door een latere beslissing"}
_CASE_CHANNELS = BEZWAAR_CHANNEL_LABELS


def _casework_sentence(item: CaseworkItem) -> str:
    status = _CASE_STATUS.get(item.status, item.status)
    if item.kind == "bezwaar":
        late = " Te laat ingediend (na de termijn), toch geregistreerd." if item.late else ""
        deadline = f", termijn tot {_date(item.deadline)}" if item.deadline else ""
        return (f"Bezwaar #{item.id} ontvangen op {_date(item.received_on)} via "
                f"{_CASE_CHANNELS.get(item.channel or '', item.channel)}{deadline}: {status}.{late} "
                f"Geregistreerd door {item.by}.")
    what = "toegekend" if item.outcome == "grant" else "geweigerd"
    confirmed = f", bevestigd door {item.confirmed_by}" if item.confirmed_by else ""
    return (f"Beslissing met de hand #{item.id} (periode {item.period}): {what} door {item.by}{confirmed}: {status}. "
            f"Reden: {item.reason} Rechtsgrond: {item.legal_ground}.")


def explain(engine: Engine, insz: str, scheme_id: str) -> Explanation:
    """The person's latest decision for the scheme (real runs before dry runs), explained; not audited."""
    validate_insz(insz)
    scheme = load_scheme(scheme_id)
    tiers = {t.reason: t.title for t in scheme.tiers}
    with engine.connect() as conn:
        opt = conn.execute(select(OptOut.since).where(OptOut.insz == insz, OptOut.active.is_(True))).scalar()
        row = conn.execute(
            select(DecisionRow.__table__, SchemeRun.dry_run.label("dry_run_of_run"))
            .join(SchemeRun, SchemeRun.id == DecisionRow.run_id)
            .where(DecisionRow.insz == insz, DecisionRow.scheme_id == scheme_id)
            .order_by(SchemeRun.dry_run, DecisionRow.reference_date.desc(), DecisionRow.decided_at.desc(),
                      DecisionRow.id.desc()).limit(1)).first()
        grant = notices = card = None
        if row is not None:
            d = row
            key = (d.advice or {}).get("grant_key")
            stmt = select(GrantRow.__table__).where(GrantRow.scheme_id == scheme_id, GrantRow.insz == insz)
            grant = conn.execute(stmt.where(GrantRow.decision_id == d.id)).first()
            if grant is None and key:
                grant = conn.execute(stmt.where(GrantRow.grant_key == key)).first()
            if grant is not None:
                card = conn.execute(select(OutboxMessage.status).where(
                    OutboxMessage.grant_id == grant.id, OutboxMessage.kind == "grant",
                    OutboxMessage.status.in_((WAITING_CARD, EXPIRED)))).scalars().first()
                notices = conn.execute(select(OutboxMessage.channel, OutboxMessage.status, OutboxMessage.sent_at)
                                       .where(OutboxMessage.grant_id == grant.id, OutboxMessage.kind == "notify")
                                       .order_by(OutboxMessage.id.desc())).all()
        casework = tuple(_casework_sentence(i) for i in casework_of(conn, insz, scheme_id))
    opted_since = opt.date() if opt is not None else None
    objection = ("Deze persoon maakte bezwaar (opt-out) op " + _date(opt) + ". We vragen niets meer op, kennen "
                 "niets toe en sturen geen berichten.") if opt is not None else None
    if row is None:
        return Explanation(scheme_id, scheme.title, "opted_out" if opt is not None else "no_decision",
                           objection or f"Er is nog geen beslissing over deze persoon voor {scheme.title}.",
                           opted_out_since=opted_since, casework=casework)
    d, dry = row, bool(row.dry_run_of_run)
    advice: Mapping[str, Any] = d.advice or {}
    headline = {
        "eligible": f"Deze persoon heeft recht op {scheme.title} (periode {d.period}).",
        "not_eligible": f"Deze persoon heeft geen recht op {scheme.title} (periode {d.period}).",
        "undetermined": f"We konden nog niet beslissen over {scheme.title} (periode {d.period}). We proberen het "
                        "opnieuw bij de volgende run.",
    }.get(d.decision, f"Beslissing: {d.decision}.")
    if d.decision == "undetermined" and _OBJECTION in (d.reasons or ()):
        # A retry will not help: the objector's data stays out of every run until the objection is withdrawn.
        headline = (f"We konden niet beslissen over {scheme.title} (periode {d.period}): een gezinslid heeft bezwaar "
                    "gemaakt tegen het opvragen van gegevens. Vraag het voordeel aan aan de balie.")
    if dry:
        headline += " Dit was een proefrun: er is niets toegekend."
    if objection:
        headline = f"{objection} {headline}"
    benefit = [s for s in ([_money_or_pct(k, v, "€") for k, v in (advice.get("amounts") or {}).items()]
                           + [_money_or_pct(k, v, "%") for k, v in (advice.get("percentages") or {}).items()]) if s]
    if d.amount is not None and not advice.get("amounts"):
        benefit.insert(0, f"bedrag: € {d.amount:.2f}".replace(".", ","))
    checks = list(checks_of(advice.get("trace")))
    grant_text = notice_text = None
    if grant is not None:
        grant_text, notice_text = _grant_sentences(grant, notices or (), card)
    elif d.decision == "eligible" and not dry:
        grant_text = "Nog niet toegekend (de run is nog bezig, of wacht op goedkeuring)."
    return Explanation(
        scheme_id, scheme.title, "opted_out" if opt is not None else "found", headline, opted_out_since=opted_since,
        decision=d.decision, decision_label=DECISION_LABELS.get(d.decision, d.decision), period=d.period,
        reference_date=d.reference_date, decided_at=d.decided_at, dry_run=dry,
        reasons=tuple(reason_text(c, tiers) for c in (d.reasons or ())),
        tier={t.id: t.title for t in scheme.tiers}.get(d.tier or "", d.tier),
        benefit=tuple(benefit), checks=tuple(checks), grant_status=grant_text, notice_status=notice_text,
        casework=casework)


def lookup_and_audit(engine: Engine, insz: str, scheme_id: str, *, consulted_by: str) -> Explanation:
    """``explain``, then write the lookup to the consultation log (committed) before returning the answer.

    Raises ``InvalidINSZ`` for a malformed number (nothing is looked up or logged) and ``FileNotFoundError``
    for an unknown scheme. Logs the outcome, never the INSZ."""
    from proactief.ledger.audit import record_lookup

    validate_insz(insz)
    explanation = explain(engine, insz, scheme_id)
    ref = record_lookup(engine, subject_insz=insz, consulted_by=consulted_by, outcome=explanation.outcome,
                        hoedanigheid=load_scheme(scheme_id).magda.hoedanigheid)
    log.info("dashboard lookup for %s by %s: %s", scheme_id, consulted_by, explanation.outcome)
    return replace(explanation, audit_ref=ref)
