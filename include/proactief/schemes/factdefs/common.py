"""Derivation helpers several facts share: three-valued logic, the household on D, its reference person.

Each derivation answers one fact for reference date D in three values plus "not asked": a value, ``UNKNOWN``
(a transient problem decides it either way), or ``None`` (a needed answer was not gathered; the fact is left
out so :func:`~proactief.schemes.evaluator.evaluate` can say what is missing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Literal

from proactief.schemes.factdefs.base import UNKNOWN, FactValue, Holder
from proactief.schemes.observations import Answer, CityRecord, Observations, PersonObservation, RegisterRecord

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey

Tri = bool | Literal["unknown"] | None
U: Literal["unknown"] = "unknown"
UNKNOWN_ANSWERS = (Answer.TRANSIENT, Answer.WITHHELD)
"""Answers that leave a fact UNKNOWN: a transient MAGDA problem, or not asked because that person objected."""


def any_of(values: Iterable[Tri]) -> Tri:
    """Kleene OR, where None (not asked) outranks unknown: asking may still settle it."""
    vals = list(values)
    if True in vals:
        return True
    if None in vals:
        return None
    if U in vals:
        return U
    return False


def to_fact(value: Tri) -> FactValue | None:
    return UNKNOWN if value == U else value  # type: ignore[return-value]


def dead_on(register: RegisterRecord, d: dt.date) -> bool:
    return register.died is not None and register.died <= d


def city(record: CityRecord | None, d: dt.date) -> Tri:
    """A city data set's answer on D: listed with a period covering D (or a plain yes/no)."""
    if record is None:
        return None
    if record is Answer.TRANSIENT:
        return U
    if isinstance(record, bool):
        return record
    if isinstance(record, Answer):
        return False
    return any(span.covers(d) for span in record)


def household_members(obs: Observations, d: dt.date) -> list[PersonObservation] | Literal["unknown"] | None:
    """The other members of the subject's household on D (living ones, membership covering D)."""
    if obs.person.register in UNKNOWN_ANSWERS or obs.household in UNKNOWN_ANSWERS:
        return U
    if obs.household is None:
        return None
    if isinstance(obs.household, Answer):
        return []
    return [
        m
        for m in obs.household
        if m.membership.covers(d) and not (isinstance(m.register, RegisterRecord) and dead_on(m.register, d))
    ]


def reference_person(obs: Observations, d: dt.date) -> PersonObservation | Literal["unknown"] | None:
    """The member in position reference person / gezinshoofd, else the subject."""
    if obs.household_partial:
        return None  # on D the subject may have lived in another household: its history says whose
    own = obs.person.register
    if isinstance(own, RegisterRecord) and own.reference_person:
        return obs.person
    members = household_members(obs, d)
    if members is None or members == U:
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


def holder_person(key: FactKey, obs: Observations, d: dt.date) -> PersonObservation | Literal["unknown"] | None:
    """Whose data a one-person fact reads: the reference person's for that holder, else the subject's."""
    if key.holder is Holder.REFERENCE_PERSON:
        return reference_person(obs, d)
    return obs.person


def member(person: PersonObservation) -> bool:
    """The person's own answer names another reference person: they are a member of that household."""
    return isinstance(person.register, RegisterRecord) and not person.register.reference_person


def everyone(obs: Observations, d: dt.date) -> list[PersonObservation] | Literal["unknown"] | None:
    members = household_members(obs, d)
    if members is None or members == U:
        return members
    return [obs.person, *members]


def household_any(obs: Observations, d: dt.date, one: Callable[[PersonObservation], Tri]) -> Tri:
    """Whether anyone in the household on D holds it (``one`` says it for a person)."""
    people = everyone(obs, d)
    if people is None or people == U:
        # The members are not known: only the subject's own "yes" settles it.
        own = one(obs.person)
        if own is True:
            return True
        return None if people is None or own is None else U
    found = any_of(one(p) for p in people)
    if obs.household_partial and found is not True:
        return None  # a member who left since D may hold it: the household history decides
    return found
