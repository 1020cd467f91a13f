"""MAGDA answers → scheme observations: the one place where client results meet the rules' vocabulary.

Why a separate module: the rules (``proactief.schemes``) never read MAGDA types, and the client never
knows about rules. This mapping applies the outcome semantics of MAGDA.md exactly once:

- OK → the data (a Persoon becomes a :class:`RegisterRecord`, statutes :class:`StatuteAnswer` …);
- DEFINITIVE (30001/30003; KSZ 70001 absent data) → ``Answer.NO_DATA`` (the criterion is false);
- 45008 on a tax question → ``Answer.YEAR_MISSING`` (fall back to the year before);
- TRANSIENT, DATA_ERROR, and a NEEDS_INSCRIPTION left after auto-registration → ``Answer.TRANSIENT``:
  the fact becomes UNKNOWN and the decision undetermined, never a ground for refusal.

Configuration errors and SOAP faults never reach this module: the client raises them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from proactief.magda.audit import OutcomeClass
from proactief.magda.results import (
    POSITIE_REFERENTIEPERSOON,
    Aanslagbiljet,
    Adres,
    DateLike,
    DossierHandicap,
    HistoriekGezinssamenstelling,
    HistoriekPersoon,
    MagdaAnswer,
    Persoon,
    SociaalStatuutAntwoord,
    earliest,
    latest,
)
from proactief.magda.results import Period as MagdaPeriod
from proactief.magda.results import VehicleRegistration as MagdaVehicle
from proactief.schemes.facts import Statute
from proactief.schemes.observations import (
    Address,
    Answer,
    RegisterRecord,
    SocialCard,
    Span,
    StatuteAnswer,
    TaxAssessment,
    VehicleRegistration,
)

__all__ = [
    "HouseholdOnDay",
    "Member",
    "RegisterObservation",
    "YEAR_MISSING_CODE",
    "no_data_state",
    "household_history_from_answer",
    "household_on",
    "register_from_answer",
    "residences_from_answer",
    "register_from_persoon",
    "social_cards_from_answer",
    "span_of",
    "statutes_from_answer",
    "statutes_from_antwoord",
    "tax_from_answer",
    "vehicles_from_answer",
]

YEAR_MISSING_CODE = "45008"
"""INFORMATIE: the income year asked does not exist (yet)."""

_ALWAYS = Span()
_NO_DATA_STATUTE = MappingProxyType({})


def no_data_state(answer: MagdaAnswer[Any]) -> Answer | None:
    """The data-less meaning of an answer's outcome; None when the answer carries data (OK with a value)."""
    outcome = answer.outcome
    if outcome is OutcomeClass.OK:
        return Answer.NO_DATA if answer.value is None else None  # KSZ 70001 without content: absent = false
    if outcome is OutcomeClass.DEFINITIVE:
        return Answer.YEAR_MISSING if answer.code == YEAR_MISSING_CODE else Answer.NO_DATA
    # TRANSIENT, DATA_ERROR, NEEDS_INSCRIPTION after auto-registration: we could not find out.
    return Answer.TRANSIENT


def _day(value: DateLike | None, *, late: bool = False) -> dt.date | None:
    if value is None:
        return None
    return latest(value) if late else earliest(value)


def span_of(period: MagdaPeriod | None) -> Span:
    """A MAGDA period as an observation span; incomplete dates are read generously (widest span)."""
    if period is None:
        return _ALWAYS
    return Span(_day(period.begin), _day(period.end, late=True))


def _address(adres: Adres) -> Address:
    kind = "main" if adres.soort == "hoofdverblijfplaats" else "contact"
    return Address(kind, adres.nis_code, adres.postcode, span_of(adres.periode))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Member:
    """A ``Gezinslid`` of the subject: who (needed to ask about them), position, birth date, membership span."""

    insz: str
    register: RegisterRecord
    membership: Span

    def __repr__(self) -> str:  # never show the INSZ
        return f"Member(reference_person={self.register.reference_person}, membership={self.membership})"


@dataclass(frozen=True, slots=True)
class RegisterObservation:
    """What GeefPersoon said about one person: their register record and their household members.

    MAGDA lists ``Gezinsleden`` only in the reference person's own answer; a member's answer names just its
    ``Referentiepersoon``. ``reference`` is that other person's INSZ (the household must be read from their
    answer); None when the person is their own household's reference person (or lives alone).
    """

    record: RegisterRecord | Answer
    members: tuple[Member, ...] | Answer = ()
    reference: str | None = field(default=None, repr=False)
    membership: Span = _ALWAYS
    """How long the person has been in the reference person's household (the ``Referentiepersoon`` period)."""

    def __repr__(self) -> str:
        n = len(self.members) if isinstance(self.members, tuple) else self.members
        return (f"RegisterObservation({type(self.record).__name__}, members={n}, "
                f"member_of_other_household={self.reference is not None})")


