"""Turn observations into facts, following the definitions in SCHEMES.md to the letter.

Each function answers one fact for reference date D in three values plus "not asked":
a value, ``UNKNOWN`` (a transient problem decides it either way), or ``None`` (a needed answer was not
gathered; the fact is left out so :func:`~proactief.schemes.evaluator.evaluate` can say what is missing).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Literal

from proactief.schemes.evaluator import needed_facts
from proactief.schemes.facts import (
    ABSENT,
    OBJECTION_REASON,
    TRANSIENT_REASON,
    UNKNOWN,
    FactKey,
    Facts,
    FactValue,
    Holder,
    Statute,
)
from proactief.schemes.model import Scheme
from proactief.schemes.observations import (
    Answer,
    CityRecord,
    Observations,
    PersonObservation,
    RegisterRecord,
    TaxAssessment,
)

__all__ = [
    "ADULT_AGE",
    "GHENT_NIS",
    "INCOME_ITEM_CODES",
    "OPEN_ENDED",
    "derive_fact",
    "derive_facts",
    "ghent_resident",
    "household_members",
    "household_taxable_income",
    "lez_vehicle",
    "parking_card_end_date",
    "parking_card_valid",
    "statute_holds",
]

GHENT_NIS = "44021"
"""NISCodeGemeente of Gent. The postcode is not used: 9070, 9090, 9820 look like Ghent and are not."""
ADULT_AGE = 18
INCOME_ITEM_CODES = ("A7555", "B7555")
OPEN_ENDED = dt.date(9999, 12, 31)
"""End date given to a parking card without one."""

Tri = bool | Literal["unknown"] | None
_U: Literal["unknown"] = "unknown"
_UNKNOWN_ANSWERS = (Answer.TRANSIENT, Answer.WITHHELD)
"""Answers that leave a fact UNKNOWN: a transient MAGDA problem, or not asked because that person objected."""


def _any(values: Iterable[Tri]) -> Tri:
    """Kleene OR, where None (not asked) outranks unknown: asking may still settle it."""
    vals = list(values)
    if True in vals:
        return True
    if None in vals:
        return None
    if _U in vals:
        return _U
    return False


def _to_fact(value: Tri) -> FactValue | None:
    return UNKNOWN if value == _U else value  # type: ignore[return-value]


def _dead_on(register: RegisterRecord, d: dt.date) -> bool:
    return register.died is not None and register.died <= d


# ---------------------------------------------------------------- one person


def ghent_resident(register: RegisterRecord | Answer | None, d: dt.date) -> Tri:
    """Main residence (not a contact address) with NIS 44021 covering D, and not deceased on D."""
    if register is None:
        return None
    if register in _UNKNOWN_ANSWERS:
        return _U
    if not isinstance(register, RegisterRecord):
        return False  # NO_DATA: unknown to the Rijksregister
    if _dead_on(register, d):
        return False
    mains = [a for a in register.addresses if a.kind == "main" and a.span.covers(d)]
    if not mains:
        # Today's residence began after D: where the person lived on D is in the history (asked when needed).
        return {"listed": False, "not_asked": None, "unknown": _U}[register.earlier_residences]
    # Moving on D: the residence that starts latest is the current one.
    current = max(mains, key=lambda a: a.span.start or dt.date.min)
    return current.nis_code == GHENT_NIS


def statute_holds(person: PersonObservation, statute: Statute, d: dt.date) -> Tri:
    """``Resultaat/Code`` 1 and, when ``Periodes`` are listed, one of them covers D."""
    answer = person.statutes.get(statute)
    if answer is None:
        return None
    if answer in _UNKNOWN_ANSWERS:
        return _U
    if isinstance(answer, Answer):
        return False
    if answer.code != 1:
        return False
    return not answer.periods or any(p.covers(d) for p in answer.periods)


def _valid_parking_cards(person: PersonObservation, d: dt.date) -> list[dt.date] | Literal["unknown"] | None:
    cards = person.social_cards
    if cards is None:
        return None
    if cards in _UNKNOWN_ANSWERS:
        return _U
    if isinstance(cards, Answer):
        return []
    return [
        c.end or OPEN_ENDED
        for c in cards
        if c.category == "PARKINGCARD" and (c.end is None or c.end >= d) and (c.delivered is None or c.delivered <= d)
    ]


def parking_card_valid(person: PersonObservation, d: dt.date) -> Tri:
    """A PARKINGCARD whose end date is on or after D; a REDUCTIONCARD does not count."""
    ends = _valid_parking_cards(person, d)
    return ends if ends is None or ends == _U else bool(ends)  # type: ignore[return-value]


def parking_card_end_date(person: PersonObservation, d: dt.date) -> FactValue | None:
    """The latest end date of the valid parking cards (``OPEN_ENDED`` without one); ABSENT when none is valid."""
    ends = _valid_parking_cards(person, d)
    if ends is None:
        return None
    if ends == _U:
        return UNKNOWN
    return max(ends) if ends else ABSENT


def _city(record: CityRecord | None, d: dt.date) -> Tri:
    if record is None:
        return None
    if record is Answer.TRANSIENT:
        return _U
    if isinstance(record, bool):
        return record
    if isinstance(record, Answer):
        return False
    return any(span.covers(d) for span in record)


# ---------------------------------------------------------------- the household


def household_members(obs: Observations, d: dt.date) -> list[PersonObservation] | Literal["unknown"] | None:
    """The other members of the subject's household on D (living ones, membership covering D)."""
    if obs.person.register in _UNKNOWN_ANSWERS or obs.household in _UNKNOWN_ANSWERS:
        return _U
    if obs.household is None:
        return None
    if isinstance(obs.household, Answer):
        return []
    return [
        m
        for m in obs.household
        if m.membership.covers(d) and not (isinstance(m.register, RegisterRecord) and _dead_on(m.register, d))
    ]


