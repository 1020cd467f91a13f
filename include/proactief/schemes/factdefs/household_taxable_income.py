"""``household_taxable_income``: the adults' joint taxable income (FOD Financiën – GeefAanslagbiljet)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from proactief.schemes.factdefs.base import (
    ABSENT,
    GEEF_AANSLAGBILJET,
    GEEF_HISTORIEK_GEZIN,
    GEEF_PERSOON,
    UNKNOWN,
    Ask,
    FactSpec,
    FactValue,
    PlanningContext,
    Request,
    register,
)
from proactief.schemes.factdefs.common import UNKNOWN_ANSWERS, Tri, U, everyone
from proactief.schemes.factdefs.household_size import HouseholdPlanner
from proactief.schemes.observations import Answer, Observations, PersonObservation, RegisterRecord, TaxAssessment

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey

ADULT_AGE = 18
INCOME_ITEM_CODES = ("A7555", "B7555")


def adult_on(born: dt.date, d: dt.date) -> bool:
    """Eighteen years old on D (born 29 February: from 1 March)."""
    try:
        eighteenth = born.replace(year=born.year + ADULT_AGE)
    except ValueError:  # born 29 February
        eighteenth = dt.date(born.year + ADULT_AGE, 3, 1)
    return eighteenth <= d


def _adult(register: RegisterRecord | Answer | None, d: dt.date) -> Tri:
    if not isinstance(register, RegisterRecord):
        return U if register in UNKNOWN_ANSWERS else None if register is None else False
    if register.born is None:
        return True  # no birth date: counted as an adult, so income is never left out
    return adult_on(register.born, d)


def _assessment(person: PersonObservation, d: dt.date) -> TaxAssessment | Literal["none", "unknown"] | None:
    """Income year D.year−1; on 45008 (year does not exist yet) D.year−2. NO_DATA = no assessment."""
    for year in (d.year - 1, d.year - 2):
        answer = person.tax.get(year)
        if answer is None:
            return None
        if answer in UNKNOWN_ANSWERS:
            return U
        if answer is Answer.NO_DATA:
            return "none"
        if isinstance(answer, TaxAssessment):
            return answer
        # YEAR_MISSING: try the year before
    return "none"


def household_taxable_income(obs: Observations, d: dt.date) -> FactValue | None:
    """Sum of A7555/B7555 (MAGDA item units) over the household's adults; ABSENT when no adult has an assessment.

    An adult without an assessment adds nothing (a dependent adult child has none). One joint assessment
    answered for both partners is counted once: items are summed once per (article number, item code).
    """
    people = everyone(obs, d)
    if people is None or obs.household_partial:
        return None
    if people == U:
        return UNKNOWN
    assessments: list[TaxAssessment] = []
    pending: list[Literal["unknown"] | None] = []
    for person in people:
        adult = _adult(person.register, d)
        if adult is False:
            continue
        found = _assessment(person, d)
        if found == "none":
            continue
        if adult is None or found is None:
            pending.append(None)
        elif adult == U or found == U:
            pending.append(U)
        else:
            assessments.append(found)  # type: ignore[arg-type]
    if None in pending:
        return None
    if pending:
        return UNKNOWN
    if not assessments:
        return ABSENT
    seen: set[tuple[str, str]] = set()
    total = 0
    for n, assessment in enumerate(assessments):
        for code in INCOME_ITEM_CODES:
            if code not in assessment.items:
                continue
            marker = (assessment.article or f"#{n}", code)
            if marker in seen:
                continue
            seen.add(marker)
            total += assessment.items[code]
    return total


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    return household_taxable_income(obs, d)


class IncomePlanner(HouseholdPlanner):
    """Once the household on D is known: the assessment of every adult in it (minors have none)."""

    def plan(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        members, record = ctx.members, ctx.record
        if not ctx.registered or members is None or not isinstance(record, RegisterRecord):
            return
        for who, born in ((ctx.subject, record.born), *((m.insz, m.register.born) for m in members)):
            if born is not None and not adult_on(born, ctx.d):
                continue
            year = ctx.tax_year(who)
            if year is not None:
                yield (Ask.TAX, who, year)


SPEC = register(FactSpec(
    name="household_taxable_income",
    kind="tax-amount",
    label_nl="gezamenlijk belastbaar inkomen van de volwassenen in het gezin",
    source="FOD Financiën – GeefAanslagbiljetPersonenbelasting",
    source_kind="magda",
    services=(GEEF_PERSOON, GEEF_AANSLAGBILJET),
    reason_absent="NO_TAX_ASSESSMENT",
    unit_parameter="aanslagbiljet_item_eenheid",
    reasons_nl={"NO_TAX_ASSESSMENT": "We vonden geen aanslagbiljet van de belastingen."},
    history_services=(GEEF_HISTORIEK_GEZIN,),
    derive=derive,
    planner=IncomePlanner(),
))
