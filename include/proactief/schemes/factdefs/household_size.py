"""``household_size``: the number of members of the subject's household on D (Rijksregister – GeefPersoon)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from proactief.schemes.factdefs.base import (
    GEEF_HISTORIEK_GEZIN,
    GEEF_PERSOON,
    UNKNOWN,
    FactSpec,
    FactValue,
    Planner,
    register,
)
from proactief.schemes.factdefs.common import U, household_members
from proactief.schemes.observations import Observations

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey


class HouseholdPlanner(Planner):
    """A fact about the household as a whole: GeefPersoon of the subject, then of its reference person, and the
    household history on a D before the register's date."""

    reads_register = True
    household_wide = True


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    if obs.household_partial:
        return None
    members = household_members(obs, d)
    return None if members is None else UNKNOWN if members == U else 1 + len(members)  # type: ignore[arg-type]


SPEC = register(FactSpec(
    name="household_size",
    kind="count",
    label_nl="aantal leden van het gezin",
    source="Rijksregister – GeefPersoon (gezinsleden)",
    source_kind="magda",
    services=(GEEF_PERSOON,),
    absent_allowed=False,
    history_services=(GEEF_HISTORIEK_GEZIN,),
    derive=derive,
    planner=HouseholdPlanner(),
))
