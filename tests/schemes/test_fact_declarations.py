"""Each fact is declared once (schemes/factdefs) and looked up everywhere: no code switches on a fact's name,
the schema's enums are generated from the declarations, and a new fact is one declaration."""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import proactief
from proactief.advice.engine import Advisor
from proactief.advice.questions import QUESTIONS
from proactief.dashboard.lookup import reason_text
from proactief.schemes import FACT_SPECS, FactKey, Facts, Holder
from proactief.schemes.derive import derive_fact
from proactief.schemes.factdefs import REASON_TEXTS, RULE_REASONS, FactSpec, Planner, fact_spec, register, unregister
from proactief.schemes.factdefs.base import GEEF_PERSOON, Ask, PlanningContext, Request
from proactief.schemes.facts import HISTORY_SERVICES
from proactief.schemes.observations import Observations, PersonObservation, RegisterRecord
from proactief.schemes.schema_gen import SCHEMA_PATH, fact_enums, generated_schema

PACKAGE = Path(proactief.__file__).resolve().parent
D = dt.date(2025, 9, 1)


def _fact_name_literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and node.value in FACT_SPECS else None


def _switches(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``x == "fact"`` / ``x != "fact"`` and ``x in ("fact", …)``: a branch on a fact's name."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, sides[:-1], sides[1:], strict=True):
            if isinstance(op, ast.Eq | ast.NotEq):
                name = _fact_name_literal(left) or _fact_name_literal(right)
                if name:
                    yield node.lineno, name
            elif isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Tuple | ast.List | ast.Set):
                for element in right.elts:
                    name = _fact_name_literal(element)
                    if name:
                        yield node.lineno, name


def test_no_module_branches_on_a_fact_name() -> None:
    found = [f"{path.relative_to(PACKAGE)}:{line} compares with {name!r}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for line, name in _switches(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == [], "look the fact up (fact_spec) instead:\n" + "\n".join(found)


def test_the_name_switch_detector_finds_what_it_is_for() -> None:
    tree = ast.parse('if key.name == "lez_vehicle": pass\nelif "statute" != name: pass\n'
                     'ok = name in ("household_size", "x")\nfine = "statute" in raw\n')
    assert sorted(_switches(tree)) == [(1, "lez_vehicle"), (2, "statute"), (3, "household_size")]


def test_schema_json_keeps_the_enums_generated_from_the_registry() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert generated_schema(schema) == schema, "run: python -m proactief.schemes.schema_gen --write"
    assert schema["$defs"]["test_fact"]["enum"][0] == "ghent_resident"
    assert "statute" not in schema["$defs"]["test_fact"]["enum"]  # tested through statute: NAME, not fact:
    assert "enum" not in schema["$defs"]["reason_code"]  # a scheme from a folder may name its own reasons


def test_every_reason_a_fact_can_give_has_a_plain_dutch_sentence() -> None:
    for spec in FACT_SPECS.values():
        for code in (spec.reason_true, spec.reason_false, spec.reason_absent):
            if code:
                assert REASON_TEXTS[code].endswith("."), (spec.name, code)
    for statute_key in ("statute.BIM_BVT@person", "statute.PCSA_AND_BIM_HELP@household"):
        key = FactKey.parse(statute_key)
        for value in (True, False):
            assert key.reason(value) in REASON_TEXTS, key
    assert reason_text(FactKey.parse("statute.BIM_BVT@household").reason(True)) == (
        "Iemand in het gezin heeft een verhoogde tegemoetkoming van het ziekenfonds.")
    assert set(RULE_REASONS) <= set(REASON_TEXTS)


def test_history_services_are_declared_with_the_fact() -> None:
    assert FactKey.parse("ghent_resident").history_services() == (HISTORY_SERVICES[0],)
    assert FactKey.parse("ghent_resident@reference_person").history_services() == HISTORY_SERVICES
    assert FactKey.parse("lez_vehicle").history_services() == (HISTORY_SERVICES[1],)
    assert FactKey.parse("statute.BIM_BVT@household").history_services() == (HISTORY_SERVICES[1],)
    assert FactKey.parse("parking_card_valid").history_services() == ()


def test_every_question_kind_is_declared_once_in_asking_order() -> None:
    assert [q.kind for q in QUESTIONS] == list(Ask)
    assert len({q.service for q in QUESTIONS}) == len(QUESTIONS)


class _BicyclePlanner(Planner):
    """Asks GeefPersoon of the subject when its register is not in (a stand-in for a real source)."""

    def plan(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        if not ctx.registered:
            yield (Ask.PERSOON, ctx.subject, None)


def _owns_bicycle(key: FactKey, obs: Observations, d: dt.date) -> bool | None:
    register = obs.person.register
    return None if register is None else isinstance(register, RegisterRecord) and register.born is not None


@pytest.fixture
def bicycle() -> Iterator[FactSpec]:
    spec = register(FactSpec(
        name="owns_bicycle", kind="bool", label_nl="heeft een fiets", source="Rijksregister – GeefPersoon",
        source_kind="magda", services=(GEEF_PERSOON,), holders=(Holder.PERSON,),
        reason_true="OWNS_BICYCLE", reason_false="NO_BICYCLE",
        reasons_nl={"OWNS_BICYCLE": "Heeft een fiets.", "NO_BICYCLE": "Heeft geen fiets."},
        derive=_owns_bicycle, planner=_BicyclePlanner()))
    try:
        yield spec
    finally:
        unregister("owns_bicycle")


def test_a_new_fact_is_one_declaration(bicycle: FactSpec) -> None:
    assert fact_spec("owns_bicycle") is bicycle
    key = FactKey.parse("owns_bicycle")
    assert key.holder is Holder.PERSON and key.services() == (GEEF_PERSOON,)
    # derived through its declaration
    obs = Observations(PersonObservation(register=RegisterRecord(born=dt.date(1990, 1, 1))))
    assert derive_fact(key, obs, D) is True
    assert Facts.of({"owns_bicycle": True})["owns_bicycle"].source == "Rijksregister – GeefPersoon"
    # explained through its declaration
    assert reason_text(key.reason(False)) == "Heeft geen fiets."
    # in the schema's enums once regenerated (the file itself is not written here)
    assert "owns_bicycle" in fact_enums()["test_fact"]
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert "owns_bicycle" in generated_schema(schema)["$defs"]["test_fact"]["enum"]
    assert generated_schema(schema) != schema  # the test above would say: regenerate
    # planned by the advice engine through its planner
    advisor = object.__new__(Advisor)
    assert list(advisor._iter_requests("85073003328", (key,), D, {})) == [(Ask.PERSOON, "85073003328", None)]


def test_a_removed_throw_away_fact_leaves_the_registry_as_it_was(bicycle: FactSpec) -> None:
    unregister("owns_bicycle")
    assert "owns_bicycle" not in FACT_SPECS and "OWNS_BICYCLE" not in REASON_TEXTS
    assert "NO_VALID_PARKING_CARD" in REASON_TEXTS  # shared by two facts: kept while one declares it
