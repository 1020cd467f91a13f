"""``ghent_resident``: main residence in Ghent on D (Rijksregister – GeefPersoon)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from proactief.schemes.factdefs.base import (
    GEEF_HISTORIEK_PERSOON,
    GEEF_PERSOON,
    UNKNOWN,
    Ask,
    FactSpec,
    FactValue,
    Holder,
    Planner,
    PlanningContext,
    Request,
    register,
)
from proactief.schemes.factdefs.common import UNKNOWN_ANSWERS, Tri, U, dead_on, holder_person, member, to_fact
from proactief.schemes.observations import Answer, Observations, RegisterRecord

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey

GHENT_NIS = "44021"
"""NISCodeGemeente of Gent. The postcode is not used: 9070, 9090, 9820 look like Ghent and are not."""


def ghent_resident(register: RegisterRecord | Answer | None, d: dt.date) -> Tri:
    """Main residence (not a contact address) with NIS 44021 covering D, and not deceased on D."""
    if register is None:
        return None
    if register in UNKNOWN_ANSWERS:
        return U
    if not isinstance(register, RegisterRecord):
        return False  # NO_DATA: unknown to the Rijksregister
    if dead_on(register, d):
        return False
    mains = [a for a in register.addresses if a.kind == "main" and a.span.covers(d)]
    if not mains:
        # Today's residence began after D: where the person lived on D is in the history (asked when needed).
        return {"listed": False, "not_asked": None, "unknown": U}[register.earlier_residences]
    # Moving on D: the residence that starts latest is the current one.
    current = max(mains, key=lambda a: a.span.start or dt.date.min)
    return current.nis_code == GHENT_NIS


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    if key.holder is Holder.REFERENCE_PERSON and obs.household_partial:
        # Whoever the reference person was on D, the household shared the subject's main residence on D.
        return to_fact(ghent_resident(obs.person.register, d))
    person = holder_person(key, obs, d)
    if person is None:
        return None
    if person == U:
        if member(obs.person):
            # A household shares one main residence (Rijksregister): a member's own residence answers for the
            # reference person whose answer could not be read — a member living outside Ghent settles it.
            return to_fact(ghent_resident(obs.person.register, d))
        return UNKNOWN
    return to_fact(ghent_resident(person.register, d))  # type: ignore[union-attr]


class ResidencePlanner(Planner):
    """GeefPersoon first; its residence history when today's residence began after D. The household on D is
    never needed: whoever its head was, the household shared the subject's main residence."""

    reads_register = True

    def needs_household_on_d(self, ctx: PlanningContext, key: FactKey) -> bool:
        return False

    def plan(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        if ctx.registered and ctx.residence_open:
            yield (Ask.HIST_PERSOON, ctx.subject, None)  # today's residence began after D


SPEC = register(FactSpec(
    name="ghent_resident",
    kind="bool",
    label_nl="hoofdverblijfplaats in Gent op de peildatum",
    source="Rijksregister – GeefPersoon",
    source_kind="magda",
    services=(GEEF_PERSOON,),
    holders=(Holder.PERSON, Holder.REFERENCE_PERSON),
    reason_true="RESIDENT_GHENT",
    reason_false="NOT_RESIDENT_GHENT",
    reasons_nl={
        "RESIDENT_GHENT": "Woont in Gent op de peildatum.",
        "NOT_RESIDENT_GHENT": "Woont niet in Gent op de peildatum.",
    },
    history_services=(GEEF_HISTORIEK_PERSOON,),
    derive=derive,
    planner=ResidencePlanner(),
))
