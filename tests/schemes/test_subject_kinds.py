"""Subject kinds and grant systems are declared once (``schemes.subjects``); generic code looks them up.

Every definition's subject and grant system resolve to a declaration; a kind or system declared only in a test is
picked up by the loader, the evaluator and the lifecycle; and those three no longer compare a subject or system
with a literal nor test for a particular key part.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from proactief.advice.city import CityFiles
from proactief.lifecycle import runs
from proactief.schemes import Facts, derive_facts, evaluate, load_scheme, needed_facts, observations_from_mapping
from proactief.schemes.facts import FactKey
from proactief.schemes.loader import DEFINITIONS_DIR, SCHEMA_PATH, SchemeDefinitionError, load_all, load_file
from proactief.schemes.model import Subject
from proactief.schemes.subjects import (
    GRANT_SYSTEMS,
    SUBJECT_KINDS,
    GrantSystem,
    IdentityChoice,
    SubjectKind,
    grant_system,
    grant_system_names,
    identity_part_names,
    identity_parts,
    register_grant_system,
    register_subject_kind,
    subject_kind,
    subject_kind_names,
)

ROOT = Path(__file__).resolve().parents[2]
GENERIC = {
    "loader.py": ROOT / "include/proactief/schemes/loader.py",
    "evaluator.py": ROOT / "include/proactief/schemes/evaluator.py",
    "runs.py": ROOT / "include/proactief/lifecycle/runs.py",
    "advice/city.py": ROOT / "include/proactief/advice/city.py",
    "advice/engine.py": ROOT / "include/proactief/advice/engine.py",
}
D = dt.date(2025, 3, 3)
LEZ_FACTS = {"ghent_resident": True, "parking_card_valid": True, "statute.BIM_BVT": True, "lez_vehicle": "1ABC123",
             "parking_card_end_date": dt.date(2026, 1, 31)}


@pytest.fixture
def registry() -> Iterator[None]:
    """Declarations made in a test are gone after it."""
    kinds, systems = dict(SUBJECT_KINDS), dict(GRANT_SYSTEMS)
    yield
    SUBJECT_KINDS.clear()
    SUBJECT_KINDS.update(kinds)
    GRANT_SYSTEMS.clear()
    GRANT_SYSTEMS.update(systems)


def _copy(tmp_path: Path, scheme_id: str, old: str = "", new: str = "") -> Path:
    text = (DEFINITIONS_DIR / f"{scheme_id}.yaml").read_text()
    assert old in text, f"test setup: {old!r} not in {scheme_id}"
    path = tmp_path / f"{scheme_id}.yaml"
    path.write_text(text.replace(old, new, 1) if old else text)
    return path


# ---------------------------------------------------------------- every definition resolves


def test_every_definition_names_a_declared_subject_kind_and_grant_system() -> None:
    schemes = load_all()
    assert schemes
    for scheme in schemes.values():
        assert subject_kind(scheme.subject).name == scheme.subject
        system = grant_system(scheme.grant.system)
        assert system.name == scheme.grant.system
        assert bool(system.magda_service) == bool(scheme.grant.magda_service)
        if system.magda_service:
            assert scheme.grant.magda_service == system.magda_service


def test_declared_kinds_and_systems_are_what_schema_json_and_the_model_allow() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert subject_kind_names() == schema["properties"]["subject"]["enum"]
    assert grant_system_names() == schema["$defs"]["grant"]["properties"]["system"]["enum"]
    assert subject_kind_names() == [s.value for s in Subject]
    supplied = set(schema["$defs"]["grant"]["properties"]["idempotency_key"]["items"]["enum"])
    assert identity_part_names() <= supplied


def test_each_kind_declares_what_used_to_be_a_special_case() -> None:
    assert [(p.name, p.fact) for p in subject_kind("vehicle").identity] == [("vehicle_plate", "lez_vehicle")]
    assert subject_kind("household").reevaluate_via_reference_person
    assert not any(subject_kind(k).reevaluate_via_reference_person for k in ("person", "child", "vehicle"))
    assert subject_kind("child").grant_enrichment == "enrolment_institution"
    assert [n for n in GRANT_SYSTEMS if grant_system(n).revokes] == ["lez-magda"]
    assert grant_system("lez-magda").magda_service == "Milieu.RegistreerLEZGegevens-02.00"


def test_a_name_or_key_part_is_declared_once(registry: None) -> None:
    with pytest.raises(ValueError, match="declared twice"):
        register_subject_kind(SubjectKind("person", "again"))
    with pytest.raises(ValueError, match="already belong"):
        register_subject_kind(SubjectKind("fleet", "x", identity=subject_kind("vehicle").identity))
    with pytest.raises(ValueError, match="declared twice"):
        register_grant_system(GrantSystem("uitpas", "again"))
    with pytest.raises(LookupError, match="declared: person, household"):
        subject_kind("pet")


# ---------------------------------------------------------------- the LEZ vehicle choice is stated in the YAML


def test_the_vehicle_choice_own_first_then_lowest_household_plate() -> None:
    choice = subject_kind("vehicle").choice
    assert choice is not None
    assert choice.choose(["2XYZ999", "1ZZZ000"], ["1AAA000"]) == "1ZZZ000"  # own vehicle first, its lowest plate
    assert choice.choose([], ["2BBB000", "1CCC000"]) == "1CCC000"
    assert choice.choose([], []) is None
    assert not choice.stated_in(load_scheme("lez-vrijstelling").doc)


def test_a_lez_doc_that_no_longer_states_the_choice_is_refused(tmp_path: Path) -> None:
    path = _copy(tmp_path, "lez-vrijstelling", "het laagste nummerplaatnummer", "het nieuwste voertuig")
    with pytest.raises(SchemeDefinitionError) as info:
        load_file(path)
    assert "at $.doc: a vehicle scheme says in its doc how the vehicle is chosen" in str(info.value)
    assert "'het laagste nummerplaatnummer'" in str(info.value)


def test_a_vehicle_key_part_in_another_kinds_scheme_is_refused(tmp_path: Path) -> None:
    path = _copy(tmp_path, "uitpas-kansentarief", "idempotency_key: [scheme, subject, year]",
                 "idempotency_key: [scheme, subject, vehicle_plate, year]")
    with pytest.raises(SchemeDefinitionError) as info:
        load_file(path)
    assert "'vehicle_plate' is supplied by another subject kind, not by 'person'" in str(info.value)


# ---------------------------------------------------------------- declared in a test, picked up everywhere


def test_a_kind_declared_in_a_test_supplies_its_key_part_to_the_evaluator(registry: None) -> None:
    plate = subject_kind("vehicle").identity
    del SUBJECT_KINDS["vehicle"]
    register_subject_kind(SubjectKind("fleet", "a city car-sharing fleet (test)", identity=plate))
    lez = load_scheme("lez-vrijstelling")
    as_fleet = dataclasses.replace(lez, subject="fleet")
    as_person = dataclasses.replace(lez, subject="person", criteria=lez.criteria.items[0])  # type: ignore[attr-defined]
    assert FactKey("lez_vehicle") in needed_facts(as_fleet)
    assert FactKey("lez_vehicle") not in needed_facts(as_person)
    decision = evaluate(as_fleet, Facts.of(LEZ_FACTS), D)
    assert decision.grant is not None and decision.grant.vehicle_plate == "1ABC123"
    assert decision.idempotency_key("p") == "lez-vrijstelling|p|1ABC123|2026-01-31"


def test_a_kind_declared_in_a_test_is_selected_through_the_reference_person(registry: None) -> None:
    register_subject_kind(SubjectKind("flat", "a shared flat (test)", population="reference_persons",
                                      reevaluate_via_reference_person=True))
    city = CityFiles(residents=["ref", "member"], reference_persons={"ref"},
                     household_id={"ref": "h1", "member": "h1"}, members={"h1": ["ref", "member"]})
    scheme = load_scheme("uitpas-kansentarief")
    flat = dataclasses.replace(scheme, subject="flat")
    assert runs._chosen(["member", "stranger"], ["ref"], flat, city) == (["ref"], 1)
    assert runs._chosen(["member", "stranger"], ["ref"], scheme, city) == ([], 2)


def test_a_kind_declared_in_a_test_has_its_grants_enriched(registry: None) -> None:
    register_subject_kind(SubjectKind("pupil", "a pupil (test)", grant_enrichment="enrolment_institution"))
    assert runs._ENRICHMENTS[subject_kind("pupil").grant_enrichment] is runs._institutions  # type: ignore[index]
    terms = {"attributes": {"a": "b"}, "vehicle_plate": "1ABC123"}
    assert runs._downstream_terms(terms, ("i1", "School")) == {
        "a": "b", "vehicle_plate": "1ABC123", "institution_id": "i1", "institution_name": "School"}


def test_a_grant_system_declared_in_a_test_is_checked_by_the_loader(registry: None, tmp_path: Path) -> None:
    GRANT_SYSTEMS["ivago"] = GrantSystem("ivago", "IVAGO through MAGDA (test)", magda_service="Milieu.X-01.00",
                                         revokes=True, label="IVAGO")
    with pytest.raises(SchemeDefinitionError) as info:
        load_file(_copy(tmp_path, "ivago-tegemoetkoming"))
    assert "at $.grant: a IVAGO grant names its MAGDA service (magda_service)" in str(info.value)


def test_an_undeclared_grant_system_is_a_problem_not_a_crash(registry: None, tmp_path: Path) -> None:
    del GRANT_SYSTEMS["ivago"]
    with pytest.raises(SchemeDefinitionError) as info:
        load_file(_copy(tmp_path, "ivago-tegemoetkoming"))
    assert "at $.grant.system: unknown grant system 'ivago'" in str(info.value)


def test_a_kind_choice_declared_in_a_test_is_checked_against_the_doc(registry: None, tmp_path: Path) -> None:
    SUBJECT_KINDS["person"] = SubjectKind("person", "test", choice=IdentityChoice(
        own_first=False, order="lowest", rule_nl=("de oudste kaart",)))
    with pytest.raises(SchemeDefinitionError) as info:
        load_file(_copy(tmp_path, "uitpas-kansentarief"))
    assert "it does not say: 'de oudste kaart'" in str(info.value)


# ---------------------------------------------------------------- no special cases left in generic code


def _string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals outside docstrings."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def _special_cases(source: str) -> list[str]:
    """Comparisons of a subject or system with a literal, tests for a declared key part, and string literals
    naming a declared kind, system, key part or its fact."""
    tree = ast.parse(source)
    special: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        text = ast.unparse(node)
        literal = any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides)
        if literal and any(w in text for w in (".subject", ".system", "['subject']", "['system']")):
            special.append(f"line {node.lineno}: {text}")
        elif (isinstance(node.left, ast.Constant) and node.left.value in identity_part_names()
                and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)):
            special.append(f"line {node.lineno}: {text}")
    declared = {*SUBJECT_KINDS, *GRANT_SYSTEMS, *identity_part_names(), *(p.fact for p in identity_parts())}
    special += [f"line {line}: {s!r}" for line, s in _string_constants(tree) if s in declared]
    return special


@pytest.mark.parametrize("name", sorted(GENERIC))
def test_generic_code_has_no_subject_or_system_special_cases(name: str) -> None:
    assert _special_cases(GENERIC[name].read_text()) == []


def test_the_check_catches_the_old_special_cases() -> None:
    old = ('if raw["system"] == "lez-magda" and "magda_service" not in raw: pass\n'
           'if scheme.subject == "household": pass\n'
           'if "vehicle_plate" in scheme.grant.idempotency_key: pass\n'
           'plate = facts.value("lez_vehicle")\n')
    found = _special_cases(old)
    assert sorted(int(f.split(":")[0].removeprefix("line ")) for f in found) == [1, 1, 2, 2, 3, 3, 4]


@pytest.mark.parametrize(
    ("own", "household"),
    [(["2XYZ999", "1ZZZ000"], ["1AAA000"]), ([], ["2BBB000", "1CCC000"]), ([], []), (["3DDD333"], [])],
)
def test_the_declared_vehicle_choice_agrees_with_the_fact_derivation(own: list[str], household: list[str]) -> None:
    """Until the derivation calls ``IdentityChoice.choose`` itself, both must choose the same vehicle."""
    scheme = load_scheme("lez-vrijstelling")
    obs = observations_from_mapping({
        "person": {"vehicles": [{"plate": p} for p in own]},
        "household": [{"vehicles": [{"plate": p} for p in household]}],
    })
    derived = derive_facts(scheme, obs, D).value("lez_vehicle")
    chosen = subject_kind("vehicle").choice.choose(own, household)  # type: ignore[union-attr]
    assert (derived if isinstance(derived, str) else None) == chosen
