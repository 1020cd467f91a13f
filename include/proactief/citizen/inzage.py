"""What the city's system did with one person's data, gathered for the person (GDPR Art. 15: right of access).

One document lists, in plain Dutch:

- every MAGDA consultation about the person (when, which authentic source, for which scheme and legal ground, by
  which service of the city) — from the consultation log (``magda_consultation``), never an answer's content;
- the reads of the city's own files: the OCMW and enrolment files as the decisions' traces name them, the
  city's register extract a population run selected the person from, the address or e-mail a message went to;
- the decisions with their reasons in words, the grants (and to which system they were passed on), the letters
  and e-mails, the objections (opt-outs) and their withdrawals;
- the bezwaren against a decision and the decisions a case worker made by hand;
- every time a member of staff looked the person up in the dashboard, or made this document.

No raw MAGDA value is shown (the log keeps none; the decisions' traces hold yes/no outcomes only, and income or
other amounts from a source never leave the ledger), no other person's data (only rows about this INSZ; the
civil servant's INSZ MAGDA keeps in ``gebruiker`` is left out) and, unless the DPO decides otherwise, no staff
names: under the CJEU's *Pankki S* judgment (C-579/21, 22 June 2023) the employees who consulted the data are not
"recipients" the controller must name; the document says a member of staff looked, when and why, and that the
name is available on request. The INSZ itself is shown masked.

:func:`export_and_audit` writes the export itself to the consultation log (service ``Proactief.Burger.Inzage``,
with who made it) and commits that before the document is returned. Nothing here logs an INSZ.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from proactief.casework.core import CaseworkItem, casework_of
from proactief.citizen.sources import (
    API_SERVICE,
    CITY_SOURCES,
    EXPORT_SERVICE,
    STAFF_SERVICES,
    city_sources,
    purpose_of,
    service_name,
    source_words,
    used_for,
)
from proactief.insz import validate_insz
from proactief.ledger.audit import LOOKUP_SERVICE, record_lookup
from proactief.ledger.models import (
    DecisionRow,
    GrantRow,
    MagdaConsultation,
    ManualDecision,
    Notice,
    OptOut,
    OptOutEvent,
    OutboxMessage,
    SchemeRun,
)
from proactief.schemes import load_all
from proactief.schemes.subjects import subject_kind

__all__ = [
    "EXPORT_SERVICE",
    "CityRead",
    "ConsultationEntry",
    "DecisionEntry",
    "GrantEntry",
    "Inzage",
    "LetterEntry",
    "ObjectionEntry",
    "StaffView",
    "export_and_audit",
    "gather",
    "mask_insz",
    "subject_of_lookup",
]

log = logging.getLogger("proactief.citizen")
LOCAL_TZ = ZoneInfo("Europe/Brussels")

EXPORT_AFNEMER = "Stad Gent – Proactief (inzage voor de burger)"
EXPORT_HOEDANIGHEID = "AVG-art15-inzage"
"""Not a MAGDA code: the export's row in the consultation log says under which right it was made."""
STAFF_UNNAMED = "een medewerker van de stad (naam op aanvraag)"

_OUTCOMES = {"ok": "antwoord ontvangen", "definitive": "geen gegevens gevonden",
             "transient": "bron tijdelijk niet bereikbaar", "needs_inscription": "eerst inschrijving nodig",
             "data_error": "fout in de gegevens bij de bron", "configuration_error": "vraag niet beantwoord",
             "fault": "vraag niet beantwoord"}
_DECISIONS = {"eligible": "U hebt recht", "not_eligible": "U hebt geen recht", "undetermined": "Nog niet beslist"}
_GRANT_STATUS = {"granted": "toegekend, wordt doorgegeven", "delivered": "toegekend en doorgegeven",
                 "revoked": "beëindigd", "cancelled": "niet doorgegeven (u maakte bezwaar)",
                 "waiting_pass": "toegekend, wacht op uw UiTPAS"}
_CHANNELS = {"email": "e-mail", "letter": "brief", "ebox": "eBox"}
_NOTICE_STATUS = {"sent": "verstuurd", "pending": "klaar om te versturen", "failed": "kon niet verstuurd worden",
                  "cancelled": "niet verstuurd (u maakte bezwaar)"}
_SYSTEMS = {"uitpas": "UiTPAS Gent", "ivago": "IVAGO", "school-billing": "de schoolfacturatie van de stad",
            "lez": "het register van de lage-emissiezone", "lez-magda": "het register van de lage-emissiezone"}