def _reference_person(obs: Observations, d: dt.date) -> PersonObservation | Literal["unknown"] | None:
    """The member in position reference person / gezinshoofd, else the subject."""
    if obs.household_partial:
        return None  # on D the subject may have lived in another household: its history says whose
    own = obs.person.register
    if isinstance(own, RegisterRecord) and own.reference_person:
        return obs.person
    members = household_members(obs, d)
    if members is None or members == _U:
        return members
    for m in members:
        if isinstance(m.register, RegisterRecord) and m.register.reference_person:
            if not m.register.addresses and isinstance(own, RegisterRecord):
                # Same household = same main residence: the subject's address answers for them.
                register = RegisterRecord(m.register.born, m.register.died, own.addresses, True, own.earlier_residences)
                return PersonObservation(
                    register, m.statutes, m.social_cards, m.tax, m.vehicles, m.city, m.membership, m.label
                )
            return m
    return obs.person


def _member(person: PersonObservation) -> bool:
    """The person's own answer names another reference person: they are a member of that household."""
    return isinstance(person.register, RegisterRecord) and not person.register.reference_person


def _everyone(obs: Observations, d: dt.date) -> list[PersonObservation] | Literal["unknown"] | None:
    members = household_members(obs, d)
    if members is None or members == _U:
        return members
    return [obs.person, *members]


def _household_any(obs: Observations, d: dt.date, test: str, statute: Statute | None = None) -> Tri:
    def one(p: PersonObservation) -> Tri:
        return statute_holds(p, statute, d) if statute else _city(p.city.get(test), d)

    people = _everyone(obs, d)
    if people is None or people == _U:
        # The members are not known: only the subject's own "yes" settles it.
        own = one(obs.person)
        if own is True:
            return True
        return None if people is None or own is None else _U
    found = _any(one(p) for p in people)
    if obs.household_partial and found is not True:
        return None  # a member who left since D may hold it: the household history decides
    return found


def _adult(register: RegisterRecord | Answer | None, d: dt.date) -> Tri:
    if not isinstance(register, RegisterRecord):
        return _U if register in _UNKNOWN_ANSWERS else None if register is None else False
    if register.born is None:
        return True  # no birth date: counted as an adult, so income is never left out
    try:
        eighteenth = register.born.replace(year=register.born.year + ADULT_AGE)
    except ValueError:  # born 29 February
        eighteenth = dt.date(register.born.year + ADULT_AGE, 3, 1)
    return eighteenth <= d


