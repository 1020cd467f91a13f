"""Observations → facts: the fine print of SCHEMES.md beyond what the case files show."""

from __future__ import annotations

import datetime as dt

import pytest

from proactief.schemes import ABSENT, UNKNOWN, MissingFacts, evaluate, load_scheme
from proactief.schemes.derive import derive_facts, household_taxable_income
from proactief.schemes.observations import (
    Answer,
    ObservationError,
    Observations,
    PersonObservation,
    RegisterRecord,
    TaxAssessment,
    observations_from_mapping,
)

D = dt.date(2025, 9, 1)


def _adult(year_answer: object, born: str = "1980-01-01") -> PersonObservation:
    return PersonObservation(
        register=RegisterRecord(born=dt.date.fromisoformat(born)),
        tax={2024: year_answer},  # type: ignore[dict-item]
    )


def test_unknown_register_is_unknown_but_no_data_is_not_resident() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    assert (
        derive_facts(scheme, Observations(PersonObservation(register=Answer.TRANSIENT)), D).value("ghent_resident")
        is UNKNOWN
    )
    assert (
        derive_facts(scheme, Observations(PersonObservation(register=Answer.NO_DATA)), D).value("ghent_resident")
        is False
    )


def test_what_was_not_asked_is_left_out() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    facts = derive_facts(scheme, Observations(PersonObservation(register=RegisterRecord())), D)
    assert [str(k) for k in facts] == ["ghent_resident@person"]


def test_income_needs_every_adults_answer() -> None:
    child = PersonObservation(register=RegisterRecord(born=dt.date(2015, 1, 1)))
    parent = _adult(TaxAssessment("1", {"A7555": 100}))
    other_parent_not_asked = PersonObservation(register=RegisterRecord(born=dt.date(1982, 1, 1)))
    assert household_taxable_income(Observations(child, (parent,)), D) == 100
    assert household_taxable_income(Observations(child, (parent, other_parent_not_asked)), D) is None
    assert household_taxable_income(Observations(child, (parent, _adult(Answer.TRANSIENT))), D) is UNKNOWN
    assert household_taxable_income(Observations(child, (_adult(Answer.NO_DATA),)), D) is ABSENT
    assert household_taxable_income(Observations(child, Answer.TRANSIENT), D) is UNKNOWN
    assert household_taxable_income(Observations(child), D) is None


def test_income_items_other_than_a7555_b7555_are_ignored() -> None:
    child = PersonObservation(register=RegisterRecord(born=dt.date(2015, 1, 1)))
    parent = _adult(TaxAssessment("1", {"A7555": 100, "A1250": 999_999}))
    assert household_taxable_income(Observations(child, (parent,)), D) == 100


def test_turning_eighteen_on_d_makes_an_adult() -> None:
    child = PersonObservation(register=RegisterRecord(born=dt.date(2015, 1, 1)))
    eighteen_today = _adult(TaxAssessment("7", {"A7555": 5}), born="2007-09-01")
    seventeen = _adult(TaxAssessment("8", {"A7555": 5}), born="2007-09-02")
    assert household_taxable_income(Observations(child, (eighteen_today,)), D) == 5
    assert household_taxable_income(Observations(child, (seventeen,)), D) is ABSENT


def test_income_not_gathered_stops_the_evaluation() -> None:
    scheme = load_scheme("onderwijskorting")
    obs = observations_from_mapping(
        {
            "person": {"register": {"born": "2015-01-01"}, "statutes": {"LIVING_WAGES_PCSA_HELP": {"code": 0}}},
            "household": [{"register": {"born": "1980-01-01"}, "statutes": {"LIVING_WAGES_PCSA_HELP": {"code": 0}}}],
            "enrolled_city_school_or_care": True,
        }
    )
    with pytest.raises(MissingFacts, match="household_taxable_income"):
        evaluate(scheme, derive_facts(scheme, obs, D), D)


def test_reference_person_in_the_household() -> None:
    scheme = load_scheme("ivago-tegemoetkoming")
    obs = observations_from_mapping(
        {
            "person": {
                "register": {"addresses": [{"kind": "main", "nis": "44021", "from": "2000-01-01"}]},
                "statutes": {"BIM_BVT": {"code": 0}},
                "city": {"budgetbeheer": False},
            },
            "household": [
                {
                    "register": {"reference_person": True, "born": "1960-01-01"},
                    "statutes": {"BIM_BVT": {"code": 0}, "BIM_BVT_IN_FAMILY": {"code": 1}},
                    "city": {"budgetbeheer": False},
                }
            ],
        }
    )
    facts = derive_facts(scheme, obs, dt.date(2024, 1, 1))
    assert facts.value("statute.BIM_BVT_IN_FAMILY@reference_person") is True
    assert facts.value("ghent_resident@reference_person") is True  # same household, same main residence
    assert evaluate(scheme, facts, dt.date(2024, 1, 1)).eligible


def test_household_city_data_unknown_because_household_unknown_is_a_magda_problem() -> None:
    scheme = load_scheme("ivago-tegemoetkoming")
    obs = observations_from_mapping(
        {
            "person": {
                "register": {
                    "reference_person": True,
                    "addresses": [{"kind": "main", "nis": "44021", "from": "2000-01-01"}],
                },
                "statutes": {"BIM_BVT": {"code": 0}, "BIM_BVT_IN_FAMILY": {"code": 0}},
                "city": {"budgetbeheer": False},
            },
            "household": "unknown",
        }
    )
    facts = derive_facts(scheme, obs, dt.date(2024, 1, 1))
    assert facts["budgetbeheer@household"].unknown_reason == "MAGDA_TRANSIENT"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "'person' .* is required"),
        ({"person": {"registr": {}}}, r"observations.person: unknown field\(s\) registr"),
        ({"person": {"register": {"born": "1/1/1980"}}}, "observations.person.register.born: '1/1/1980' is not a date"),
        ({"person": {"statutes": {"VT": {"code": 1}}}}, "observations.person.statutes.VT: unknown statute"),
        ({"person": {"register": {"addresses": [{"kind": "home"}]}}}, "use main .* or contact"),
        ({"person": {"vehicles": [{"plate": "1ABC123", "titular": "company"}]}}, "use natural"),
    ],
)
def test_observation_mistakes_are_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(ObservationError, match=message):
        observations_from_mapping(data)
