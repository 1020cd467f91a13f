"""Every scheme definition satisfies schema.json and the meaning checks; broken ones are refused readably."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from proactief.schemes import FACT_SPECS, Holder, Statute
from proactief.schemes._yaml import load_yaml
from proactief.schemes.evaluator import needed_facts, required_services, required_statutes
from proactief.schemes.facts import HISTORY_SERVICES, MOBILITEIT_INSCHRIJVINGEN
from proactief.schemes.loader import (
    DEFINITIONS_DIR,
    SCHEMA_PATH,
    SchemeDefinitionError,
    load_all,
    load_file,
    load_scheme,
    scheme_ids,
)
from proactief.schemes.model import Period, ReferenceDateRule, Subject

SCHEMES = ("ivago-tegemoetkoming", "lez-vrijstelling", "onderwijskorting", "uitpas-kansentarief")
SCHEMA = json.loads(SCHEMA_PATH.read_text())


def test_the_four_schemes_are_defined() -> None:
    assert scheme_ids() == SCHEMES
    assert set(load_all()) == set(SCHEMES)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("scheme_id", SCHEMES)
def test_definition_satisfies_schema(scheme_id: str) -> None:
    data = load_yaml((DEFINITIONS_DIR / f"{scheme_id}.yaml").read_text())
    errors = list(Draft202012Validator(SCHEMA).iter_errors(data))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("scheme_id", SCHEMES)
def test_definition_has_what_the_dag_and_owner_need(scheme_id: str) -> None:
    scheme = load_scheme(scheme_id)
    assert scheme.id == scheme_id
    assert scheme.owner.contact.endswith("@stad.gent")
    assert scheme.legal_basis and all(b.citation for b in scheme.legal_basis)
    assert len(scheme.doc) > 200 and "\n\n" not in scheme.doc  # one paragraph for doc_md
    assert scheme.schedule.timezone == "Europe/Brussels"
    assert scheme.magda.hoedanigheid
    assert scheme.rule_version
    assert len(scheme.digest) == 12


def test_subjects_periods_reference_dates_and_schedules() -> None:
    s = load_all()
    expected = {
        "uitpas-kansentarief": (Subject.PERSON, Period.MONTHLY, ReferenceDateRule.RUN_DATE, "0 6 1 * *"),
        "ivago-tegemoetkoming": (Subject.HOUSEHOLD, Period.YEARLY, ReferenceDateRule.FIRST_OF_YEAR, "0 6 1 1 *"),
        "onderwijskorting": (Subject.CHILD, Period.SCHOOL_YEAR, ReferenceDateRule.FIRST_OF_SEPTEMBER, "0 6 1 9 *"),
        "lez-vrijstelling": (Subject.VEHICLE, Period.WEEKLY, ReferenceDateRule.RUN_DATE, "0 6 * * 1"),
    }
    for sid, (subject, period, ref, cron) in expected.items():
        assert (s[sid].subject, s[sid].period, s[sid].reference_date, s[sid].schedule.cron) == (
            subject,
            period,
            ref,
            cron,
        )


def test_every_assumption_of_schemes_md_is_a_parameter_marked_assumed() -> None:
    s = load_all()
    assumed = {(sid, name) for sid, sc in s.items() for name, p in sc.parameters.items() if p.assumed}
    assert ("uitpas-kansentarief", "geldig_tot") in assumed
    assert ("onderwijskorting", "korting_opvang_inkomen_laag") in assumed
    assert ("onderwijskorting", "korting_opvang_inkomen_midden") in assumed
    assert ("onderwijskorting", "aanslagbiljet_item_eenheid") in assumed
    for sid, name in assumed:  # and the YAML says so in a comment next to it
        text = (DEFINITIONS_DIR / f"{sid}.yaml").read_text()
        block = text[text.index(f"  {name}:") :]
        assert "# assumed" in block[: block.index("values:")], (sid, name)


def test_schema_enums_agree_with_the_fact_vocabulary() -> None:
    defs = SCHEMA["$defs"]
    assert set(defs["statute"]["enum"]) == {s.value for s in Statute}
    assert set(defs["holder"]["enum"]) == {h.value for h in Holder}
    test_facts = {n for n, s in FACT_SPECS.items() if s.kind in ("bool", "present") and n != "statute"}
    assert set(defs["test_fact"]["enum"]) == test_facts
    assert set(defs["number_fact"]["enum"]) == {n for n, s in FACT_SPECS.items() if s.kind in ("count", "tax-amount")}
    assert set(defs["date_fact"]["enum"]) == {n for n, s in FACT_SPECS.items() if s.kind == "date"}
    city = {n for n, s in FACT_SPECS.items() if s.source_kind == "city"}
    assert set(SCHEMA["properties"]["city_data"]["items"]["enum"]) == city
    services = {svc for spec in FACT_SPECS.values() for svc in spec.services}
    assert set(defs["consult_service"]["enum"]) == services | set(HISTORY_SERVICES)


def test_soap_services_are_the_magda_clients_own_keys() -> None:
    services = pytest.importorskip("proactief.magda.services")
    for key in SCHEMA["$defs"]["consult_service"]["enum"] + SCHEMA["$defs"]["grant_service"]["enum"]:
        if key != MOBILITEIT_INSCHRIJVINGEN:  # REST, not a SOAP service of the client's table
            assert key in services.SERVICES, key


@pytest.mark.parametrize("scheme_id", SCHEMES)
def test_proportionality_services_and_statutes_are_exactly_what_rules_need(scheme_id: str) -> None:
    scheme = load_scheme(scheme_id)
    # The history services are listed where a rule's fact can need them on a D before the register's date.
    history = {s for k in needed_facts(scheme) for s in k.history_services()}
    assert set(required_services(scheme)) | history == set(scheme.magda.services)
    assert set(required_statutes(scheme)) == set(scheme.magda.statutes)
    city = {k.name for k in needed_facts(scheme) if k.spec.source_kind == "city"}
    assert city == set(scheme.city_data)


def test_needed_facts_per_scheme() -> None:
    s = load_all()
    assert [str(k) for k in needed_facts(s["uitpas-kansentarief"])] == [
        "ghent_resident@person",
        "statute.BIM_BVT@person",
        "statute.BIM_BVT_IN_FAMILY@person",
        "statute.LIVING_WAGES_PCSA_HELP@person",
        "statute.PCSA_AND_BIM_HELP@person",
        "budgetbeheer@person",
        "schuldbemiddeling@person",
    ]
    assert [str(k) for k in needed_facts(s["ivago-tegemoetkoming"])] == [
        "ghent_resident@reference_person",
        "statute.BIM_BVT@household",
        "statute.BIM_BVT_IN_FAMILY@reference_person",
        "budgetbeheer@household",
        "household_size",
    ]
    assert [str(k) for k in needed_facts(s["onderwijskorting"])] == [
        "enrolled_city_school_or_care",
        "statute.LIVING_WAGES_PCSA_HELP@household",
        "household_taxable_income",
    ]
    assert [str(k) for k in needed_facts(s["lez-vrijstelling"])] == [
        "ghent_resident@person",
        "parking_card_valid@person",
        "statute.BIM_BVT@person",
        "statute.BIM_BVT_IN_FAMILY@person",
        "lez_vehicle",
        "parking_card_end_date@person",
    ]


# ---------------------------------------------------------------- broken definitions are refused readably


def _broken(tmp_path: Path, scheme_id: str, old: str, new: str, count: int = 1) -> SchemeDefinitionError:
    text = (DEFINITIONS_DIR / f"{scheme_id}.yaml").read_text()
    assert text.count(old) >= count, f"test setup: {old!r} not in {scheme_id}"
    path = tmp_path / f"{scheme_id}.yaml"
    path.write_text(text.replace(old, new, count))
    with pytest.raises(SchemeDefinitionError) as info:
        load_file(path)
    return info.value


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_unknown_statute_names_file_line_and_path(tmp_path: Path) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", "- statute: BIM_BVT\n", "- statute: BIM_BVTT\n")
    message = str(err)
    assert "uitpas-kansentarief.yaml" in message
    assert "$.criteria.all[1].any[0].statute" in message
    assert "'BIM_BVTT' is not allowed here; use one of: 'BIM_BVT'" in message
    text = (tmp_path / "uitpas-kansentarief.yaml").read_text()
    assert err.problems[0].line == _line_of(text, "BIM_BVTT")


def test_unknown_fact_name(tmp_path: Path) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", "fact: ghent_resident", "fact: gent_resident")
    assert "$.criteria.all[0].fact" in str(err) and "'gent_resident' is not allowed here" in str(err)


def test_misspelt_top_level_key(tmp_path: Path) -> None:
    err = _broken(tmp_path, "ivago-tegemoetkoming", "title:", "titel:")
    assert "'titel' was unexpected" in str(err)
    assert "'title' is a required property" in str(err)


def test_unknown_rule_shape(tmp_path: Path) -> None:
    err = _broken(tmp_path, "lez-vrijstelling", "    - fact: lez_vehicle\n", "    - fakt: lez_vehicle\n")
    assert "$.criteria.all[3]" in str(err)
    assert "a rule is exactly one of: all, any, not, fact, statute, compare" in str(err)


def test_comparison_with_two_operators(tmp_path: Path) -> None:
    err = _broken(
        tmp_path,
        "onderwijskorting",
        "      below: inkomensgrens_laag\n",
        "      below: inkomensgrens_laag\n      above: inkomensgrens_laag\n",
    )
    assert "$.tiers[1].when" in str(err)
    assert "a comparison names exactly one of below, at_most, above, at_least" in str(err)


def test_parameter_dates_out_of_order(tmp_path: Path) -> None:
    err = _broken(tmp_path, "ivago-tegemoetkoming", 'from: "2023-01-01"', 'from: "2011-01-01"')
    assert "$.parameters.bedrag.values[1].from" in str(err)
    assert "oldest first" in str(err)


def test_impossible_date(tmp_path: Path) -> None:
    err = _broken(tmp_path, "ivago-tegemoetkoming", 'from: "2023-01-01"', 'from: "2023-02-30"')
    assert "'2023-02-30' is not a real date" in str(err)


def test_date_in_the_wrong_form(tmp_path: Path) -> None:
    err = _broken(tmp_path, "ivago-tegemoetkoming", 'from: "2023-01-01"', 'from: "1/1/2023"')
    assert "$.parameters.bedrag.values[1].from" in str(err) and "a date YYYY-MM-DD" in str(err)


def test_table_without_open_ended_row(tmp_path: Path) -> None:
    err = _broken(tmp_path, '"ivago-tegemoetkoming"'.strip('"'), '"5+": 126', '"5": 126')
    assert "$.parameters.bedrag.values[1].value" in str(err)
    assert "open-ended row" in str(err)


def test_table_with_a_gap(tmp_path: Path) -> None:
    err = _broken(tmp_path, "ivago-tegemoetkoming", '"3": 84, ', "")
    assert "without gaps" in str(err)


def test_percentage_above_100(tmp_path: Path) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", "        value: 80\n", "        value: 180\n")
    assert "$.parameters.korting.values[0].value" in str(err) and "between 0 and 100" in str(err)


def test_unknown_parameter_reference(tmp_path: Path) -> None:
    err = _broken(tmp_path, "onderwijskorting", "below: inkomensgrens_midden", "below: inkomensgrens_mid")
    assert "$.tiers[2].when.below" in str(err) and "unknown parameter 'inkomensgrens_mid'" in str(err)


def test_parameter_of_the_wrong_unit(tmp_path: Path) -> None:
    err = _broken(tmp_path, "onderwijskorting", "below: inkomensgrens_midden", "below: korting_opvang_leefloon")
    assert "has unit 'percent'" in str(err)


def test_unused_parameter(tmp_path: Path) -> None:
    err = _broken(
        tmp_path,
        "uitpas-kansentarief",
        "parameters:\n",
        "parameters:\n  vergeten:\n    description: Niemand gebruikt dit.\n    unit: EUR\n"
        '    values: [{from: "2022-01-01", value: 1}]\n',
    )
    assert "$.parameters.vergeten" in str(err) and "no rule, benefit or grant uses it" in str(err)


def test_service_listed_but_not_needed(tmp_path: Path) -> None:
    err = _broken(
        tmp_path,
        "uitpas-kansentarief",
        "    - SocZek.GeefSociaalStatuut-03.00\n",
        "    - SocZek.GeefSociaalStatuut-03.00\n    - SocZek.GeefDossierHandicap-03.00\n",
    )
    assert "$.magda.services[3]" in str(err)
    assert "'SocZek.GeefDossierHandicap-03.00' is listed but no rule needs it" in str(err)


def test_a_history_service_is_allowed_only_for_the_facts_it_serves(tmp_path: Path) -> None:
    """UiTPAS decides on the person alone: the residence history may serve it, the household history not."""
    err = _broken(
        tmp_path,
        "uitpas-kansentarief",
        "    - SocZek.GeefSociaalStatuut-03.00\n",
        "    - SocZek.GeefSociaalStatuut-03.00\n    - Persoon.GeefHistoriekGezinssamenstelling-02.02\n",
    )
    assert "'Persoon.GeefHistoriekGezinssamenstelling-02.02' is listed but no rule needs it" in str(err)
    assert "GeefHistoriekPersoon" not in str(err)


def test_statute_needed_but_not_listed(tmp_path: Path) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", "    - PCSA_AND_BIM_HELP\n", "")
    assert "$.criteria.all[1].any[3]" in str(err)
    assert "needs the statute 'PCSA_AND_BIM_HELP', which $.magda.statutes does not list" in str(err)


def test_city_data_needed_but_not_listed(tmp_path: Path) -> None:
    err = _broken(tmp_path, "ivago-tegemoetkoming", "city_data:\n  - budgetbeheer\n", "city_data: []\n")
    assert "city data set 'budgetbeheer'" in str(err)


def test_holder_not_allowed_for_fact(tmp_path: Path) -> None:
    err = _broken(
        tmp_path,
        "lez-vrijstelling",
        "    - fact: parking_card_valid\n",
        "    - fact: parking_card_valid\n      of: household\n",
    )
    assert "$.criteria.all[1]" in str(err)
    assert "fact 'parking_card_valid' cannot be about 'household'" in str(err)


def test_id_must_match_file_name(tmp_path: Path) -> None:
    err = _broken(tmp_path, "lez-vrijstelling", "id: lez-vrijstelling", "id: lez")
    assert "must equal the file name 'lez-vrijstelling'" in str(err)


def test_duplicate_key(tmp_path: Path) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", "subject: person\n", "subject: person\nsubject: household\n")
    assert "the key 'subject' appears twice" in str(err)
    assert err.problems[0].line is not None


def test_yaml_syntax_error(tmp_path: Path) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", "  services:\n", "  services: [\n")
    assert "not valid YAML" in str(err) and err.problems[0].line is not None


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = (DEFINITIONS_DIR / "uitpas-kansentarief.yaml").read_text()
    text = text.replace("period: monthly", "period: maandelijks").replace("subject: person", "subject: persoon")
    path = tmp_path / "uitpas-kansentarief.yaml"
    path.write_text(text)
    with pytest.raises(SchemeDefinitionError) as info:
        load_file(path)
    assert len(info.value.problems) == 2
    assert "(2 problems)" in str(info.value)


def test_unknown_scheme_id_names_the_known_ones() -> None:
    with pytest.raises(FileNotFoundError, match="known: ivago-tegemoetkoming"):
        load_scheme("bestaat-niet")


# ---------------------------------------------------------------- "wacht op pas" (grant.awaiting_card)


def test_uitpas_waits_for_a_pass_with_dated_wait_and_price() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    card = scheme.grant.awaiting_card_terms(lambda name: scheme.parameter(name, dt.date(2026, 3, 1)))

    assert card is not None and card["wait_days"] == 180 and card["price"] == "1"
    assert "UiTPAS-balie" in card["where"] and "identiteitskaart" in card["bring"]
    assert scheme.parameters["wacht_op_pas_dagen"].assumed and scheme.parameters["pas_prijs_kansentarief"].assumed


def test_awaiting_card_on_a_system_without_a_card_is_refused(tmp_path: Path) -> None:
    err = _broken(tmp_path, "ivago-tegemoetkoming", "grant:\n",
                  "grant:\n  awaiting_card: {wait_days: geldig_tot, where: aan de balie, bring: niets}\n")
    assert "is not written on a card a person fetches" in str(err)


def test_awaiting_card_wait_must_be_a_days_parameter(tmp_path: Path) -> None:
    err = _broken(tmp_path, "uitpas-kansentarief", "wait_days: wacht_op_pas_dagen", "wait_days: korting")
    assert "parameter 'korting' has unit 'percent'" in str(err)
