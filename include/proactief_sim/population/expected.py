"""Expected entitlements, computed straight from the generator's latent facts by the rules of SCHEMES.md.

This is deliberately a second, plain implementation of SCHEMES.md: it never imports the rule evaluator in
``proactief.schemes`` and never looks at MAGDA shapes. Comparing its answers with what the full chain decides
(city files → MAGDA simulator → MAGDA client → facts → rule evaluator) tests that chain end to end.

Definitions used (SCHEMES.md, "Common definitions"):

- *Ghent resident on D*: not deceased on D (death date ≤ D) and the main residence covering D (the latest that
  starts, when two cover D) has NIS code 44021. Postcodes and contact addresses never count.
- *Household of P on D*: P plus the living persons whose membership of P's household (the one P belongs to on
  D) covers D. Reference person: the member in position ``01`` on D, else P.
- *Statute S holds on D*: one of its periods covers D.
- *Parking card valid on D*: a ``PARKINGCARD`` delivered on or before D whose end date is D or later (or none).
- *Adult*: 18 or older on D (born 29 February: 18 on 1 March).
- *LEZ vehicle*: a ``REG`` vehicle with Q as (natural-person) titular, the lowest plate when Q has several;
  else the lowest plate among the ``REG`` vehicles of the other members of Q's household on D.

Reference dates from ``as_of`` (:func:`reference_dates`): UiTPAS D = first of as_of's month; IVAGO D = 1 January
of as_of's year; onderwijskorting D = 1 September that starts the school year containing as_of; LEZ D = as_of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from proactief.citydata import school_year_of
from proactief_sim.population.model import Assessment, LatentPerson, LatentPopulation

__all__ = [
    "SCHEME_IDS",
    "COLUMNS",
    "GHENT_NIS",
    "ReferenceDates",
    "Expectation",
    "reference_dates",
    "school_year_of",
    "is_dead",
    "is_ghent_resident",
    "statute_holds",
    "household_on",
    "reference_person_on",
    "household_income_cent",
    "ivago_amount",
    "expect_uitpas",
    "expect_ivago",
    "expect_onderwijskorting",
    "expect_lez",
    "expectations",
    "expected_for_run",
]

UITPAS = "uitpas-kansentarief"
IVAGO = "ivago-tegemoetkoming"
ONDERWIJS = "onderwijskorting"
LEZ = "lez-vrijstelling"
SCHEME_IDS = (UITPAS, IVAGO, ONDERWIJS, LEZ)
GHENT_NIS = "44021"

ELIGIBLE = "eligible"
NOT_ELIGIBLE = "not_eligible"

# IVAGO voucher by household size on D (effective-dated; the last value holds for every larger household)
_IVAGO_TABLES: tuple[tuple[date, tuple[Decimal, ...]], ...] = (
    (date(2012, 1, 1), (Decimal("39.00"), Decimal("58.50"), Decimal("78.00"))),
    (date(2023, 1, 1), (Decimal("42.00"), Decimal("63.00"), Decimal("84.00"), Decimal("105.00"),
                        Decimal("126.00"))),
)
_IVAGO_CREDIT_SHARE = Decimal("0.5")
_INCOME_LOW_CENT = 23_000_00
_INCOME_MIDDLE_CENT = 33_000_00
# tier -> (care %, catering %)
_TIER_PERCENTAGES = {"leefloon": (100, 80), "inkomen-laag": (50, 25), "inkomen-midden": (50, 0)}
_LEZ_MAX_YEARS = 5

COLUMNS: dict[str, tuple[str, ...]] = {
    UITPAS: ("subject_insz", "decision", "tier", "amount", "valid_until", "reasons"),
    IVAGO: ("subject_insz", "reference_person_insz", "household_size", "decision", "tier", "amount",
            "collection_credit", "reasons"),
    ONDERWIJS: ("subject_insz", "school_year", "decision", "tier", "amount", "care_pct", "catering_pct",
                "household_income_cent", "reasons"),
    LEZ: ("subject_insz", "plate", "decision", "tier", "amount", "valid_until", "reasons"),
}
"""Columns of ``expected/<scheme-id>.csv``; see the package README for their meaning."""


@dataclass(frozen=True, slots=True)
class ReferenceDates:
    as_of: date
    uitpas: date
    ivago: date
    onderwijskorting: date
    lez: date

    @property
    def school_year(self) -> str:
        return school_year_of(self.onderwijskorting)

    def for_scheme(self, scheme_id: str) -> date:
        return {UITPAS: self.uitpas, IVAGO: self.ivago, ONDERWIJS: self.onderwijskorting, LEZ: self.lez}[scheme_id]

    def as_json(self) -> dict[str, str]:
        """The content of ``expected/reference-dates.json``."""
        out = {"as_of": self.as_of.isoformat()}
        out.update({s: self.for_scheme(s).isoformat() for s in SCHEME_IDS})
        out["school_year"] = self.school_year
        return out


def reference_dates(as_of: date) -> ReferenceDates:
    """Each scheme's reference date D for a population generated as of ``as_of``."""
    start = as_of.year if as_of.month >= 9 else as_of.year - 1
    return ReferenceDates(as_of, as_of.replace(day=1), date(as_of.year, 1, 1), date(start, 9, 1), as_of)


