"""What each kind of subject and each grant system means, declared once.

A scheme's ``subject:`` (person, household, child, vehicle) and its grant's ``system:`` (uitpas, ivago,
school-billing, lez-magda) used to be compared as strings wherever their meaning mattered. Here each kind says what
it brings to a grant (key parts taken from a fact, how a candidate is chosen), how a changed person is re-evaluated,
where the lifecycle finds its population and what it adds to a grant; each grant system says what a grant needs and
whether it can be revoked downstream. The loader, the evaluator and the lifecycle look these up, so a new kind or
system is a declaration here, not a new branch in generic code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GRANT_SYSTEMS",
    "SUBJECT_KINDS",
    "GrantSystem",
    "IdentityChoice",
    "IdentityPart",
    "SubjectKind",
    "grant_system",
    "grant_system_names",
    "identity_part_names",
    "identity_parts",
    "register_grant_system",
    "register_subject_kind",
    "subject_kind",
    "subject_kind_names",
]

Population = Literal["residents", "reference_persons", "enrolled_children"]
"""Who a scheme of the kind is run for: every resident, each household's reference person, or the children
enrolled for the school year D starts."""

GrantEnrichment = Literal["enrolment_institution"]
"""What the lifecycle adds to a grant from the city's data: the institution where the child is enrolled in the
run's school year (the billing system books the discount there)."""


@dataclass(frozen=True)
class IdentityChoice:
    """Which candidate becomes the subject when several qualify (LEZ: one vehicle per parking card).

    ``rule_nl`` are the phrases a scheme of the kind must state in its ``doc`` (the loader checks them), so the
    definition that claims to hold the rule does say it. :meth:`choose` is the same choice as code: the fact's
    derivation can call it (see the report of issue 16, part 4)."""

    own_first: bool
    """The subject's own candidates before those of the household."""
    order: Literal["lowest"]
    """Among equal candidates, the lowest value (plates compare as normalised text)."""
    rule_nl: tuple[str, ...]

    def choose(self, own: Sequence[str], household: Sequence[str]) -> str | None:
        """The chosen candidate, or None when there is none."""
        if self.own_first and own:
            return min(own)
        pool = list(household) if self.own_first else [*own, *household]
        return min(pool) if pool else None

    def stated_in(self, doc: str) -> list[str]:
        """The phrases of the rule that ``doc`` does not state (whitespace and case do not matter)."""
        text = _plain(doc)
        return [p for p in self.rule_nl if _plain(p) not in text]


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass(frozen=True)
class IdentityPart:
    """A grant-key part the subject supplies from a fact's value (vehicle: ``vehicle_plate`` from ``lez_vehicle``).

    ``name`` is at once the key part, the field of the evaluator's ``GrantTerms`` and the entry of the downstream
    terms that carry the value (the LEZ register reads ``vehicle_plate``)."""

    name: str
    fact: str


@dataclass(frozen=True)
class SubjectKind:
    """One kind of subject a scheme decides about."""

    name: str
    description: str
    population: Population = "residents"
    identity: tuple[IdentityPart, ...] = ()
    """Key parts this kind supplies beyond the generic ones (scheme, subject, periods, valid_until)."""
    choice: IdentityChoice | None = None
    reevaluate_via_reference_person: bool = False
    """A changed household member is re-evaluated as the household, i.e. through its reference person."""
    grant_enrichment: GrantEnrichment | None = None


@dataclass(frozen=True)
class GrantSystem:
    """A downstream system a grant adapter writes to (the outbox channel of the same name)."""

    name: str
    description: str
    magda_service: str | None = None
    """The MAGDA service it registers through; a grant to it must name that service (``grant.magda_service``)."""
    revokes: bool = False
    """It can end a registered grant: a holder who is definitively no longer eligible gets a ``revoke``."""
    label: str = ""
    """Short name in messages to scheme owners (``LEZ``); the system's name when empty."""
    awaits_card: bool = False
    """It writes on a card the person may not have yet (UiTPAS): a grant may wait for it (``grant.awaiting_card``)."""


SUBJECT_KINDS: dict[str, SubjectKind] = {}
GRANT_SYSTEMS: dict[str, GrantSystem] = {}


