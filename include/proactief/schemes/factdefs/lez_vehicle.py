"""``lez_vehicle``: the registered vehicle of the person, else of its household (DIV – MAGDA Mobiliteit)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from proactief.schemes.factdefs.base import (
    ABSENT,
    GEEF_HISTORIEK_GEZIN,
    GEEF_PERSOON,
    MOBILITEIT_INSCHRIJVINGEN,
    UNKNOWN,
    Ask,
    FactSpec,
    FactValue,
    Planner,
    PlanningContext,
    Request,
    register,
)
from proactief.schemes.factdefs.common import UNKNOWN_ANSWERS, U, household_members
from proactief.schemes.observations import Answer, Observations, PersonObservation
from proactief.schemes.subjects import IdentityChoice, subject_kind

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey


def _plate(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _eligible_plates(person: PersonObservation) -> list[str] | Literal["unknown"] | None:
    vehicles = person.vehicles
    if vehicles is None:
        return None
    if vehicles in UNKNOWN_ANSWERS:
        return U
    if isinstance(vehicles, Answer):
        return []
    return sorted(_plate(v.plate) for v in vehicles if v.status == "REG" and v.titular == "natural")


def lez_vehicle(obs: Observations, d: dt.date) -> FactValue | None:
    """The vehicle the LEZ subject kind's declared choice picks: the subject's own REG vehicle (lowest plate),
    else the household's REG vehicle with the lowest plate (``schemes.subjects``, stated in the scheme's doc)."""
    own = _eligible_plates(obs.person)
    if own is None:
        return None
    if own == U:
        return UNKNOWN
    if own:
        return _choice().choose(own, []) or ABSENT
    members = household_members(obs, d)
    if members is None or obs.household_partial:
        return None
    if members == U:
        return UNKNOWN
    plates: list[str] = []
    pending: list[Literal["unknown"] | None] = []
    for m in members:
        found = _eligible_plates(m)
        if found is None or found == U:
            pending.append(found)  # type: ignore[arg-type]
        else:
            plates.extend(found)
    if None in pending:
        return None
    if pending:
        return UNKNOWN
    return _choice().choose([], plates) or ABSENT


def _choice() -> IdentityChoice:
    choice = subject_kind("vehicle").choice
    assert choice is not None, "the vehicle subject kind declares how its vehicle is chosen"
    return choice


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    return lez_vehicle(obs, d)


class VehiclePlanner(Planner):
    """The subject's own vehicles first; only without one, the household's (GeefPersoon, then each member)."""

    def needs_household_on_d(self, ctx: PlanningContext, key: FactKey) -> bool:
        return self.about_household(key) or ctx.answered(ctx.subject, Ask.VEHICLES)

    def plan(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        s = ctx.subject
        if not ctx.answered(s, Ask.VEHICLES):
            yield (Ask.VEHICLES, s, None)
        elif not ctx.registered:
            yield (Ask.PERSOON, s, None)
        elif ctx.head_pending:
            yield (Ask.PERSOON, ctx.reference, None)
        elif ctx.members:
            for m in ctx.members:
                if not ctx.answered(m.insz, Ask.VEHICLES):
                    yield (Ask.VEHICLES, m.insz, None)


SPEC = register(FactSpec(
    name="lez_vehicle",
    kind="present",
    label_nl="ingeschreven voertuig van de persoon of het gezin",
    source="DIV – voertuiginschrijvingen (MAGDA Mobiliteit)",
    source_kind="magda",
    services=(GEEF_PERSOON, MOBILITEIT_INSCHRIJVINGEN),
    reason_true="VEHICLE_FOUND",
    reason_false="NO_ELIGIBLE_VEHICLE",
    reason_absent="NO_ELIGIBLE_VEHICLE",
    reasons_nl={
        "VEHICLE_FOUND": "Er staat een voertuig op naam van de persoon of het gezin.",
        "NO_ELIGIBLE_VEHICLE": "Er staat geen geschikt voertuig op naam van de persoon of het gezin.",
    },
    history_services=(GEEF_HISTORIEK_GEZIN,),
    derive=derive,
    planner=VehiclePlanner(),
))