@dataclass(frozen=True, slots=True)
class Expectation:
    """One expected decision; which fields are filled depends on the scheme (see :data:`COLUMNS`)."""

    scheme: str
    subject_insz: str
    decision: str
    reasons: tuple[str, ...]
    tier: str = ""
    amount: Decimal | None = None
    valid_until: date | None = None
    reference_person_insz: str = ""
    household_size: int | None = None
    collection_credit: Decimal | None = None
    school_year: str = ""
    care_pct: int | None = None
    catering_pct: int | None = None
    household_income_cent: int | None = None
    plate: str = ""

    @property
    def eligible(self) -> bool:
        return self.decision == ELIGIBLE

    def row(self) -> list[str]:
        """The CSV row in the order of ``COLUMNS[scheme]``."""
        values = {
            "subject_insz": self.subject_insz,
            "decision": self.decision,
            "tier": self.tier,
            "amount": "" if self.amount is None else f"{self.amount:.2f}",
            "valid_until": self.valid_until.isoformat() if self.valid_until else "",
            "reasons": ";".join(self.reasons),
            "reference_person_insz": self.reference_person_insz,
            "household_size": "" if self.household_size is None else str(self.household_size),
            "collection_credit": "" if self.collection_credit is None else f"{self.collection_credit:.2f}",
            "school_year": self.school_year,
            "care_pct": "" if self.care_pct is None else str(self.care_pct),
            "catering_pct": "" if self.catering_pct is None else str(self.catering_pct),
            "household_income_cent": "" if self.household_income_cent is None else str(self.household_income_cent),
            "plate": self.plate,
        }
        return [values[c] for c in COLUMNS[self.scheme]]


# ------------------------------------------------------------------------------------------ common definitions


def is_dead(person: LatentPerson, day: date) -> bool:
    """Deceased on D: died on D or before."""
    return person.death is not None and person.death <= day


def is_ghent_resident(person: LatentPerson, day: date) -> bool:
    """Main residence with NIS 44021 covering D, and not deceased on D."""
    if is_dead(person, day):
        return False
    covering = [r for r in person.residences if r.span.covers(day)]
    if not covering:
        return False
    current = max(covering, key=lambda r: r.span.begin)
    return current.address.nis_code == GHENT_NIS


def statute_holds(person: LatentPerson, name: str, day: date) -> bool:
    return any(span.covers(day) for span in person.statutes.get(name, ()))


def _city_on(person: LatentPerson, kind: str, day: date) -> bool:
    return any(c.kind == kind and c.span.covers(day) for c in person.city)


def household_on(pop: LatentPopulation, insz: str, day: date) -> list[str]:
    """P first, then the other living members of P's household on D (membership order)."""
    own = [m for m in pop.memberships_of(insz) if m.span.covers(day)]
    if not own:
        return [insz]
    household_id = max(own, key=lambda m: m.span.begin).household_id
    members = [insz]
    for m in pop.members_of(household_id):
        if m.insz in members or not m.span.covers(day) or is_dead(pop.persons[m.insz], day):
            continue
        members.append(m.insz)
    return members


def reference_person_on(pop: LatentPopulation, insz: str, day: date) -> str:
    """The member in position 01 on D, else P."""
    own = [m for m in pop.memberships_of(insz) if m.span.covers(day)]
    if not own:
        return insz
    household_id = max(own, key=lambda m: m.span.begin).household_id
    living = set(household_on(pop, insz, day))
    for m in pop.members_of(household_id):
        if m.position == "01" and m.span.covers(day) and m.insz in living:
            return m.insz
    return insz


def _is_adult(person: LatentPerson, day: date) -> bool:
    born = person.birth
    try:
        eighteenth = born.replace(year=born.year + 18)
    except ValueError:  # 29 February
        eighteenth = date(born.year + 18, 3, 1)
    return eighteenth <= day


def _assessment_for(person: LatentPerson, year: int, day: date) -> Assessment | None:
    """The assessment of ``year`` as FOD Financiën has it on D (a timeline's assessment arrives on a day)."""
    for a in person.assessments:
        if a.income_year == year and (a.available_from is None or a.available_from <= day):
            return a
    return None