def register_subject_kind(kind: SubjectKind) -> SubjectKind:
    """Declare a subject kind; one name, one declaration."""
    if kind.name in SUBJECT_KINDS:
        raise ValueError(f"subject kind {kind.name!r} is declared twice")
    taken = {p.name for k in SUBJECT_KINDS.values() for p in k.identity}
    clash = [p.name for p in kind.identity if p.name in taken]
    if clash:
        raise ValueError(f"subject kind {kind.name!r}: key part(s) {', '.join(clash)} already belong to another kind")
    SUBJECT_KINDS[kind.name] = kind
    return kind


def register_grant_system(system: GrantSystem) -> GrantSystem:
    """Declare a grant system; one name, one declaration."""
    if system.name in GRANT_SYSTEMS:
        raise ValueError(f"grant system {system.name!r} is declared twice")
    GRANT_SYSTEMS[system.name] = system
    return system


def subject_kind(name: str) -> SubjectKind:
    """The declaration of a subject kind; an unknown name is named with the known ones."""
    try:
        return SUBJECT_KINDS[str(name)]
    except KeyError:
        raise LookupError(f"unknown subject kind {name!r}; declared: {', '.join(SUBJECT_KINDS)}") from None


def grant_system(name: str) -> GrantSystem:
    """The declaration of a grant system; an unknown name is named with the known ones."""
    try:
        return GRANT_SYSTEMS[name]
    except KeyError:
        raise LookupError(f"unknown grant system {name!r}; declared: {', '.join(GRANT_SYSTEMS)}") from None


def subject_kind_names() -> list[str]:
    """The subject kinds in declaration order: what ``schema.json`` lists under ``properties/subject/enum``."""
    return list(SUBJECT_KINDS)


def grant_system_names() -> list[str]:
    """The grant systems in declaration order: what ``schema.json`` lists under
    ``$defs/grant/properties/system/enum``."""
    return list(GRANT_SYSTEMS)


def identity_parts(kinds: Iterable[SubjectKind] | None = None) -> tuple[IdentityPart, ...]:
    """The key parts subjects supply, of ``kinds`` or of every declared kind."""
    return tuple(p for k in (SUBJECT_KINDS.values() if kinds is None else kinds) for p in k.identity)


def identity_part_names() -> frozenset[str]:
    """Names of every key part some subject kind supplies (only that kind's schemes may use it)."""
    return frozenset(p.name for p in identity_parts())


# ---------------------------------------------------------------- the declarations

register_subject_kind(SubjectKind(
    name="person",
    description="One resident decided on their own facts (UiTPAS).",
))
register_subject_kind(SubjectKind(
    name="household",
    description="A household, decided and granted once through its reference person (IVAGO).",
    population="reference_persons",
    reevaluate_via_reference_person=True,
))
register_subject_kind(SubjectKind(
    name="child",
    description="A child enrolled for the school year, granted at the institution it is enrolled in "
                "(onderwijskorting; the key's school_year names the year).",
    population="enrolled_children",
    grant_enrichment="enrolment_institution",
))
register_subject_kind(SubjectKind(
    name="vehicle",
    description="One vehicle per parking card: the facts are about the card holder, the grant is for the plate "
                "(LEZ).",
    identity=(IdentityPart(name="vehicle_plate", fact="lez_vehicle"),),
    choice=IdentityChoice(own_first=True, order="lowest",
                          rule_nl=("op naam van de persoon zelf", "het laagste nummerplaatnummer")),
))

register_grant_system(GrantSystem(name="uitpas", description="UiTPAS Gent: the card's social tariff status.",
                                  awaits_card=True))
register_grant_system(GrantSystem(name="ivago", description="IVAGO: the household's waste-collection voucher."))
register_grant_system(GrantSystem(name="school-billing",
                                  description="The school billing system: a discount booked at the institution."))
register_grant_system(GrantSystem(
    name="lez-magda",
    description="The LEZ register, written through MAGDA: registers an exemption and removes it again.",
    magda_service="Milieu.RegistreerLEZGegevens-02.00",
    revokes=True,
    label="LEZ",
))
