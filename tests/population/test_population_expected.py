"""expected.py on hand-built tiny populations: every edge of SCHEMES.md, one test at a time."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from proactief.insz import is_valid_insz
from proactief_sim.population.expected import (
    expect_ivago,
    expect_lez,
    expect_onderwijskorting,
    expect_uitpas,
    expectations,
    household_income_cent,
    household_on,
    is_ghent_resident,
    ivago_amount,
    reference_dates,
    reference_person_on,
    school_year_of,
)
from proactief_sim.population.model import (
    Address,
    Assessment,
    Card,
    CityPeriod,
    LatentPerson,
    LatentPopulation,
    Membership,
    Residence,
    Span,
    Vehicle,
)

D = date(2026, 1, 1)
ONE = timedelta(days=1)
_serial = iter(range(1, 998))


def addr(postcode: str = "9000", nis: str = "44021") -> Address:
    return Address("Veldstraat", "1", postcode, "Gent" if nis == "44021" else "Elders", nis)


GENT, DESTELBERGEN, MERELBEKE = addr(), addr("9070", "44013"), addr("9820", "44088")


def insz(born: date) -> str:
    base = (born.year % 100) * 10_000_000 + (born.month + 60) * 100_000 + born.day * 1000 + next(_serial)
    check = 97 - ((2_000_000_000 + base) if born.year >= 2000 else base) % 97
    value = f"{base:09d}{check:02d}"
    assert is_valid_insz(value)
    return value


def person(pop: LatentPopulation, born: str = "1980-05-01", *, home: Address | None = GENT,
           since: str = "2010-01-01", until: str | None = None, died: str | None = None) -> LatentPerson:
    b = date.fromisoformat(born)
    p = LatentPerson(insz(b), b, "F", "Test", ("Een",))
    if home is not None:
        p.residences.append(Residence(Span(date.fromisoformat(since), _d(until)), home))
    p.death = _d(died)
    return pop.add_person(p)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def member(pop: LatentPopulation, p: LatentPerson, household: str, position: str, begin: str = "2010-01-01",
           end: str | None = None) -> None:
    pop.add_membership(Membership(household, p.insz, position, Span(date.fromisoformat(begin), _d(end))))


def statute(p: LatentPerson, name: str, begin: str = "2015-01-01", end: str | None = None) -> None:
    p.add_statute(name, Span(date.fromisoformat(begin), _d(end)))


def vehicle(p: LatentPerson, plate: str, status: str = "REG") -> None:
    p.vehicles.append(Vehicle(plate, status, p.insz, "VIN", "VW", "Golf", "M1", "10", "6", date(2020, 1, 1)))


def card(p: LatentPerson, category: str = "PARKINGCARD", delivery: str = "2020-01-01",
         end: str | None = "2030-01-01") -> None:
    p.cards.append(Card(category, date.fromisoformat(delivery), _d(end), "1234567890"))


# ----------------------------------------------------------------------------------------- reference dates


def test_reference_dates_from_as_of() -> None:
    r = reference_dates(date(2026, 11, 17))
    assert (r.uitpas, r.ivago, r.onderwijskorting, r.lez) == (
        date(2026, 11, 1), date(2026, 1, 1), date(2026, 9, 1), date(2026, 11, 17))
    assert reference_dates(date(2026, 8, 31)).onderwijskorting == date(2025, 9, 1)
    assert reference_dates(date(2026, 9, 1)).school_year == "2026-2027"
    assert school_year_of(date(2027, 8, 31)) == "2026-2027"


# ------------------------------------------------------------------------------------------ Ghent resident


def test_resident_needs_nis_44021_not_a_9xxx_postcode() -> None:
    pop = LatentPopulation()
    assert is_ghent_resident(person(pop), D)
    assert not is_ghent_resident(person(pop, home=DESTELBERGEN), D)
    assert not is_ghent_resident(person(pop, home=MERELBEKE), D)
    assert not is_ghent_resident(person(pop, home=addr("9000", "44013")), D)  # the NIS code decides


def test_contact_address_is_not_a_residence() -> None:
    pop = LatentPopulation()
    p = person(pop, home=None)
    p.contact = GENT
    assert not is_ghent_resident(p, D)
    assert expect_uitpas(pop, p.insz, D).decision == "not_eligible"


def test_deceased_on_d_is_not_a_resident() -> None:
    pop = LatentPopulation()
    assert not is_ghent_resident(person(pop, died=D.isoformat()), D)
    assert not is_ghent_resident(person(pop, died="2025-12-31"), D)
    assert is_ghent_resident(person(pop, died="2026-01-02"), D)


def test_residence_must_cover_d_and_the_latest_one_counts() -> None:
    pop = LatentPopulation()
    assert not is_ghent_resident(person(pop, until="2025-12-31"), D)
    assert is_ghent_resident(person(pop, until="2026-01-01"), D)
    assert not is_ghent_resident(person(pop, since="2026-01-02"), D)
    moving = person(pop, until="2026-01-01")  # moving day: the residence that starts on D wins
    moving.residences.append(Residence(Span(D), DESTELBERGEN))
    assert not is_ghent_resident(moving, D)


# ------------------------------------------------------------------------------------------------- UiTPAS


@pytest.mark.parametrize("name", ["BIM_BVT", "BIM_BVT_IN_FAMILY", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP"])
def test_uitpas_any_statute_on_d(name: str) -> None:
    pop = LatentPopulation()
    p = person(pop)
    statute(p, name, end=D.isoformat())  # a period ending on D still covers D
    e = expect_uitpas(pop, p.insz, D)
    assert e.eligible and e.valid_until == date(2026, 12, 31)
    q = person(pop)
    statute(q, name, end="2025-12-31")
    statute(q, name, begin="2026-01-02")  # a gap over D
    assert not expect_uitpas(pop, q.insz, D).eligible


def test_uitpas_city_data_on_d_and_only_the_persons_own() -> None:
    pop = LatentPopulation()
    p = person(pop)
    p.city.append(CityPeriod("schuldbemiddeling", Span(date(2025, 3, 1))))
    assert expect_uitpas(pop, p.insz, D).eligible
    q = person(pop)
    q.city.append(CityPeriod("budgetbeheer", Span(date(2024, 1, 1), date(2025, 12, 31))))
    assert not expect_uitpas(pop, q.insz, D).eligible
    # a partner's VT does not make the subject eligible for UiTPAS
    a, b = person(pop), person(pop)
    member(pop, a, "H1", "01")
    member(pop, b, "H1", "02")
    statute(b, "BIM_BVT")
    assert not expect_uitpas(pop, a.insz, D).eligible and expect_uitpas(pop, b.insz, D).eligible


def test_uitpas_non_resident_with_statute_is_not_eligible() -> None:
    pop = LatentPopulation()
    p = person(pop, home=DESTELBERGEN)
    statute(p, "BIM_BVT")
    e = expect_uitpas(pop, p.insz, D)
    assert not e.eligible and "NOT_RESIDENT_GHENT" in e.reasons


# -------------------------------------------------------------------------------------------------- IVAGO


def _household(pop: LatentPopulation, n: int, *, household: str = "H1") -> list[LatentPerson]:
    people = [person(pop, "1980-01-01" if i < 2 else "2012-01-01") for i in range(n)]
    for i, p in enumerate(people):
        member(pop, p, household, "01" if i == 0 else "02" if i == 1 else "03")
    return people


@pytest.mark.parametrize(("size", "amount"), [(1, "42.00"), (2, "63.00"), (3, "84.00"), (4, "105.00"),
                                              (5, "126.00"), (7, "126.00")])
def test_ivago_amount_by_household_size_on_d(size: int, amount: str) -> None:
    pop = LatentPopulation()
    people = _household(pop, size)
    statute(people[-1], "BIM_BVT")  # any member's VT counts
    e = expect_ivago(pop, people[0].insz, D)
    assert e.eligible and e.household_size == size and e.amount == Decimal(amount)
    assert e.collection_credit == Decimal(amount) / 2


def test_ivago_amounts_before_2023() -> None:
    assert [ivago_amount(n, date(2022, 1, 1)) for n in (1, 2, 3, 6)] == [
        Decimal("39.00"), Decimal("58.50"), Decimal("78.00"), Decimal("78.00")]
    assert ivago_amount(2, date(2022, 12, 31)) == Decimal("58.50")
    assert ivago_amount(2, date(2023, 1, 1)) == Decimal("63.00")
    with pytest.raises(ValueError):
        ivago_amount(1, date(2011, 12, 31))


def test_ivago_in_family_counts_only_for_the_reference_person() -> None:
    pop = LatentPopulation()
    ref, partner = _household(pop, 2)
    statute(partner, "BIM_BVT_IN_FAMILY")
    assert not expect_ivago(pop, ref.insz, D).eligible
    statute(ref, "BIM_BVT_IN_FAMILY")
    assert expect_ivago(pop, ref.insz, D).eligible


def test_ivago_budgetbeheer_of_a_member_and_resident_reference_person() -> None:
    pop = LatentPopulation()
    ref, partner = _household(pop, 2)
    partner.city.append(CityPeriod("budgetbeheer", Span(date(2025, 1, 1))))
    assert expect_ivago(pop, ref.insz, D).eligible
    pop2 = LatentPopulation()
    away = person(pop2, home=MERELBEKE)
    member(pop2, away, "H9", "01")
    statute(away, "BIM_BVT")
    assert not expect_ivago(pop2, away.insz, D).eligible


def test_ivago_household_on_d_split_death_birth() -> None:
    pop = LatentPopulation()
    a, b, child, grandma = person(pop), person(pop), person(pop, "2015-01-01"), person(pop, "1940-01-01",
                                                                                         died="2025-12-31")
    baby = person(pop, "2026-03-01", since="2026-03-01")
    member(pop, a, "H1", "01")
    member(pop, b, "H1", "02", end="2026-04-30")  # leaves after D
    member(pop, b, "H2", "01", begin="2026-05-01")
    member(pop, child, "H1", "03", begin="2015-01-01")
    member(pop, grandma, "H1", "05", end="2025-12-31")
    member(pop, baby, "H1", "03", begin="2026-03-01")
    assert household_on(pop, a.insz, D) == [a.insz, b.insz, child.insz]
    assert household_on(pop, b.insz, date(2026, 6, 1)) == [b.insz]
    statute(a, "BIM_BVT")
    e = expect_ivago(pop, b.insz, D)  # B is reference person now, but on D A was
    assert e.reference_person_insz == a.insz and e.household_size == 3 and e.amount == Decimal("84.00")


def test_reference_person_on_d_else_the_subject() -> None:
    pop = LatentPopulation()
    old, successor = person(pop, "1940-01-01", died="2025-11-30"), person(pop, "1942-01-01")
    member(pop, old, "H1", "01", end="2025-11-30")
    member(pop, successor, "H1", "02", end="2025-11-29")
    member(pop, successor, "H1", "01", begin="2025-11-30")
    assert reference_person_on(pop, successor.insz, D) == successor.insz
    assert reference_person_on(pop, successor.insz, date(2025, 11, 1)) == old.insz
    loner = person(pop)  # no household record at all
    assert reference_person_on(pop, loner.insz, D) == loner.insz
    assert expect_ivago(pop, loner.insz, D).household_size == 1


# --------------------------------------------------------------------------------------- onderwijskorting

SEPT = date(2026, 9, 1)


def _family(pop: LatentPopulation) -> tuple[LatentPerson, LatentPerson, LatentPerson]:
    mum, dad, kid = person(pop), person(pop), person(pop, "2018-03-01")
    member(pop, mum, "H1", "01")
    member(pop, dad, "H1", "02")
    member(pop, kid, "H1", "03", begin="2018-03-01")
    return mum, dad, kid


def tax(year: int, titular: LatentPerson, a: int, partner: LatentPerson | None = None, b: int | None = None,
        article: str = "700000001") -> Assessment:
    assessment = Assessment(year, article, titular.insz, a, partner.insz if partner else None, b)
    titular.assessments.append(assessment)
    if partner is not None:
        partner.assessments.append(assessment)
    return assessment


def test_onderwijs_leefloon_tier_first_whatever_the_income() -> None:
    pop = LatentPopulation()
    mum, dad, kid = _family(pop)
    tax(2025, mum, 9_000_000)
    statute(dad, "LIVING_WAGES_PCSA_HELP")
    e = expect_onderwijskorting(pop, kid.insz, SEPT)
    assert (e.tier, e.care_pct, e.catering_pct, e.school_year) == ("leefloon", 100, 80, "2026-2027")


@pytest.mark.parametrize(("cent", "tier"), [(2_299_999, "inkomen-laag"), (2_300_000, "inkomen-midden"),
                                            (3_299_999, "inkomen-midden"), (3_300_000, "")])
def test_onderwijs_income_limits_are_strict(cent: int, tier: str) -> None:
    pop = LatentPopulation()
    mum, dad, kid = _family(pop)
    tax(2025, mum, cent - 1_000_000, dad, 1_000_000)  # one joint assessment on both partners: counted once
    e = expect_onderwijskorting(pop, kid.insz, SEPT)
    assert e.tier == tier and e.household_income_cent == cent
    assert e.eligible == bool(tier)
    if tier == "inkomen-laag":
        assert (e.care_pct, e.catering_pct) == (50, 25)
    if tier == "inkomen-midden":
        assert (e.care_pct, e.catering_pct) == (50, 0)


def test_onderwijs_income_year_falls_back_per_adult() -> None:
    pop = LatentPopulation()
    mum, dad, kid = _family(pop)
    tax(2024, mum, 1_000_000, article="1")  # 2025 not assessed yet: 2024 is used
    tax(2025, dad, 500_000, article="2")
    tax(2024, dad, 9_999_999, article="3")  # ignored: 2025 exists for him
    tax(2023, mum, 9_999_999, article="4")  # too old
    assert household_income_cent(pop, household_on(pop, kid.insz, SEPT), SEPT) == 1_500_000


def test_onderwijs_only_adults_and_only_the_household_on_d() -> None:
    pop = LatentPopulation()
    mum, dad, kid = _family(pop)
    teen, adult_child, ex = person(pop, "2008-09-02"), person(pop, "2008-09-01"), person(pop)
    member(pop, teen, "H1", "03", begin="2008-09-02")  # turns 18 the day after D
    member(pop, adult_child, "H1", "03", begin="2008-09-01")  # 18 on D
    member(pop, ex, "H1", "16", end="2026-08-31")  # left the day before D
    tax(2025, teen, 5_000_000, article="1")
    tax(2025, adult_child, 700_000, article="2")
    tax(2025, ex, 5_000_000, article="3")
    tax(2025, mum, 1_000_000, article="4")
    assert household_income_cent(pop, household_on(pop, kid.insz, SEPT), SEPT) == 1_700_000


def test_onderwijs_no_assessment_means_no_income_tier() -> None:
    pop = LatentPopulation()
    _, _, kid = _family(pop)
    e = expect_onderwijskorting(pop, kid.insz, SEPT)
    assert not e.eligible and e.household_income_cent is None and "NO_TAX_ASSESSMENT" in e.reasons
    bis_kid = person(pop, "2017-01-01", home=None)  # bis register: no household record
    assert household_on(pop, bis_kid.insz, SEPT) == [bis_kid.insz]
    assert not expect_onderwijskorting(pop, bis_kid.insz, SEPT).eligible


def test_onderwijs_does_not_require_residence_in_ghent() -> None:
    pop = LatentPopulation()
    mum, kid = person(pop, home=DESTELBERGEN), person(pop, "2019-01-01", home=DESTELBERGEN)
    member(pop, mum, "H1", "01")
    member(pop, kid, "H1", "03", begin="2019-01-01")
    tax(2025, mum, 1_500_000)
    assert expect_onderwijskorting(pop, kid.insz, SEPT).tier == "inkomen-laag"


# ---------------------------------------------------------------------------------------------------- LEZ

NOV = date(2026, 11, 1)


def _lez_person(pop: LatentPopulation, *, end: str | None = "2028-06-30", vt: str = "BIM_BVT") -> LatentPerson:
    q = person(pop)
    member(pop, q, "H1", "01")
    card(q, end=end)
    statute(q, vt)
    return q


def test_lez_own_registered_vehicle_first() -> None:
    pop = LatentPopulation()
    q = _lez_person(pop)
    partner = person(pop)
    member(pop, partner, "H1", "02")
    vehicle(partner, "1AAA001")
    vehicle(q, "1ZZZ999")
    vehicle(q, "1MMM500")
    vehicle(q, "1AAA000", status="CAN")
    e = expect_lez(pop, q.insz, NOV)
    assert e.eligible and e.plate == "1MMM500" and e.valid_until == date(2028, 6, 30)


def test_lez_household_vehicle_with_the_lowest_plate() -> None:
    pop = LatentPopulation()
    q = _lez_person(pop, vt="BIM_BVT_IN_FAMILY")
    a, b, gone = person(pop), person(pop), person(pop)
    for p, position in ((a, "02"), (b, "03")):
        member(pop, p, "H1", position)
    member(pop, gone, "H1", "03", end="2026-10-31")
    vehicle(a, "2BBB200")
    vehicle(b, "1CCC300")
    vehicle(b, "1AAA100", status="SUS")
    vehicle(gone, "1AAA050")  # no longer in the household on D
    vehicle(q, "1AAA001", status="CAN")  # the own vehicle is not registered
    e = expect_lez(pop, q.insz, NOV)
    assert e.eligible and e.plate == "1CCC300" and "HOUSEHOLD_VEHICLE" in e.reasons


def test_lez_no_vehicle_is_not_eligible_with_a_reason() -> None:
    pop = LatentPopulation()
    q = _lez_person(pop)
    e = expect_lez(pop, q.insz, NOV)
    assert not e.eligible and "NO_ELIGIBLE_VEHICLE" in e.reasons and e.plate == ""


@pytest.mark.parametrize(("end", "valid"), [("2026-11-01", True), ("2026-10-31", False), (None, True)])
def test_lez_parking_card_end_date_on_or_after_d(end: str | None, valid: bool) -> None:
    pop = LatentPopulation()
    q = _lez_person(pop, end=end)
    vehicle(q, "1ABC123")
    e = expect_lez(pop, q.insz, NOV)
    assert e.eligible == valid
    if end is None:
        assert e.valid_until == date(2031, 11, 1)  # D + 5 years
    elif valid:
        assert e.valid_until == date(2026, 11, 1)


def test_lez_reduction_card_or_a_future_card_does_not_count() -> None:
    pop = LatentPopulation()
    q = person(pop)
    statute(q, "BIM_BVT")
    vehicle(q, "1ABC123")
    card(q, "REDUCTIONCARD")
    card(q, delivery="2026-11-02")
    e = expect_lez(pop, q.insz, NOV)
    assert not e.eligible and "NO_VALID_PARKING_CARD" in e.reasons


def test_lez_needs_vt_and_residence() -> None:
    pop = LatentPopulation()
    q = _lez_person(pop, vt="LIVING_WAGES_PCSA_HELP")  # not a VT statute for LEZ
    vehicle(q, "1ABC123")
    assert "NO_VT" in expect_lez(pop, q.insz, NOV).reasons
    away = person(pop, home=MERELBEKE)
    card(away)
    statute(away, "BIM_BVT")
    vehicle(away, "1ABD123")
    assert not expect_lez(pop, away.insz, NOV).eligible


# ----------------------------------------------------------------------------------------- subject choice


def test_expectations_select_the_subjects_each_dag_selects() -> None:
    pop = LatentPopulation()
    ref, partner = _household(pop, 2)
    kid = person(pop, "2018-01-01")
    member(pop, kid, "H1", "03", begin="2018-01-01")
    card(partner, end="2020-01-01")  # expired: still selected for LEZ, not eligible
    other = person(pop)
    card(other, "REDUCTIONCARD")
    dates = reference_dates(NOV)
    out = expectations(pop, dates, [(ref.insz, True), (partner.insz, False), (other.insz, False)],
                       [kid.insz, kid.insz])
    assert [e.subject_insz for e in out["uitpas-kansentarief"]] == [ref.insz, partner.insz, other.insz]
    assert [e.subject_insz for e in out["ivago-tegemoetkoming"]] == [ref.insz]
    assert [e.subject_insz for e in out["onderwijskorting"]] == [kid.insz]
    assert [(e.subject_insz, e.decision) for e in out["lez-vrijstelling"]] == [(partner.insz, "not_eligible")]
    assert out["ivago-tegemoetkoming"][0].row()[:3] == [ref.insz, ref.insz, "3"]