def household_income_cent(pop: LatentPopulation, members: Iterable[str], day: date) -> int | None:
    """Sum of A7555 + B7555 over the adults' assessments (D.year−1, else D.year−2); None when no adult has one.

    A joint assessment shared by two adults of the household is counted once.
    """
    seen: list[Assessment] = []
    for insz in members:
        person = pop.persons[insz]
        if not _is_adult(person, day):
            continue
        found = _assessment_for(person, day.year - 1, day) or _assessment_for(person, day.year - 2, day)
        if found is not None and not any(found is s for s in seen):
            seen.append(found)
    if not seen:
        return None
    return sum(a.a7555 + (a.b7555 or 0) for a in seen)


def ivago_amount(size: int, day: date) -> Decimal:
    """The voucher for a household of ``size`` on D (the table in force on D)."""
    table = None
    for start, values in _IVAGO_TABLES:
        if start <= day:
            table = values
    if table is None:
        raise ValueError(f"no IVAGO amounts in force on {day.isoformat()}")
    return table[min(size, len(table)) - 1]


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 2, 28)


# ---------------------------------------------------------------------------------------------- the schemes


def _residence_reasons(person: LatentPerson, day: date) -> tuple[bool, list[str]]:
    if is_dead(person, day):
        return False, ["DECEASED", "NOT_RESIDENT_GHENT"]
    if is_ghent_resident(person, day):
        return True, ["RESIDENT_GHENT"]
    return False, ["NOT_RESIDENT_GHENT"]


