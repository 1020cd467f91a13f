"""Scheme test cases as data (in the manner of OpenFisca's YAML tests).

A scheme owner adds a case to ``cases/<scheme-id>.yaml`` — facts (or what the sources said) and the
decision expected — without writing Python; ``tests/schemes`` runs every case of every file. The same
runner can serve a CLI (``run a scheme's cases``), which is why it lives in the package.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from proactief.schemes._yaml import YamlProblem, json_path, line_of, load_yaml
from proactief.schemes.derive import derive_facts
from proactief.schemes.evaluator import MissingFacts, evaluate
from proactief.schemes.facts import ABSENT, UNKNOWN, FactError, FactKey, Facts, FactValue
from proactief.schemes.loader import (
    PACKAGE_DIR,
    Problem,
    SchemeDefinitionError,
    extra_scheme_dirs,
    load_scheme,
    schema_problems,
)
from proactief.schemes.observations import ObservationError, observations_from_mapping

__all__ = ["CASES_DIR", "CASES_SCHEMA_PATH", "SchemeCase", "case_files", "load_cases", "run_case"]

CASES_DIR = PACKAGE_DIR / "cases"
CASES_SCHEMA_PATH = PACKAGE_DIR / "cases-schema.json"


@dataclass(frozen=True)
class SchemeCase:
    """One case: a subject's facts (or observations) on a date, and what the scheme must decide."""

    scheme_id: str
    name: str
    file: Path
    line: int | None
    reference_date: dt.date | None
    logical_date: dt.date | None
    facts: Mapping[str, Any] | None
    observations: Mapping[str, Any] | None
    expect: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.scheme_id}::{self.name}"


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(CASES_SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def case_files(directory: Path | None = None) -> tuple[Path, ...]:
    """The case files in ``directory``, or by default the package's and each extra scheme folder's ``cases/``."""
    folders = (directory,) if directory is not None else (*(d / "cases" for d in extra_scheme_dirs()), CASES_DIR)
    return tuple(p for folder in folders for p in sorted(folder.glob("*.yaml")))


def load_cases(path: Path) -> list[SchemeCase]:
    """Read and check one case file; problems are reported like definition problems (file, line, path)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = load_yaml(text)
    except YamlProblem as exc:
        raise SchemeDefinitionError(path, [Problem("$", str(exc), exc.line)], "case file") from None
    problems = schema_problems(data, _validator())
    if not problems:
        if data["scheme"] != path.stem:
            problems.append((("scheme",), f"the scheme {data['scheme']!r} must equal the file name {path.stem!r}"))
        names: set[str] = set()
        for i, case in enumerate(data["cases"]):
            if case["name"] in names:
                problems.append((("cases", i, "name"), f"case name {case['name']!r} is used twice"))
            names.add(case["name"])
    if problems:
        located = [Problem(json_path(p), m, line_of(text, p)) for p, m in problems]
        raise SchemeDefinitionError(path, sorted(located, key=lambda p: p.line or 0), "case file")
    out = []
    for i, case in enumerate(data["cases"]):
        out.append(
            SchemeCase(
                scheme_id=data["scheme"],
                name=case["name"],
                file=path,
                line=line_of(text, ("cases", i)),
                reference_date=_date(case.get("reference_date")),
                logical_date=_date(case.get("logical_date")),
                facts=case.get("facts"),
                observations=case.get("observations"),
                expect=case["expect"],
            )
        )
    return out


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _fact_value(key: FactKey, raw: Any) -> FactValue:
    if raw == "unknown":
        return UNKNOWN
    if raw == "absent":
        return ABSENT
    if key.spec.kind == "date" and isinstance(raw, str):
        return dt.date.fromisoformat(raw)
    if key.spec.kind == "present" and not isinstance(raw, str):
        return str(raw)
    return raw  # type: ignore[no-any-return]


def _facts(raw: Mapping[str, Any]) -> Facts:
    values: dict[FactKey, FactValue] = {}
    for text, value in raw.items():
        key = FactKey.parse(text)
        values[key] = _fact_value(key, value)
    return Facts.of(values)  # type: ignore[arg-type]


def _show(value: object) -> str:
    if value is UNKNOWN:
        return "unknown"
    if value is ABSENT:
        return "absent"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def run_case(case: SchemeCase) -> list[str]:
    """Run one case; returns what differs from the expectation (empty = the case passes)."""
    where = f"{case.file.name}:{case.line} ({case.name})"
    scheme = load_scheme(case.scheme_id)
    d = case.reference_date or scheme.reference_date_for(case.logical_date)  # type: ignore[arg-type]
    expect = case.expect
    problems: list[str] = []
    try:
        if case.facts is not None:
            facts = _facts(case.facts)
        else:
            facts = derive_facts(scheme, observations_from_mapping(case.observations or {}), d)
    except (FactError, ObservationError, ValueError) as exc:
        return [f"{where}: {exc}"]

    if "reference_date" in expect and d.isoformat() != expect["reference_date"]:
        problems.append(f"reference date: expected {expect['reference_date']}, got {d.isoformat()}")
    for text, wanted in (expect.get("facts") or {}).items():
        key = FactKey.parse(text)
        got = facts.value(key)
        shown = "not asked" if got is None else _show(got)
        if shown != _show(_fact_value(key, wanted)):
            problems.append(f"fact {key}: expected {_show(wanted)}, derived {shown}")

    try:
        decision = evaluate(scheme, facts, d)
    except MissingFacts as exc:
        if "missing_facts" in expect:
            wanted = sorted(str(FactKey.parse(k)) for k in expect["missing_facts"])
            got = sorted(str(k) for k in exc.keys)
            if wanted != got:
                problems.append(f"missing facts: expected {wanted}, got {got}")
            return [f"{where}: {p}" for p in problems]
        return [f"{where}: {exc}"]
    if "missing_facts" in expect:
        problems.append(f"expected evaluation to stop for missing facts, got {decision.decision}")
        return [f"{where}: {p}" for p in problems]

    if decision.decision.value != expect["decision"]:
        problems.append(f"decision: expected {expect['decision']}, got {decision.decision.value}")
    if set(expect["reasons"]) != set(decision.reasons):
        problems.append(f"reasons: expected {sorted(expect['reasons'])}, got {sorted(decision.reasons)}")
    if "tier" in expect and expect["tier"] != decision.tier:
        problems.append(f"tier: expected {expect['tier']}, got {decision.tier}")
    if "amount" in expect and _money(expect["amount"]) != _money(decision.amount):
        problems.append(f"amount: expected {_money(expect['amount'])}, got {_money(decision.amount)}")
    for field, got_map in (("amounts", decision.amounts), ("percentages", decision.percentages)):
        if field in expect:
            wanted_map = {k: _money(v) for k, v in expect[field].items()}
            got = {k: _money(v) for k, v in got_map.items()}
            if wanted_map != got:
                problems.append(f"{field}: expected {wanted_map}, got {got}")
    grant = decision.grant
    if "valid_until" in expect:
        got_until = grant.valid_until.isoformat() if grant and grant.valid_until else None
        if expect["valid_until"] != got_until:
            problems.append(f"valid_until: expected {expect['valid_until']}, got {got_until}")
    if "vehicle_plate" in expect:
        got_plate = grant.vehicle_plate if grant else None
        if expect["vehicle_plate"] != got_plate:
            problems.append(f"vehicle_plate: expected {expect['vehicle_plate']}, got {got_plate}")
    if "trace" in expect:
        outcomes = {step.criterion: step.outcome.value for step in decision.trace if step.kind == "criterion"}
        for criterion, wanted in expect["trace"].items():
            label = _trace_label(criterion)
            wanted_text = str(wanted).lower() if isinstance(wanted, bool) else str(wanted)
            if outcomes.get(label) != wanted_text:
                problems.append(f"trace {label}: expected {wanted_text}, got {outcomes.get(label, 'not in trace')}")
    return [f"{where}: {p}" for p in problems]


def _trace_label(text: str) -> str:
    """Trace criteria are canonical fact keys (``ghent_resident`` → ``ghent_resident@person``) or comparisons."""
    try:
        return str(FactKey.parse(text))
    except FactError:
        return text