def register_from_persoon(persoon: Persoon, on: dt.date | None = None) -> RegisterObservation:
    """GeefPersoon → register record (addresses with spans, birth/death, reference-person flag) and members.

    As MAGDA answers (compare ``10712995476.xml`` with ``84640438954.xml`` in the MAGDA-Mock data): a person
    whose answer names a ``Referentiepersoon`` other than themselves, valid on ``on``, is a member of that
    person's household (``reference``; their ``Positie`` is their own place in it); anyone else is their own
    household's reference person, with the ``Gezinsleden`` their answer lists. A member listed more than once
    (an old and a new position) is kept once: the entry that covers ``on``, else the one that started last.
    """
    addresses = tuple(_address(a) for a in (*persoon.hoofdverblijfplaatsen, *persoon.contactadressen))
    ref = persoon.referentiepersoon
    current = ref is not None and (ref.periode.covers(on) if on is not None else ref.periode.end is None)
    other = (ref.insz if current and ref is not None and ref.insz and ref.insz != persoon.insz
             and ref.positie != POSITIE_REFERENTIEPERSOON else None)
    is_reference = other is None
    record = RegisterRecord(
        born=_day(persoon.geboortedatum),
        died=_day(persoon.overlijdensdatum),
        addresses=addresses,
        reference_person=is_reference,
    )
    chosen: dict[str, Member] = {}
    for lid in persoon.gezinsleden:
        if not lid.insz or lid.insz == persoon.insz:
            continue
        member = Member(
            lid.insz,
            RegisterRecord(born=_day(lid.geboortedatum), reference_person=lid.positie == POSITIE_REFERENTIEPERSOON),
            span_of(lid.periode),
        )
        old = chosen.get(lid.insz)
        if old is None or _better(member, old, on):
            chosen[lid.insz] = member
    membership = span_of(ref.periode) if other is not None and ref is not None else _ALWAYS
    return RegisterObservation(record, tuple(chosen.values()), other, membership)


def _better(new: Member, old: Member, on: dt.date | None) -> bool:
    if on is not None and new.membership.covers(on) != old.membership.covers(on):
        return new.membership.covers(on)
    return (new.membership.start or dt.date.min) > (old.membership.start or dt.date.min)


def register_from_answer(answer: MagdaAnswer[Persoon], on: dt.date | None = None) -> RegisterObservation:
    """A GeefPersoon answer of any outcome; NO_DATA = unknown to the register (so not a resident)."""
    state = no_data_state(answer)
    if state is not None:
        # YEAR_MISSING cannot happen here; treat anything data-less that is definitive as "nothing".
        state = Answer.TRANSIENT if state is Answer.TRANSIENT else Answer.NO_DATA
        return RegisterObservation(state, state)
    assert isinstance(answer.value, Persoon)
    return register_from_persoon(answer.value, on)


def residences_from_answer(answer: MagdaAnswer[HistoriekPersoon]) -> tuple[Address, ...] | Answer:
    """GeefHistoriekPersoon → every main residence with its span; no history (30001) = NO_DATA, a gap TRANSIENT."""
    state = no_data_state(answer)
    if state is not None:
        return Answer.TRANSIENT if state is Answer.TRANSIENT else Answer.NO_DATA
    assert isinstance(answer.value, HistoriekPersoon)
    return tuple(_address(a) for a in answer.value.hoofdverblijfplaatsen)


def household_history_from_answer(answer: MagdaAnswer[HistoriekGezinssamenstelling],
                                  ) -> HistoriekGezinssamenstelling | Answer:
    """GeefHistoriekGezinssamenstelling as it came (reduced to D later); no history = NO_DATA, a gap TRANSIENT."""
    state = no_data_state(answer)
    if state is not None:
        return Answer.TRANSIENT if state is Answer.TRANSIENT else Answer.NO_DATA
    assert isinstance(answer.value, HistoriekGezinssamenstelling)
    return answer.value