def expect_uitpas(pop: LatentPopulation, insz: str, day: date) -> Expectation:
    """Ghent resident on D and (a statute on D, or budgetbeheer / debt mediation on D)."""
    person = pop.persons[insz]
    resident, reasons = _residence_reasons(person, day)
    grounds = [f"STATUTE_{s}" for s in ("BIM_BVT", "BIM_BVT_IN_FAMILY", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP")
               if statute_holds(person, s, day)]
    if _city_on(person, "budgetbeheer", day):
        grounds.append("CITY_BUDGETBEHEER")
    if _city_on(person, "schuldbemiddeling", day):
        grounds.append("CITY_SCHULDBEMIDDELING")
    if resident and grounds:
        return Expectation(UITPAS, insz, ELIGIBLE, tuple(reasons + grounds), valid_until=date(day.year, 12, 31))
    return Expectation(UITPAS, insz, NOT_ELIGIBLE, tuple(reasons + (grounds or ["NO_STATUTE_OR_CITY_DATA"])))


def expect_ivago(pop: LatentPopulation, insz: str, day: date) -> Expectation:
    """Household of the subject on D, granted to its reference person; amount by household size on D."""
    ref = reference_person_on(pop, insz, day)
    members = household_on(pop, ref, day) if ref != insz else household_on(pop, insz, day)
    size = len(members)
    resident, reasons = _residence_reasons(pop.persons[ref], day)
    grounds = []
    if any(statute_holds(pop.persons[m], "BIM_BVT", day) for m in members):
        grounds.append("STATUTE_BIM_BVT_IN_HOUSEHOLD")
    if statute_holds(pop.persons[ref], "BIM_BVT_IN_FAMILY", day):
        grounds.append("STATUTE_BIM_BVT_IN_FAMILY")
    if any(_city_on(pop.persons[m], "budgetbeheer", day) for m in members):
        grounds.append("CITY_BUDGETBEHEER_IN_HOUSEHOLD")
    common = {"reference_person_insz": ref, "household_size": size}
    if resident and grounds:
        amount = ivago_amount(size, day)
        return Expectation(IVAGO, insz, ELIGIBLE, tuple(reasons + grounds), amount=amount,
                           collection_credit=(amount * _IVAGO_CREDIT_SHARE).quantize(Decimal("0.01")), **common)
    return Expectation(IVAGO, insz, NOT_ELIGIBLE, tuple(reasons + (grounds or ["NO_STATUTE_OR_CITY_DATA"])),
                       **common)


def expect_onderwijskorting(pop: LatentPopulation, insz: str, day: date) -> Expectation:
    """An enrolled child; first tier that applies: leefloon in the household, income < 23,000, < 33,000."""
    members = household_on(pop, insz, day)
    income = household_income_cent(pop, members, day)
    common = {"school_year": school_year_of(day), "household_income_cent": income}
    tier = ""
    reasons = ["ENROLLED_CITY_SCHOOL_OR_CARE"]
    if any(statute_holds(pop.persons[m], "LIVING_WAGES_PCSA_HELP", day) for m in members):
        tier, reasons = "leefloon", [*reasons, "TIER_LEEFLOON"]
    elif income is None:
        reasons += ["NO_TAX_ASSESSMENT", "NO_TIER_APPLIES"]
    elif income < _INCOME_LOW_CENT:
        tier, reasons = "inkomen-laag", [*reasons, "INCOME_BELOW_LOW_LIMIT"]
    elif income < _INCOME_MIDDLE_CENT:
        tier, reasons = "inkomen-midden", [*reasons, "INCOME_BELOW_MIDDLE_LIMIT"]
    else:
        reasons += ["INCOME_NOT_BELOW_MIDDLE_LIMIT", "NO_TIER_APPLIES"]
    if not tier:
        return Expectation(ONDERWIJS, insz, NOT_ELIGIBLE, tuple(reasons), **common)
    care, catering = _TIER_PERCENTAGES[tier]
    return Expectation(ONDERWIJS, insz, ELIGIBLE, tuple(reasons), tier=tier, care_pct=care, catering_pct=catering,
                       **common)


def _reg_plates(person: LatentPerson, day: date) -> list[str]:
    """Vehicles registered on D whose titular is this (natural) person, lowest plate first."""
    return sorted(v.plate for v in person.vehicles if v.registered_on(day) and v.titular == person.insz)


def expect_lez(pop: LatentPopulation, insz: str, day: date) -> Expectation:
    """Resident with a valid parking card and VT on D; vehicle: own REG first, else household's lowest plate."""
    person = pop.persons[insz]
    resident, reasons = _residence_reasons(person, day)
    card_ends = [c.end for c in person.cards
                 if c.category == "PARKINGCARD" and c.delivery <= day and (c.end is None or c.end >= day)]
    ok = resident
    if card_ends:
        reasons.append("PARKING_CARD_VALID")
    else:
        ok = False
        reasons.append("NO_VALID_PARKING_CARD")
    vt = [s for s in ("BIM_BVT", "BIM_BVT_IN_FAMILY") if statute_holds(person, s, day)]
    if vt:
        reasons.extend(f"STATUTE_{s}" for s in vt)
    else:
        ok = False
        reasons.append("NO_VT")
    plate = ""
    own = _reg_plates(person, day)
    if own:
        plate = own[0]
        reasons.append("OWN_VEHICLE")
    else:
        plates = [p for m in household_on(pop, insz, day)[1:] for p in _reg_plates(pop.persons[m], day)]
        if plates:
            plate = min(plates)
            reasons.append("HOUSEHOLD_VEHICLE")
        else:
            ok = False
            reasons.append("NO_ELIGIBLE_VEHICLE")
    if not ok:
        return Expectation(LEZ, insz, NOT_ELIGIBLE, tuple(reasons))
    limit = _plus_years(day, _LEZ_MAX_YEARS)
    card_end = limit if any(e is None for e in card_ends) else max(e for e in card_ends if e is not None)
    return Expectation(LEZ, insz, ELIGIBLE, tuple(reasons), plate=plate, valid_until=min(card_end, limit))


def _has_parking_card(person: LatentPerson, day: date) -> bool:
    return any(c.category == "PARKINGCARD" and c.delivery <= day for c in person.cards)


def expected_for_run(
    pop: LatentPopulation,
    scheme_id: str,
    day: date,
    residents: Iterable[tuple[str, bool]],
    enrolled: Iterable[str],
) -> list[Expectation]:
    """One scheme's expected decisions for a run with reference date ``day`` whose subjects come from the given
    extract rows (INSZ, reference-person flag) and enrolled children: one period of a timeline."""
    dates = ReferenceDates(day, day, day, day, day)
    return expectations(pop, dates, residents, enrolled, schemes=(scheme_id,))[scheme_id]


def expectations(
    pop: LatentPopulation,
    dates: ReferenceDates,
    residents: Iterable[tuple[str, bool]],
    enrolled: Iterable[str],
    schemes: Iterable[str] = SCHEME_IDS,
) -> dict[str, list[Expectation]]:
    """Every scheme's expected decisions for the subjects its DAG selects from the city files.

    ``residents``: (INSZ, reference-person flag) of each ``residents.csv`` row; ``enrolled``: the children enrolled
    for the school year of the onderwijskorting D (duplicates are fine). UiTPAS: every resident row; IVAGO: every
    row flagged reference person; onderwijskorting: every enrolled child; LEZ: every resident row whose person
    has a parking card delivered by D (valid or not).
    """
    wanted = set(schemes)
    out: dict[str, list[Expectation]] = {s: [] for s in SCHEME_IDS if s in wanted}
    for insz, is_reference in residents:
        if UITPAS in wanted:
            out[UITPAS].append(expect_uitpas(pop, insz, dates.uitpas))
        if is_reference and IVAGO in wanted:
            out[IVAGO].append(expect_ivago(pop, insz, dates.ivago))
        if LEZ in wanted and _has_parking_card(pop.persons[insz], dates.lez):
            out[LEZ].append(expect_lez(pop, insz, dates.lez))
    if ONDERWIJS in wanted:
        seen: set[str] = set()
        for insz in enrolled:
            if insz not in seen:
                seen.add(insz)
                out[ONDERWIJS].append(expect_onderwijskorting(pop, insz, dates.onderwijskorting))
    return out