_OPT_ACTIONS = {"object": "Bezwaar gemaakt: de stad vraagt niets meer op over u en kent niets automatisch toe",
                "withdraw": "Bezwaar ingetrokken"}
_CHANNEL_WORDS = {"web": "website", "contact-centre": "contactcenter", "letter": "brief", "email": "e-mail",
                  "counter": "balie", "intake-file": "contactcenter"}


def mask_insz(insz: str) -> str:
    """``••.••.••-033.28``: enough for the person to recognise, nothing to misuse if the paper goes astray."""
    return f"••.••.••-{insz[6:9]}.{insz[9:]}"


@dataclass(frozen=True)
class ConsultationEntry:
    """One MAGDA question about the person."""

    when: dt.datetime
    source: str
    scheme: str
    legal_grounds: tuple[str, ...]
    afnemer: str
    department: str | None
    used_for: tuple[str, ...]
    outcome: str
    purpose: str | None
    """The purpose as recorded (a scheme id or a job name): shown when no scheme could be found for it."""


@dataclass(frozen=True)
class CityRead:
    """One read of the city's own files about the person."""

    when: dt.datetime
    source: str
    what: str
    scheme: str


@dataclass(frozen=True)
class DecisionEntry:
    decided_at: dt.datetime
    scheme: str
    period: str
    decision: str
    label: str
    reasons: tuple[str, ...]
    trial: bool
    """A trial run (dry run): nothing was granted or sent."""
    sources: tuple[str, ...]


@dataclass(frozen=True)
class GrantEntry:
    scheme: str
    period: str
    status: str
    valid_from: dt.date
    valid_until: dt.date | None
    granted_at: dt.datetime
    passed_on: tuple[str, ...]
    """To which system, when, and whether it arrived (the outbox's grant and revoke rows)."""


@dataclass(frozen=True)
class LetterEntry:
    created_at: dt.datetime
    channel: str
    status: str
    sent_at: dt.datetime | None
    schemes: tuple[str, ...]


@dataclass(frozen=True)
class ObjectionEntry:
    at: dt.datetime
    action: str
    channel: str
    recorded_by: str | None


@dataclass(frozen=True)
class CaseworkEntry:
    """A bezwaar against a decision, or a decision a case worker made by hand (issue 17.3)."""

    at: dt.datetime
    scheme: str
    what: str
    status: str
    by: str


@dataclass(frozen=True)
class StaffView:
    """A member of staff looked at the person's file (dashboard lookup) or made an access document."""

    when: dt.datetime
    who: str
    what: str


@dataclass(frozen=True)
class Inzage:
    """Everything one access document says; holds no INSZ but the masked one."""

    made_at: dt.datetime
    insz_masked: str
    opted_out_since: dt.datetime | None
    consultations: Sequence[ConsultationEntry] = field(default_factory=tuple)
    city_reads: Sequence[CityRead] = field(default_factory=tuple)
    decisions: Sequence[DecisionEntry] = field(default_factory=tuple)
    grants: Sequence[GrantEntry] = field(default_factory=tuple)
    letters: Sequence[LetterEntry] = field(default_factory=tuple)
    objections: Sequence[ObjectionEntry] = field(default_factory=tuple)
    casework: Sequence[CaseworkEntry] = field(default_factory=tuple)
    staff_views: Sequence[StaffView] = field(default_factory=tuple)
    staff_names: bool = False


def _title(scheme_id: str) -> str:
    scheme = load_all().get(scheme_id)
    return scheme.title if scheme is not None else scheme_id


def _staff(name: str | None, staff_names: bool) -> str:
    if staff_names and name:
        return f"medewerker {name}"
    return STAFF_UNNAMED


def _consultations(rows: Sequence[Any], staff_names: bool) -> tuple[list[ConsultationEntry], list[StaffView]]:
    magda: list[ConsultationEntry] = []
    staff: list[StaffView] = []
    for r in rows:
        purpose = purpose_of(r.purpose, r.hoedanigheid)
        if r.service in STAFF_SERVICES:
            what = (f"Bekeek uw beslissing over {purpose.title} in het dashboard van de stad"
                    if r.service == LOOKUP_SERVICE and purpose.scheme_id
                    else f"Bekeek uw dossier over {purpose.title} via een ander systeem van de stad (klantendienst, "
                         "Mijn Gent)" if r.service == API_SERVICE
                    else "Bekeek uw gegevens in het dashboard van de stad" if r.service == LOOKUP_SERVICE
                    else "Maakte dit overzicht van uw gegevens (inzage)")
            staff.append(StaffView(r.requested_at, _staff(r.consulted_by, staff_names), what))
            continue
        magda.append(ConsultationEntry(
            when=r.requested_at, source=service_name(r.service), scheme=purpose.title,
            legal_grounds=purpose.legal_grounds, afnemer=f"Stad Gent ({r.afnemer})", department=purpose.department,
            used_for=used_for(r.service, purpose.scheme_id), outcome=_OUTCOMES.get(r.outcome, r.outcome),
            purpose=r.purpose))
    return magda, staff


