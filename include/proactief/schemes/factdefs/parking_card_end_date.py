"""``parking_card_end_date``: the latest end date of the parking cards valid on D (grant rules only)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from proactief.schemes.factdefs.base import (
    ABSENT,
    GEEF_DOSSIER_HANDICAP,
    UNKNOWN,
    FactSpec,
    FactValue,
    Holder,
    register,
)
from proactief.schemes.factdefs.common import U
from proactief.schemes.factdefs.parking_card_valid import REASONS_NL, SOURCE, DossierPlanner, valid_parking_cards
from proactief.schemes.observations import Observations, PersonObservation

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey


def parking_card_end_date(person: PersonObservation, d: dt.date) -> FactValue | None:
    """The latest end date of the valid parking cards (``OPEN_ENDED`` without one); ABSENT when none is valid."""
    ends = valid_parking_cards(person, d)
    if ends is None:
        return None
    if ends == U:
        return UNKNOWN
    return max(ends) if ends else ABSENT


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    return parking_card_end_date(obs.person, d)


SPEC = register(FactSpec(
    name="parking_card_end_date",
    kind="date",
    label_nl="einddatum van de parkeerkaart",
    source=SOURCE,
    source_kind="magda",
    services=(GEEF_DOSSIER_HANDICAP,),
    holders=(Holder.PERSON,),
    reason_absent="NO_VALID_PARKING_CARD",
    reasons_nl={"NO_VALID_PARKING_CARD": REASONS_NL["NO_VALID_PARKING_CARD"]},
    derive=derive,
    planner=DossierPlanner(),
))
