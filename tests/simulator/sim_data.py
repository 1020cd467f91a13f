"""Test data of the simulator tests: INSZ construction and the small synthetic household of the store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from proactief_sim.simulator.population import (
    Address,
    HouseholdMember,
    LeefloonPayment,
    LeefloonYear,
    Period,
    Person,
    Residence,
    SocialCard,
    SocialStatute,
    TaxAssessment,
    TaxItem,
    Vehicle,
)


def make_insz(yy: int, month: int, day: int, seq: int, *, month_offset: int = 60) -> str:
    """A valid INSZ; ``month_offset`` 60 = MAGDA test number, 20/40 = bis number, 0 = Rijksregister."""
    base = f"{yy:02d}{month + month_offset:02d}{day:02d}{seq:03d}"
    born_2000s = yy < 25
    check = 97 - ((2_000_000_000 if born_2000s else 0) + int(base)) % 97
    return base + f"{check:02d}"


# The synthetic household served from the population store (not in the canned set).
PARENT = make_insz(80, 3, 14, 101)
PARTNER = make_insz(82, 5, 2, 102)
CHILD = make_insz(10, 7, 7, 103)
STORE_PLATE = "1SIM001"
GENT = Address("Hoogstraat", "70", "9000", "Gent", "44021", box="A")


def population() -> list[Person]:
    hh = (HouseholdMember(PARENT, "01", date(2005, 1, 1)), HouseholdMember(PARTNER, "02", date(2005, 1, 1)),
          HouseholdMember(CHILD, "03", date(2010, 7, 7)))
    home = (Residence(GENT, Period(date(2005, 1, 1))),)
    parent = Person(
        PARENT, date(1980, 3, 14), "Peeters", ("Jan", "Karel"), "M", residences=home,
        contact_address=Address("Veldstraat", "1", "9000", "Gent", "44021"), household=hh,
        statutes=(SocialStatute("BIM_BVT", (Period(date(2024, 1, 1), date(2024, 12, 31)),)),
                  SocialStatute("LIVING_WAGES_PCSA_HELP", ())),
        social_cards=(SocialCard("PARKINGCARD", date(2020, 2, 2), date(2030, 2, 2), "1122334455"),),
        tax_assessments=(TaxAssessment(2024, (TaxItem("A7555", 1677545), TaxItem("B7555", 100)), "A", "727270607"),),
        leefloon=(LeefloonYear(2024, (LeefloonPayment("2024-01", Decimal("842.12")),
                                      LeefloonPayment("2024-02", Decimal("842.12")))),),
        vehicles=(Vehicle(STORE_PLATE, PARENT, vin="WVWZZZ1KZAW000001", make="VOLKSWAGEN", model="Golf",
                          fuel="30", euro_norm="6", first_registration=date(2019, 1, 1)),),
    )
    partner = Person(PARTNER, date(1982, 5, 2), "Janssens", ("An",), "F", residences=home, household=hh)
    child = Person(CHILD, date(2010, 7, 7), "Peeters", ("Tim",), "M", residences=home, household=hh)
    return [parent, partner, child]


EXTRA_STATUTE_PERSON = "84640438954"  # a shipped persona; the extra folder overrides its statutes
CANNED_FAULT_PERSON = make_insz(63, 3, 3, 333)  # the extra folder answers a canned SOAP Fault for this one