def _assessment(person: PersonObservation, d: dt.date) -> TaxAssessment | Literal["none", "unknown"] | None:
    """Income year D.year−1; on 45008 (year does not exist yet) D.year−2. NO_DATA = no assessment."""
    for year in (d.year - 1, d.year - 2):
        answer = person.tax.get(year)
        if answer is None:
            return None
        if answer in _UNKNOWN_ANSWERS:
            return _U
        if answer is Answer.NO_DATA:
            return "none"
        if isinstance(answer, TaxAssessment):
            return answer
        # YEAR_MISSING: try the year before
    return "none"


def household_taxable_income(obs: Observations, d: dt.date) -> FactValue | None:
    """Sum of A7555/B7555 (MAGDA item units) over the household's adults; ABSENT when no adult has an assessment.

    An adult without an assessment adds nothing (a dependent adult child has none). One joint assessment
    answered for both partners is counted once: items are summed once per (article number, item code).
    """
    people = _everyone(obs, d)
    if people is None or obs.household_partial:
        return None
    if people == _U:
        return UNKNOWN
    assessments: list[TaxAssessment] = []
    pending: list[Literal["unknown"] | None] = []
    for person in people:
        adult = _adult(person.register, d)
        if adult is False:
            continue
        found = _assessment(person, d)
        if found == "none":
            continue
        if adult is None or found is None:
            pending.append(None)
        elif adult == _U or found == _U:
            pending.append(_U)
        else:
            assessments.append(found)  # type: ignore[arg-type]
    if None in pending:
        return None
    if pending:
        return UNKNOWN
    if not assessments:
        return ABSENT
    seen: set[tuple[str, str]] = set()
    total = 0
    for n, assessment in enumerate(assessments):
        for code in INCOME_ITEM_CODES:
            if code not in assessment.items:
                continue
            marker = (assessment.article or f"#{n}", code)
            if marker in seen:
                continue
            seen.add(marker)
            total += assessment.items[code]
    return total


