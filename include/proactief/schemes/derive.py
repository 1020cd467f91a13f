"""Turn observations into facts, following the definitions in SCHEMES.md to the letter.

Each fact's derivation is part of its declaration (:mod:`proactief.schemes.factdefs`, one module per fact); this
module derives the facts a scheme needs and says why a fact is UNKNOWN. The public derivation helpers are
re-exported here. Each answers one fact for reference date D in three values plus "not asked":
a value, ``UNKNOWN`` (a transient problem decides it either way), or ``None`` (a needed answer was not
gathered; the fact is left out so :func:`~proactief.schemes.evaluator.evaluate` can say what is missing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import proactief.schemes.factdefs  # noqa: F401  (every fact's declaration, with its derivation)
from proactief.schemes.evaluator import needed_facts
from proactief.schemes.factdefs.common import U as _U
from proactief.schemes.factdefs.common import household_members
from proactief.schemes.factdefs.ghent_resident import GHENT_NIS, ghent_resident
from proactief.schemes.factdefs.household_taxable_income import ADULT_AGE, INCOME_ITEM_CODES, household_taxable_income
from proactief.schemes.factdefs.lez_vehicle import lez_vehicle
from proactief.schemes.factdefs.parking_card_end_date import parking_card_end_date
from proactief.schemes.factdefs.parking_card_valid import OPEN_ENDED, parking_card_valid
from proactief.schemes.factdefs.statute import statute_holds
from proactief.schemes.facts import (
    OBJECTION_REASON,
    TRANSIENT_REASON,
    UNKNOWN,
    FactKey,
    Facts,
    FactValue,
    Holder,
)
from proactief.schemes.model import Scheme
from proactief.schemes.observations import Answer, Observations, PersonObservation

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


# ---------------------------------------------------------------- all facts of a scheme


def derive_fact(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    """One fact from the observations; None when what it needs was not gathered (its declaration derives it)."""
    return key.spec.derive(key, obs, d)


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
