"""What the OCMW's own data sets (budgetbeheer, schuldbemiddeling) have in common: one declaration shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from proactief.schemes.factdefs.base import FactSpec, FactValue, Holder
from proactief.schemes.factdefs.common import city, household_any, to_fact
from proactief.schemes.observations import Observations

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey


def ocmw_fact(name: str, label_nl: str, source: str, reason_true: str, reason_false: str,
              reasons_nl: Mapping[str, str]) -> FactSpec:
    """A yes/no from the city's OCMW data set ``name`` on D, for the subject or anyone in its household."""

    def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
        if key.holder is Holder.HOUSEHOLD:
            return to_fact(household_any(obs, d, lambda p: city(p.city.get(name), d)))
        return to_fact(city(obs.person.city.get(name), d))

    return FactSpec(
        name=name,
        kind="bool",
        label_nl=label_nl,
        source=source,
        source_kind="city",
        services=(),
        holders=(Holder.PERSON, Holder.HOUSEHOLD),
        reason_true=reason_true,
        reason_false=reason_false,
        reasons_nl=reasons_nl,
        derive=derive,
    )
