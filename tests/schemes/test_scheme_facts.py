"""The fact vocabulary and the frozen Facts container."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from proactief.schemes import ABSENT, FACT_SPECS, UNKNOWN, FactError, FactKey, Facts, Holder, Statute


def test_fact_keys_read_and_print_the_same_way() -> None:
    for text in (
        "ghent_resident@person",
        "statute.BIM_BVT@household",
        "household_size",
        "statute.BIM_BVT_IN_FAMILY@reference_person",
        "budgetbeheer@household",
    ):
        assert str(FactKey.parse(text)) == text
    assert FactKey.parse("ghent_resident") == FactKey("ghent_resident", Holder.PERSON)
    assert FactKey.parse("statute.PCSA_AND_BIM_HELP") == FactKey("statute", Holder.PERSON, Statute.PCSA_AND_BIM_HELP)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gent_resident", "unknown fact 'gent_resident'"),
        ("statute.LEEFLOON", "unknown statute 'LEEFLOON'"),
        ("ghent_resident@gezin", "unknown holder 'gezin'"),
        ("parking_card_valid@household", "cannot be about 'household'"),
        ("household_size@person", "cannot be about 'person'"),
    ],
)
def test_bad_fact_keys_are_named(text: str, message: str) -> None:
    with pytest.raises(FactError, match=message):
        FactKey.parse(text)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ghent_resident", "yes", "must be true or false"),
        ("household_size", 0, "whole number of at least 1"),
        ("household_size", True, "whole number of at least 1"),
        ("household_size", ABSENT, "cannot be ABSENT"),
        ("household_taxable_income", "12000", "whole number"),
        ("parking_card_end_date", "2027-01-01", "must be a date"),
        ("lez_vehicle", "", "non-empty text"),
    ],
)
def test_fact_values_are_type_checked(key: str, value: object, message: str) -> None:
    with pytest.raises(FactError, match=message):
        Facts.of({key: value})  # type: ignore[dict-item]


def test_same_fact_twice_is_refused() -> None:
    with pytest.raises(FactError, match="given twice"):
        Facts.of({"ghent_resident": True, "ghent_resident@person": False})


def test_facts_are_read_only_and_carry_their_source() -> None:
    facts = Facts.of(
        {"ghent_resident": UNKNOWN, "parking_card_end_date": dt.date(2030, 1, 1)}, details={"ghent_resident": "99996"}
    )
    fact = facts["ghent_resident"]
    assert fact.value is UNKNOWN and not fact.known
    assert fact.source == "Rijksregister – GeefPersoon" and fact.detail == "99996"
    assert facts.value("statute.BIM_BVT") is None  # not gathered
    with pytest.raises(TypeError):
        facts._items[FactKey.parse("ghent_resident")] = fact  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts._items = {}  # type: ignore[misc]


def test_every_fact_has_a_source_label_and_reason_codes() -> None:
    for name, spec in FACT_SPECS.items():
        assert spec.source and spec.label_nl, name
        if spec.kind in ("bool", "present") and name != "statute":
            assert spec.reason_true and spec.reason_false, name
    assert FactKey.parse("statute.BIM_BVT").reason(True) == "STATUTE_BIM_BVT"
    assert FactKey.parse("budgetbeheer@household").reason(True) == "CITY_BUDGETBEHEER_IN_HOUSEHOLD"
    assert FactKey.parse("household_taxable_income").reason("absent") == "NO_TAX_ASSESSMENT"
    assert FactKey.parse("budgetbeheer").unknown_reason() == "CITY_DATA_UNAVAILABLE"
    assert FactKey.parse("ghent_resident").unknown_reason() == "MAGDA_TRANSIENT"
