"""``parking_card_valid``: a valid parking card for persons with a disability on D (DG Personen met een handicap)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from proactief.schemes.factdefs.base import (
    GEEF_DOSSIER_HANDICAP,
    Ask,
    FactSpec,
    FactValue,
    Holder,
    Planner,
    PlanningContext,
    Request,
    register,
)
from proactief.schemes.factdefs.common import UNKNOWN_ANSWERS, Tri, U, to_fact
from proactief.schemes.observations import Answer, Observations, PersonObservation

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey

OPEN_ENDED = dt.date(9999, 12, 31)
"""End date given to a parking card without one."""
SOURCE = "DG Personen met een handicap – GeefDossierHandicap"
REASONS_NL = {
    "PARKING_CARD_VALID": "Heeft een geldige parkeerkaart voor personen met een handicap.",
    "NO_VALID_PARKING_CARD": "Heeft geen geldige parkeerkaart voor personen met een handicap.",
}


def valid_parking_cards(person: PersonObservation, d: dt.date) -> list[dt.date] | Literal["unknown"] | None:
    """End dates of the PARKINGCARDs valid on D (``OPEN_ENDED`` without one)."""
    cards = person.social_cards
    if cards is None:
        return None
    if cards in UNKNOWN_ANSWERS:
        return U
    if isinstance(cards, Answer):
        return []
    return [
        c.end or OPEN_ENDED
        for c in cards
        if c.category == "PARKINGCARD" and (c.end is None or c.end >= d) and (c.delivered is None or c.delivered <= d)
    ]


def parking_card_valid(person: PersonObservation, d: dt.date) -> Tri:
    """A PARKINGCARD whose end date is on or after D; a REDUCTIONCARD does not count."""
    ends = valid_parking_cards(person, d)
    return ends if ends is None or ends == U else bool(ends)  # type: ignore[return-value]


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    return to_fact(parking_card_valid(obs.person, d))


class DossierPlanner(Planner):
    """The subject's disability dossier (GeefDossierHandicap), once."""

    def plan(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        if not ctx.answered(ctx.subject, Ask.DOSSIER):
            yield (Ask.DOSSIER, ctx.subject, None)


SPEC = register(FactSpec(
    name="parking_card_valid",
    kind="bool",
    label_nl="geldige parkeerkaart voor personen met een handicap",
    source=SOURCE,
    source_kind="magda",
    services=(GEEF_DOSSIER_HANDICAP,),
    holders=(Holder.PERSON,),
    reason_true="PARKING_CARD_VALID",
    reason_false="NO_VALID_PARKING_CARD",
    reasons_nl=REASONS_NL,
    derive=derive,
    planner=DossierPlanner(),
))