def _plate(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _eligible_plates(person: PersonObservation) -> list[str] | Literal["unknown"] | None:
    vehicles = person.vehicles
    if vehicles is None:
        return None
    if vehicles in _UNKNOWN_ANSWERS:
        return _U
    if isinstance(vehicles, Answer):
        return []
    return sorted(_plate(v.plate) for v in vehicles if v.status == "REG" and v.titular == "natural")


def lez_vehicle(obs: Observations, d: dt.date) -> FactValue | None:
    """The subject's own REG vehicle (lowest plate), else the household's REG vehicle with the lowest plate."""
    own = _eligible_plates(obs.person)
    if own is None:
        return None
    if own == _U:
        return UNKNOWN
    if own:
        return own[0]
    members = household_members(obs, d)
    if members is None or obs.household_partial:
        return None
    if members == _U:
        return UNKNOWN
    plates: list[str] = []
    pending: list[Literal["unknown"] | None] = []
    for m in members:
        found = _eligible_plates(m)
        if found is None or found == _U:
            pending.append(found)  # type: ignore[arg-type]
        else:
            plates.extend(found)
    if None in pending:
        return None
    if pending:
        return UNKNOWN
    return min(plates) if plates else ABSENT


# ---------------------------------------------------------------- all facts of a scheme


def derive_fact(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    """One fact from the observations; None when what it needs was not gathered."""
    person: PersonObservation | Literal["unknown"] | None = obs.person
    if key.holder is Holder.REFERENCE_PERSON and key.name == "ghent_resident" and obs.household_partial:
        # Whoever the reference person was on D, the household shared the subject's main residence on D.
        return _to_fact(ghent_resident(obs.person.register, d))
    if key.holder is Holder.REFERENCE_PERSON:
        person = _reference_person(obs, d)
        if person is None:
            return None
        if person == _U:
            if key.name == "ghent_resident" and _member(obs.person):
                # A household shares one main residence (Rijksregister): a member's own residence answers for the
                # reference person whose answer could not be read — a member living outside Ghent settles it.
                return _to_fact(ghent_resident(obs.person.register, d))
            return UNKNOWN
    assert isinstance(person, PersonObservation)
    name = key.name
    if name == "ghent_resident":
        return _to_fact(ghent_resident(person.register, d))
    if name == "statute":
        assert key.statute is not None
        if key.holder is Holder.HOUSEHOLD:
            return _to_fact(_household_any(obs, d, name, key.statute))
        return _to_fact(statute_holds(person, key.statute, d))
    if name in ("budgetbeheer", "schuldbemiddeling"):
        if key.holder is Holder.HOUSEHOLD:
            return _to_fact(_household_any(obs, d, name))
        return _to_fact(_city(person.city.get(name), d))
    if name == "parking_card_valid":
        return _to_fact(parking_card_valid(person, d))
    if name == "parking_card_end_date":
        return parking_card_end_date(person, d)
    if name == "enrolled_city_school_or_care":
        return _to_fact(_city(obs.enrolled_city_school_or_care, d))
    if name == "household_size":
        if obs.household_partial:
            return None
        members = household_members(obs, d)
        return None if members is None else UNKNOWN if members == _U else 1 + len(members)  # type: ignore[arg-type]
    if name == "household_taxable_income":
        return household_taxable_income(obs, d)
    if name == "lez_vehicle":
        return lez_vehicle(obs, d)
    raise KeyError(f"no derivation for fact {key}")  # pragma: no cover - every FACT_SPECS name is handled


def derive_facts(scheme: Scheme, obs: Observations, reference_date: dt.date) -> Facts:
    """The facts ``scheme`` needs, derived from ``obs`` for D; facts whose inputs were not gathered are left out."""
    values: dict[FactKey, FactValue] = {}
    why: dict[FactKey, str] = {}
    household_unknown = household_members(obs, reference_date) == _U
    counterfactual: Observations | None = None
    for key in needed_facts(scheme):
        value = derive_fact(key, obs, reference_date)
        if value is None:
            continue
        values[key] = value
        if value is UNKNOWN and household_unknown and key.holder in (Holder.HOUSEHOLD, Holder.REFERENCE_PERSON):
            why[key] = TRANSIENT_REASON  # the household could not be listed (GeefPersoon), whatever the source
        if value is UNKNOWN and _withheld_in(obs):
            if counterfactual is None:
                counterfactual = _withheld_as_nothing(obs)
            if derive_fact(key, counterfactual, reference_date) not in (UNKNOWN, None):
                why[key] = OBJECTION_REASON  # only an objector's data was missing: no transient gap
    return Facts.of(values, unknown_reasons=why)  # type: ignore[arg-type]


def _withheld_in(obs: Observations) -> bool:
    people = (obs.person, *obs.household) if isinstance(obs.household, tuple) else (obs.person,)
    return obs.household is Answer.WITHHELD or any(
        p.register is Answer.WITHHELD or p.social_cards is Answer.WITHHELD or p.vehicles is Answer.WITHHELD
        or Answer.WITHHELD in p.statutes.values() or Answer.WITHHELD in p.tax.values() for p in people)


def _withheld_as_nothing(obs: Observations) -> Observations:
    """The observations with every withheld answer read as "nothing found": a fact this settles was UNKNOWN
    because of an objector's data only (and not because of a transient gap)."""
    def nothing(value: Any) -> Any:
        return Answer.NO_DATA if value is Answer.WITHHELD else value

    def person(p: PersonObservation) -> PersonObservation:
        return replace(p, register=nothing(p.register), social_cards=nothing(p.social_cards),
                       vehicles=nothing(p.vehicles), statutes={k: nothing(v) for k, v in p.statutes.items()},
                       tax={k: nothing(v) for k, v in p.tax.items()})

    household = (tuple(person(m) for m in obs.household) if isinstance(obs.household, tuple)
                 else nothing(obs.household))
    return replace(obs, person=person(obs.person), household=household)
