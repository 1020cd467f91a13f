"""``enrolled_city_school_or_care``: enrolled in a city school or city childcare on D (city data)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from proactief.schemes.factdefs.base import FactSpec, FactValue, register
from proactief.schemes.factdefs.common import city, to_fact
from proactief.schemes.observations import Observations

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    return to_fact(city(obs.enrolled_city_school_or_care, d))


SPEC = register(FactSpec(
    name="enrolled_city_school_or_care",
    kind="bool",
    label_nl="ingeschreven in een stedelijke school of stedelijke kinderopvang",
    source="Stad Gent – inschrijvingen stedelijk onderwijs en kinderopvang",
    source_kind="city",
    services=(),
    reason_true="ENROLLED_CITY_SCHOOL_OR_CARE",
    reason_false="NOT_ENROLLED_CITY_SCHOOL_OR_CARE",
    reasons_nl={
        "ENROLLED_CITY_SCHOOL_OR_CARE": "Is ingeschreven in een stedelijke school of stedelijke kinderopvang.",
        "NOT_ENROLLED_CITY_SCHOOL_OR_CARE": "Is niet ingeschreven in een stedelijke school of stedelijke kinderopvang.",
    },
    derive=derive,
))