def _reasons(codes: Sequence[str], scheme_id: str) -> tuple[str, ...]:
    from proactief.dashboard.lookup import reason_text

    scheme = load_all().get(scheme_id)
    tiers = {t.reason: t.title for t in scheme.tiers} if scheme is not None else None
    return tuple(reason_text(c, tiers) for c in codes)


def _selected_from(scheme_id: str) -> str | None:
    scheme = load_all().get(scheme_id)
    if scheme is None:
        return None
    population = subject_kind(scheme.subject).population
    return CITY_SOURCES["enrolled_children" if population == "enrolled_children" else "residents"]


def _decisions(rows: Sequence[Any]) -> tuple[list[DecisionEntry], list[CityRead]]:
    decisions: list[DecisionEntry] = []
    reads: list[CityRead] = []
    own = city_sources()
    for d in rows:
        title = _title(d.scheme_id)
        trace: Sequence[Mapping[str, Any]] = (d.advice or {}).get("trace") or ()
        asked = [s for s in trace if s.get("outcome") != "not_asked" and s.get("source")]
        sources = tuple(dict.fromkeys(source_words(str(s["source"])) for s in asked))
        decisions.append(DecisionEntry(
            decided_at=d.decided_at, scheme=title, period=d.period, decision=d.decision,
            label=_DECISIONS.get(d.decision, d.decision), reasons=_reasons(d.reasons or (), d.scheme_id),
            trial=bool(d.dry_run), sources=sources))
        if d.selection == "population" and (selected := _selected_from(d.scheme_id)) is not None:
            reads.append(CityRead(d.decided_at, selected, "om te bepalen wie de regeling nagaat", title))
        seen: set[str] = set()
        for s in asked:
            source = str(s["source"])
            if source in own and source not in seen:
                seen.add(source)
                label = str(s.get("label") or s.get("criterion") or "")
                reads.append(CityRead(d.decided_at, source, f"nagegaan: {label}" if label else "nagegaan", title))
    return decisions, reads


def _system(channel: str) -> str:
    return _SYSTEMS.get(channel, channel)


def _grants(conn: Any, insz: str) -> list[GrantEntry]:
    grants = conn.execute(select(GrantRow.__table__).where(GrantRow.insz == insz)
                          .order_by(GrantRow.granted_at, GrantRow.id)).all()
    out = []
    for g in grants:
        moves = conn.execute(select(OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.status,
                                    OutboxMessage.sent_at)
                             .where(OutboxMessage.grant_id == g.id, OutboxMessage.kind.in_(("grant", "revoke")))
                             .order_by(OutboxMessage.id)).all()
        passed: list[str] = []
        for m in moves:
            what, system = ("" if m.kind == "grant" else "stopzetting "), _system(m.channel)
            if m.status == "sent" and m.sent_at is not None:
                passed.append(f"{what}doorgegeven aan {system} op {m.sent_at.astimezone(LOCAL_TZ):%d/%m/%Y}")
            elif m.status == "pending":
                passed.append(f"{what}wordt nog doorgegeven aan {system}")
            elif m.status == "cancelled":
                passed.append(f"{what}niet doorgegeven aan {system} (u maakte bezwaar)")
            else:
                passed.append(f"{what}nog niet doorgegeven aan {system} (een medewerker kijkt het na)")
        out.append(GrantEntry(_title(g.scheme_id), g.period, _GRANT_STATUS.get(g.status, g.status), g.valid_from,
                              g.valid_until, g.granted_at, tuple(p[:1].upper() + p[1:] for p in passed)))
    return out


