"""The generator's latent facts: the truth about each synthetic person, before it is rendered to any file.

Everything the output files say is derived from these objects, and :mod:`proactief_sim.population.expected`
evaluates SCHEMES.md directly on them. Keeping the truth in one plain model (no MAGDA shapes, no XML) is what
makes the expected entitlements an independent check of the whole chain: files → MAGDA simulator → client →
rule evaluator must arrive at the same decisions.

All periods are inclusive at both ends; ``end`` None means open-ended.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from proactief_sim.values import Address, Span

__all__ = [
    "Span",
    "Address",
    "Residence",
    "Membership",
    "Card",
    "Assessment",
    "Vehicle",
    "CityPeriod",
    "Enrolment",
    "LatentPerson",
    "LatentPopulation",
    "STATUTES",
]

STATUTES = ("BIM_BVT", "BIM_BVT_IN_FAMILY", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP")


@dataclass(frozen=True, slots=True)
class Residence:
    """One main-residence (hoofdverblijfplaats) period."""

    span: Span
    address: Address


@dataclass(frozen=True, slots=True)
class Membership:
    """Person ``insz`` belonged to household ``household_id`` in ``position`` during ``span``.

    Members of one household share its main residence during their membership. A position change (the
    partner becoming reference person after a death) is a new membership of the same household.
    """

    household_id: str
    insz: str
    position: str
    span: Span


@dataclass(frozen=True, slots=True)
class Card:
    """A DG Personen met een handicap card (``PARKINGCARD`` or ``REDUCTIONCARD``)."""

    category: str
    delivery: date
    end: date | None
    number: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """One personal income tax assessment; a joint one (married/legal cohabitants) has a partner and B7555.

    The same object is attached to both partners, exactly as FOD Financiën answers the same aanslagbiljet for
    either of them. Amounts are in cent.
    """

    income_year: int
    article: str
    titular: str
    a7555: int
    partner: str | None = None
    b7555: int | None = None
    available_from: date | None = None
    """The day FOD Financiën has this assessment (timeline populations); None = long since there."""


@dataclass(frozen=True, slots=True)
class Vehicle:
    plate: str
    status: str
    """DIV status: ``REG`` registered, ``CAN`` cancelled, ``SUS`` suspended."""
    titular: str
    vin: str
    make: str
    model: str
    category: str
    fuel: str
    euro_norm: str
    first_registration: date
    cancelled: date | None = None
    """The day the registration was cancelled (sold, scrapped): ``CAN`` from then on (timeline populations)."""

    def registered_on(self, day: date) -> bool:
        """``REG`` on ``day``: registered by then and not yet cancelled."""
        return self.status == "REG" and self.first_registration <= day and (
            self.cancelled is None or day < self.cancelled)


@dataclass(frozen=True, slots=True)
class CityPeriod:
    """City (OCMW Gent) data: ``budgetbeheer`` or ``schuldbemiddeling`` during a period."""

    kind: str
    span: Span


@dataclass(frozen=True, slots=True)
class Enrolment:
    """An enrolment in a city school or city childcare for one school year (``2026-2027``)."""

    institution_id: str
    institution_name: str
    kind: str
    """``school`` or ``childcare``."""
    school_year: str


@dataclass(slots=True)
class LatentPerson:
    insz: str
    birth: date
    gender: str
    last_name: str
    first_names: tuple[str, ...]
    bis: bool = False
    """Only in the KSZ bis register: no main residence, no household, a contact address."""
    death: date | None = None
    residences: list[Residence] = field(default_factory=list)
    contact: Address | None = None
    statutes: dict[str, list[Span]] = field(default_factory=dict)
    cards: list[Card] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    leefloon: list[tuple[str, str]] = field(default_factory=list)
    """Leefloon payments: (``YYYY-MM``, amount in EUR as text)."""
    vehicles: list[Vehicle] = field(default_factory=list)
    city: list[CityPeriod] = field(default_factory=list)
    enrolments: list[Enrolment] = field(default_factory=list)
    email: str | None = None
    """The e-mail address the city knows, if any."""

    def add_statute(self, name: str, span: Span) -> None:
        self.statutes.setdefault(name, []).append(span)


@dataclass(slots=True)
class LatentPopulation:
    """A set of persons and their household memberships (one generator group, or a hand-built test world)."""

    persons: dict[str, LatentPerson] = field(default_factory=dict)
    memberships: list[Membership] = field(default_factory=list)
    _by_person: dict[str, list[Membership]] = field(default_factory=lambda: defaultdict(list))
    _by_household: dict[str, list[Membership]] = field(default_factory=lambda: defaultdict(list))

    def add_person(self, person: LatentPerson) -> LatentPerson:
        if person.insz in self.persons:
            raise ValueError("a person was added twice to the same population")
        self.persons[person.insz] = person
        return person

    def add_membership(self, membership: Membership) -> None:
        self.memberships.append(membership)
        self._by_person[membership.insz].append(membership)
        self._by_household[membership.household_id].append(membership)

    def memberships_of(self, insz: str) -> list[Membership]:
        return self._by_person.get(insz, [])

    def members_of(self, household_id: str) -> list[Membership]:
        return self._by_household.get(household_id, [])