@dataclass(frozen=True, slots=True)
class HouseholdOnDay:
    """The household ``insz`` belonged to on D, from its history: its own position and the other members."""

    reference_person: bool
    reference: str | None = field(repr=False)
    """The household's reference person on D when that is someone else (None: ``insz`` itself, or alone)."""
    members: tuple[Member, ...] = ()
    membership: Span = _ALWAYS


def household_on(history: HistoriekGezinssamenstelling | Answer, insz: str, d: dt.date) -> HouseholdOnDay:
    """The household on D as the history gives it; a person in no household on D (or without any history)
    lived alone: their own reference person."""
    leden = history.op(insz, d) if isinstance(history, HistoriekGezinssamenstelling) else None
    if not leden:
        return HouseholdOnDay(True, None)
    own = next(lid for lid in leden if lid.insz == insz)
    head = next((lid for lid in leden if lid.positie == POSITIE_REFERENTIEPERSOON and lid.insz), None)
    chosen: dict[str, Member] = {}
    for lid in leden:
        if lid.insz and lid.insz != insz and lid.insz not in chosen:
            chosen[lid.insz] = Member(lid.insz, RegisterRecord(born=_day(lid.geboortedatum),
                                                               reference_person=lid is head), span_of(lid.periode))
    is_head = head is None or head.insz == insz
    return HouseholdOnDay(is_head, None if is_head else head.insz, tuple(chosen.values()),  # type: ignore[union-attr]
                          span_of(own.periode))


def statutes_from_antwoord(antwoord: SociaalStatuutAntwoord | None,
                           asked: Iterable[Statute | str]) -> dict[Statute, StatuteAnswer | Answer]:
    """One StatuteAnswer per statute asked; a statute the answer does not list is NO_DATA (KSZ 70001)."""
    out: dict[Statute, StatuteAnswer | Answer] = {}
    for name in asked:
        statute = Statute(name)
        found = antwoord.get(statute.value) if antwoord is not None else None
        if found is None:
            out[statute] = Answer.NO_DATA
        else:
            out[statute] = StatuteAnswer(found.code, tuple(span_of(p) for p in found.periodes))
    return out


def statutes_from_answer(answer: MagdaAnswer[SociaalStatuutAntwoord],
                         asked: Iterable[Statute | str]) -> dict[Statute, StatuteAnswer | Answer]:
    """A GeefSociaalStatuut (or one person of a list) answer: per statute asked, the answer or its state."""
    state = no_data_state(answer)
    if state is None:
        assert isinstance(answer.value, SociaalStatuutAntwoord)
        return statutes_from_antwoord(answer.value, asked)
    value = Answer.TRANSIENT if state is Answer.TRANSIENT else Answer.NO_DATA
    return {Statute(s): value for s in asked}


def social_cards_from_answer(answer: MagdaAnswer[DossierHandicap]) -> tuple[SocialCard, ...] | Answer:
    """GeefDossierHandicap → the social cards (category, delivery, end); no dossier = NO_DATA."""
    state = no_data_state(answer)
    if state is not None:
        return Answer.TRANSIENT if state is Answer.TRANSIENT else Answer.NO_DATA
    assert isinstance(answer.value, DossierHandicap)
    return tuple(SocialCard(k.categorie, k.einde, k.uitgifte) for k in answer.value.kaarten)


def tax_from_answer(answer: MagdaAnswer[Aanslagbiljet]) -> TaxAssessment | Answer:
    """GeefAanslagbiljetPersonenbelasting for one year → assessment; 45008 → YEAR_MISSING; 30001 → NO_DATA."""
    state = no_data_state(answer)
    if state is not None:
        return state
    assert isinstance(answer.value, Aanslagbiljet)
    return TaxAssessment(answer.value.artikelnummer, MappingProxyType(dict(answer.value.items)))


def vehicles_from_answer(answer: MagdaAnswer[tuple[MagdaVehicle, ...]]) -> tuple[VehicleRegistration, ...] | Answer:
    """Vehicle registrations by national number; none found (204 / DEFINITIVE) = no vehicles."""
    if answer.outcome is OutcomeClass.DEFINITIVE:
        return ()
    state = no_data_state(answer)
    if state is not None:
        return () if state is Answer.NO_DATA else Answer.TRANSIENT
    return tuple(VehicleRegistration(v.plate, v.status or "", v.titular) for v in answer.value or ())


def freeze(mapping: Mapping[Statute, StatuteAnswer | Answer]) -> Mapping[Statute, StatuteAnswer | Answer]:
    """A read-only copy (observations are frozen)."""
    return MappingProxyType(dict(mapping)) if mapping else _NO_DATA_STATUTE
