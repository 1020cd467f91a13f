"""The evaluator: Kleene logic checked exhaustively against a plain two-valued reading of SCHEMES.md,
explanation traces without values, staged gathering, parameters by date, grant terms."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal

import pytest

from proactief.schemes import (
    ABSENT,
    UNKNOWN,
    Facts,
    MissingFacts,
    Outcome,
    ProportionalityError,
    TraceOutcome,
    evaluate,
    load_scheme,
    needed_facts,
    outstanding_facts,
    required_services,
)
from proactief.schemes.model import MagdaUse, ParameterNotInForce

D = dt.date(2025, 3, 3)
T, F, U = True, False, UNKNOWN


def _kleene_expectation(outcomes: set[object]) -> object:
    """What a three-valued decision must be, given the two-valued outcomes of every completion."""
    return outcomes.pop() if len(outcomes) == 1 else "undetermined"


# ---------------------------------------------------------------- exhaustive Kleene checks


def test_uitpas_matches_every_completion_of_unknowns() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    keys = [str(k) for k in needed_facts(scheme)]

    def oracle(v: dict[str, bool]) -> str:
        grounds = [v[k] for k in keys[1:]]
        return "eligible" if v[keys[0]] and any(grounds) else "not_eligible"

    for combo in itertools.product((T, F, U), repeat=len(keys)):
        given = dict(zip(keys, combo, strict=True))
        unknown = [k for k, x in given.items() if x is U]
        outcomes = {
            oracle({**given, **dict(zip(unknown, fill, strict=True))})
            for fill in itertools.product((True, False), repeat=len(unknown))
        }
        decision = evaluate(scheme, Facts.of(given), D)
        assert decision.decision.value == _kleene_expectation(outcomes), given
        if decision.decision is Outcome.UNDETERMINED:
            assert decision.reasons == ("MAGDA_TRANSIENT",) or "CITY_DATA_UNAVAILABLE" in decision.reasons


def test_onderwijskorting_tiers_match_every_completion_of_unknowns() -> None:
    scheme = load_scheme("onderwijskorting")
    d = dt.date(2025, 9, 1)
    incomes = {"low": 1_000_000, "mid": 2_500_000, "high": 4_000_000, "none": ABSENT}

    def oracle(enrolled: bool, leefloon: bool, income: str) -> str | None:
        if not enrolled:
            return None
        if leefloon:
            return "leefloon"
        return {"low": "inkomen-laag", "mid": "inkomen-midden"}.get(income)

    for enrolled, leefloon, income in itertools.product((T, F, U), (T, F, U), (*incomes, "unknown")):
        outcomes = {
            oracle(e, lf, inc)
            for e in ((True, False) if enrolled is U else (enrolled,))
            for lf in ((True, False) if leefloon is U else (leefloon,))
            for inc in (incomes if income == "unknown" else (income,))
        }
        facts = Facts.of(
            {
                "enrolled_city_school_or_care": enrolled,
                "statute.LIVING_WAGES_PCSA_HELP@household": leefloon,
                "household_taxable_income": UNKNOWN if income == "unknown" else incomes[income],
            }
        )
        decision = evaluate(scheme, facts, d)
        if outcomes == {None}:
            assert decision.decision is Outcome.NOT_ELIGIBLE, (enrolled, leefloon, income)
        elif len(outcomes) == 1:
            assert decision.decision is Outcome.ELIGIBLE and decision.tier == outcomes.pop()
        else:
            assert decision.decision is Outcome.UNDETERMINED and decision.tier is None, (enrolled, leefloon, income)


def test_lez_matches_every_completion_of_unknowns() -> None:
    scheme = load_scheme("lez-vrijstelling")
    names = ["ghent_resident", "parking_card_valid", "statute.BIM_BVT", "statute.BIM_BVT_IN_FAMILY"]
    for combo in itertools.product((T, F, U), repeat=4):
        for vehicle in ("1ABC123", ABSENT, UNKNOWN):
            given = dict(zip(names, combo, strict=True))
            options = [[x] if x is not U else [True, False] for x in combo]
            vehicles = [True, False] if vehicle is UNKNOWN else [vehicle is not ABSENT]
            outcomes = {
                "eligible" if r and p and (b or bf) and v else "not_eligible"
                for r, p, b, bf in itertools.product(*options)
                for v in vehicles
            }
            facts = Facts.of({**given, "lez_vehicle": vehicle, "parking_card_end_date": dt.date(2027, 1, 1)})
            assert evaluate(scheme, facts, D).decision.value == _kleene_expectation(outcomes), (given, vehicle)


# ---------------------------------------------------------------- the trace


def test_trace_lists_every_criterion_with_source_and_outcome() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    facts = Facts.of(
        {
            "ghent_resident": True,
            "statute.BIM_BVT": UNKNOWN,
            "statute.BIM_BVT_IN_FAMILY": False,
            "statute.LIVING_WAGES_PCSA_HELP": True,
            "budgetbeheer": False,
        }
    )
    decision = evaluate(scheme, facts, D)
    assert decision.decision is Outcome.ELIGIBLE
    steps = {s.criterion: (s.source, s.outcome) for s in decision.trace}
    assert steps == {
        "ghent_resident@person": ("Rijksregister – GeefPersoon", TraceOutcome.TRUE),
        "statute.BIM_BVT@person": ("KSZ – GeefSociaalStatuut", TraceOutcome.UNKNOWN),
        "statute.BIM_BVT_IN_FAMILY@person": ("KSZ – GeefSociaalStatuut", TraceOutcome.FALSE),
        "statute.LIVING_WAGES_PCSA_HELP@person": ("KSZ – GeefSociaalStatuut", TraceOutcome.TRUE),
        "statute.PCSA_AND_BIM_HELP@person": ("KSZ – GeefSociaalStatuut", TraceOutcome.NOT_ASKED),
        "budgetbeheer@person": ("Stad Gent – OCMW budgetbeheer", TraceOutcome.FALSE),
        "schuldbemiddeling@person": ("Stad Gent – OCMW schuldbemiddeling", TraceOutcome.NOT_ASKED),
    }
    assert all(s.label for s in decision.trace)
    assert decision.sources_used() == (
        "Rijksregister – GeefPersoon",
        "KSZ – GeefSociaalStatuut",
        "Stad Gent – OCMW budgetbeheer",
    )


def test_trace_and_reasons_never_carry_values() -> None:
    income, plate, end = 1_234_567, "7QWE321", dt.date(2027, 5, 1)
    secrets = ("1234567", "12345.67", plate, end.isoformat(), "2027")
    ok = evaluate(
        load_scheme("onderwijskorting"),
        Facts.of(
            {
                "enrolled_city_school_or_care": True,
                "statute.LIVING_WAGES_PCSA_HELP@household": False,
                "household_taxable_income": income,
            }
        ),
        dt.date(2025, 9, 1),
    )
    lez = evaluate(
        load_scheme("lez-vrijstelling"),
        Facts.of(
            {
                "ghent_resident": True,
                "parking_card_valid": True,
                "statute.BIM_BVT": True,
                "lez_vehicle": plate,
                "parking_card_end_date": end,
            }
        ),
        D,
    )
    for decision in (ok, lez):
        text = repr(decision.trace) + repr(decision.reasons)
        assert not any(s in text for s in secrets), text
    assert lez.grant is not None and lez.grant.vehicle_plate == plate  # the grant itself needs the plate


def test_facts_repr_hides_values() -> None:
    facts = Facts.of({"household_taxable_income": 1_234_567, "lez_vehicle": "7QWE321", "ghent_resident": UNKNOWN})
    text = repr(facts)
    assert "1234567" not in text and "7QWE321" not in text
    assert "household_taxable_income=known" in text and "ghent_resident@person=UNKNOWN" in text


def test_source_override_shows_in_trace() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    facts = Facts.of(
        {"ghent_resident": True, "statute.BIM_BVT": True},
        sources={"statute.BIM_BVT": "KSZ – GeefSociaalStatuutVoorLijst"},
    )
    step = next(s for s in evaluate(scheme, facts, D).trace if s.criterion == "statute.BIM_BVT@person")
    assert step.source == "KSZ – GeefSociaalStatuutVoorLijst"


# ---------------------------------------------------------------- staged gathering


def test_missing_facts_raised_only_when_they_could_change_the_outcome() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    with pytest.raises(MissingFacts) as info:
        evaluate(scheme, Facts.of({}), D)
    assert [str(k) for k in info.value.keys] == [str(k) for k in needed_facts(scheme)]
    # Residence unknown and one statute true: the others cannot change "undetermined".
    decision = evaluate(scheme, Facts.of({"ghent_resident": UNKNOWN, "statute.BIM_BVT": True}), D)
    assert decision.decision is Outcome.UNDETERMINED and decision.reasons == ("MAGDA_TRANSIENT",)


def test_outstanding_facts_supports_asking_in_stages() -> None:
    scheme = load_scheme("ivago-tegemoetkoming")
    d = dt.date(2024, 1, 1)
    assert outstanding_facts(scheme, Facts.of({"ghent_resident@reference_person": False}), d) == ()
    stage1 = Facts.of({"ghent_resident@reference_person": True})
    assert [str(k) for k in outstanding_facts(scheme, stage1, d)] == [
        "statute.BIM_BVT@household",
        "statute.BIM_BVT_IN_FAMILY@reference_person",
        "budgetbeheer@household",
    ]
    stage2 = stage1.merged(Facts.of({"statute.BIM_BVT@household": True}))
    assert [str(k) for k in outstanding_facts(scheme, stage2, d)] == ["household_size"]
    stage3 = stage2.merged(Facts.of({"household_size": 2}))
    assert outstanding_facts(scheme, stage3, d) == ()
    assert evaluate(scheme, stage3, d).amount == Decimal("63.00")


def test_allow_missing_makes_undetermined_instead_of_raising() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    decision = evaluate(scheme, Facts.of({"ghent_resident": True}), D, allow_missing=True)
    assert decision.decision is Outcome.UNDETERMINED
    assert decision.reasons == ("FACTS_NOT_GATHERED",)


# ---------------------------------------------------------------- parameters, grant, dates


def test_parameters_follow_their_effective_dates() -> None:
    scheme = load_scheme("ivago-tegemoetkoming")
    facts = Facts.of({"ghent_resident@reference_person": True, "statute.BIM_BVT@household": True, "household_size": 4})
    assert evaluate(scheme, facts, dt.date(2022, 12, 31)).amount == Decimal("78.00")
    assert evaluate(scheme, facts, dt.date(2023, 1, 1)).amount == Decimal("105.00")


def test_no_parameter_before_the_scheme_is_in_force() -> None:
    scheme = load_scheme("onderwijskorting")
    facts = Facts.of(
        {
            "enrolled_city_school_or_care": True,
            "statute.LIVING_WAGES_PCSA_HELP@household": False,
            "household_taxable_income": 100,
        }
    )
    with pytest.raises(ParameterNotInForce, match="inkomensgrens_laag.*2021-09-01"):
        evaluate(scheme, facts, dt.date(2021, 9, 1))


def test_idempotency_keys() -> None:
    uitpas = evaluate(
        load_scheme("uitpas-kansentarief"),
        Facts.of({"ghent_resident": True, "statute.BIM_BVT": True}),
        dt.date(2025, 7, 1),
    )
    assert uitpas.idempotency_key("p-42") == "uitpas-kansentarief|p-42|2025"
    assert uitpas.period == "2025-07"
    lez = evaluate(
        load_scheme("lez-vrijstelling"),
        Facts.of(
            {
                "ghent_resident": True,
                "parking_card_valid": True,
                "statute.BIM_BVT": True,
                "lez_vehicle": "1ABC123",
                "parking_card_end_date": dt.date(2027, 5, 1),
            }
        ),
        D,
    )
    assert lez.idempotency_key("q-7") == "lez-vrijstelling|q-7|1ABC123|2027-05-01"
    assert lez.grant is not None and lez.grant.renew_before_end_days == 30
    assert lez.grant.magda_service == "Milieu.RegistreerLEZGegevens-02.00"
    assert lez.period == "2025-W10"
    refused = evaluate(load_scheme("uitpas-kansentarief"), Facts.of({"ghent_resident": False}), D)
    assert refused.grant is None
    with pytest.raises(ValueError, match="grants nothing"):
        refused.idempotency_key("p-42")


def test_uitpas_grant_attributes() -> None:
    decision = evaluate(
        load_scheme("uitpas-kansentarief"), Facts.of({"ghent_resident": True, "statute.BIM_BVT": True}), D
    )
    assert decision.grant is not None
    assert dict(decision.grant.attributes) == {"card_system": "UiTPAS Gent", "social_tariff_status": "ACTIVE"}
    assert decision.percentages == {"korting": Decimal("80")}
    assert decision.rule_version == "2025.3" and len(decision.definition_digest) == 12


def test_reference_dates_and_periods() -> None:
    ivago, school, uitpas = (
        load_scheme(s) for s in ("ivago-tegemoetkoming", "onderwijskorting", "uitpas-kansentarief")
    )
    assert ivago.reference_date_for(dt.date(2025, 6, 30)) == dt.date(2025, 1, 1)
    assert school.reference_date_for(dt.date(2025, 9, 1)) == dt.date(2025, 9, 1)
    assert school.reference_date_for(dt.date(2025, 8, 31)) == dt.date(2024, 9, 1)
    assert uitpas.reference_date_for(D) == D
    assert school.period_label(dt.date(2025, 9, 1)) == "2025-2026"
    assert ivago.period_label(dt.date(2025, 1, 1)) == "2025"


def test_required_services_refuses_what_the_definition_does_not_allow() -> None:
    scheme = load_scheme("lez-vrijstelling")
    narrowed = dataclasses.replace(
        scheme, magda=MagdaUse(scheme.magda.hoedanigheid, ("Persoon.GeefPersoon-02.02",), scheme.magda.statutes)
    )
    with pytest.raises(ProportionalityError, match="SocZek.GeefDossierHandicap-03.00"):
        required_services(narrowed)