def _letters(conn: Any, insz: str) -> tuple[list[LetterEntry], list[CityRead]]:
    letters: list[LetterEntry] = []
    reads: list[CityRead] = []
    notices = conn.execute(select(Notice.id, Notice.channel, Notice.status, Notice.created_at, Notice.sent_at)
                           .where(Notice.insz == insz).order_by(Notice.created_at, Notice.id)).all()
    for n in notices:
        schemes = conn.execute(select(GrantRow.scheme_id).join(OutboxMessage, OutboxMessage.grant_id == GrantRow.id)
                               .where(OutboxMessage.notice_id == n.id).distinct()).scalars().all()
        titles = tuple(sorted(_title(s) for s in schemes))
        if not titles:  # the letter with the decision on a bezwaar has no grant rows of its own
            titles = tuple(f"Beslissing over uw bezwaar: {_title(s)}" for s in conn.execute(
                select(ManualDecision.scheme_id).where(ManualDecision.letter_notice_id == n.id)).scalars())
        letters.append(LetterEntry(n.created_at, _CHANNELS.get(n.channel, n.channel),
                                   _NOTICE_STATUS.get(n.status, n.status), n.sent_at, titles))
        if n.channel in ("letter", "email") and n.status == "sent":
            what = "uw adres, om u de brief te sturen" if n.channel == "letter" else \
                "uw e-mailadres, om u de e-mail te sturen"
            reads.append(CityRead(n.sent_at or n.created_at, CITY_SOURCES["residents"], what,
                                  ", ".join(titles) or "bericht"))
    # a benefit of this person told to somebody else: a child's onderwijskorting, told to a parent in its household
    for n in conn.execute(select(Notice.id, Notice.channel, Notice.status, Notice.created_at, Notice.sent_at)
                          .where(Notice.insz != insz, Notice.id.in_(
                              select(OutboxMessage.notice_id).join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                              .where(GrantRow.insz == insz, OutboxMessage.addressee.is_not(None))))
                          .order_by(Notice.created_at, Notice.id)):
        schemes = conn.execute(select(GrantRow.scheme_id).join(OutboxMessage, OutboxMessage.grant_id == GrantRow.id)
                               .where(OutboxMessage.notice_id == n.id, GrantRow.insz == insz).distinct()).scalars()
        letters.append(LetterEntry(n.created_at, f"{_CHANNELS.get(n.channel, n.channel)} aan uw ouder",
                                   _NOTICE_STATUS.get(n.status, n.status), n.sent_at,
                                   tuple(sorted(_title(s) for s in schemes))))
    # notifications not (yet) gathered into a combined message
    loose = conn.execute(select(OutboxMessage.channel, OutboxMessage.status, OutboxMessage.created_at,
                                OutboxMessage.sent_at, GrantRow.scheme_id)
                         .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                         .where(GrantRow.insz == insz, OutboxMessage.kind == "notify",
                                OutboxMessage.notice_id.is_(None))
                         .order_by(OutboxMessage.created_at, OutboxMessage.id)).all()
    for m in loose:
        letters.append(LetterEntry(m.created_at, _CHANNELS.get(m.channel, m.channel),
                                   _NOTICE_STATUS.get(m.status, m.status), m.sent_at, (_title(m.scheme_id),)))
    letters.sort(key=lambda entry: entry.created_at)
    return letters, reads


_CASE_STATUS = {"open": "in behandeling", "decided": "beslist", "withdrawn": "ingetrokken",
                "pending_confirmation": "wacht op nazicht door een tweede medewerker", "in_force": "geldt",
                "back_to_case_worker": "wordt opnieuw bekeken (uw gegevens veranderden)",
                "superseded": "vervangen door een latere beslissing"}
_CASE_CHANNELS = {"phone": "telefoon", "counter": "balie", "letter": "brief", "email": "e-mail", "web": "website"}


def _casework_entry(item: CaseworkItem, staff_names: bool) -> CaseworkEntry:
    status = _CASE_STATUS.get(item.status, item.status)
    if item.kind == "bezwaar":
        what = (f"Bezwaar tegen een beslissing, ontvangen op {item.received_on:%d/%m/%Y} via "
                f"{_CASE_CHANNELS.get(item.channel or '', item.channel)}"
                + (" (na de termijn)" if item.late else ""))
    else:
        what = (("Toegekend" if item.outcome == "grant" else "Geweigerd") + " door een dossierbehandelaar"
                + (f" (periode {item.period})" if item.period else "") + f". Reden: {item.reason} "
                f"Rechtsgrond: {item.legal_ground}")
    return CaseworkEntry(item.at, _title(item.scheme_id), what, status, _staff(item.by, staff_names))


def gather(engine: Engine, insz: str, *, staff_names: bool = False, now: dt.datetime | None = None) -> Inzage:
    """Everything the system did with this person's data, as :class:`Inzage`; reads only (not audited)."""
    validate_insz(insz)
    with engine.connect() as conn:
        consultations = conn.execute(
            select(MagdaConsultation.requested_at, MagdaConsultation.service, MagdaConsultation.afnemer,
                   MagdaConsultation.hoedanigheid, MagdaConsultation.purpose, MagdaConsultation.outcome,
                   MagdaConsultation.consulted_by)
            .where(MagdaConsultation.subject_insz == insz)
            .order_by(MagdaConsultation.requested_at, MagdaConsultation.id)).all()
        decided = conn.execute(
            select(DecisionRow.scheme_id, DecisionRow.period, DecisionRow.decision, DecisionRow.reasons,
                   DecisionRow.advice, DecisionRow.decided_at, SchemeRun.dry_run, SchemeRun.selection)
            .join(SchemeRun, SchemeRun.id == DecisionRow.run_id)
            .where(DecisionRow.insz == insz)
            .order_by(DecisionRow.decided_at, DecisionRow.id)).all()
        grants = _grants(conn, insz)
        letters, letter_reads = _letters(conn, insz)
        since = conn.execute(select(OptOut.since).where(OptOut.insz == insz, OptOut.active.is_(True))).scalar()
        events = conn.execute(select(OptOutEvent.at, OptOutEvent.action, OptOutEvent.channel,
                                     OptOutEvent.recorded_by)
                              .where(OptOutEvent.insz == insz).order_by(OptOutEvent.at, OptOutEvent.id)).all()
        items = casework_of(conn, insz)
    magda, staff = _consultations(consultations, staff_names)
    decisions, decision_reads = _decisions(decided)
    objections = [ObjectionEntry(e.at, _OPT_ACTIONS.get(e.action, e.action), _CHANNEL_WORDS.get(e.channel, e.channel),
                                 _staff(e.recorded_by, staff_names) if e.recorded_by else None) for e in events]
    reads = sorted(decision_reads + letter_reads, key=lambda r: r.when)
    casework = [_casework_entry(i, staff_names) for i in reversed(items)]
    return Inzage(made_at=now or dt.datetime.now(dt.UTC), insz_masked=mask_insz(insz), opted_out_since=since,
                  consultations=tuple(magda), city_reads=tuple(reads), decisions=tuple(decisions),
                  grants=tuple(grants), letters=tuple(letters), objections=tuple(objections),
                  casework=tuple(casework),
                  staff_views=tuple(staff), staff_names=staff_names)


def export_and_audit(engine: Engine, insz: str, *, by: str, output: str, staff_names: bool = False,
                     now: dt.datetime | None = None) -> Inzage:
    """Write the export to the consultation log (committed, with who made it), then gather the document.

    Raises ``InvalidINSZ`` for a malformed number before anything is read or logged. ``output`` (``html`` or
    ``pdf``, or where it was asked: ``dashboard-pdf``) is recorded as the row's outcome. Logs no INSZ."""
    validate_insz(insz)
    by = (by or "").strip()
    if not by:
        raise ValueError("who makes the export? a staff account is required")
    moment = now or dt.datetime.now(dt.UTC)
    record_lookup(engine, subject_insz=insz, consulted_by=by, outcome=output, hoedanigheid=EXPORT_HOEDANIGHEID,
                  purpose="inzage", at=moment, service=EXPORT_SERVICE, afnemer=EXPORT_AFNEMER)
    log.info("citizen access document (%s) made by %s", output, by)
    return gather(engine, insz, staff_names=staff_names, now=moment)


LOOKUP_VALID_FOR = dt.timedelta(hours=1)
"""How long after a dashboard lookup its person's access document may be made from the lookup page."""


def subject_of_lookup(engine: Engine, ref: str, *, consulted_by: str, now: dt.datetime | None = None,
                      valid_for: dt.timedelta = LOOKUP_VALID_FOR) -> str | None:
    """The person a recent dashboard lookup by this same staff account was about, by the lookup's log reference.

    How the dashboard's export button names the person without an INSZ in the page or a URL: it posts the
    reference of the lookup's row in the consultation log. None when the reference is unknown, not a lookup, made
    by someone else or older than ``valid_for``."""
    ref = (ref or "").strip()
    if not ref or len(ref) > 36:
        return None
    moment = now or dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        subject: str | None = conn.execute(
            select(MagdaConsultation.subject_insz)
            .where(MagdaConsultation.message_ref == ref, MagdaConsultation.service == LOOKUP_SERVICE,
                   MagdaConsultation.consulted_by == consulted_by,
                   MagdaConsultation.requested_at >= moment - valid_for)
            .limit(1)).scalar()
    return subject
