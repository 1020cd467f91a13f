"""The case runner itself: it notices a wrong expectation, and refuses a malformed case file readably."""

from __future__ import annotations

from pathlib import Path

import pytest

from proactief.schemes.cases import CASES_DIR, load_cases, run_case
from proactief.schemes.loader import SchemeDefinitionError

CASE = """scheme: uitpas-kansentarief
cases:
  - name: resident with VT
    reference_date: "2025-03-01"
    facts: {ghent_resident: true, statute.BIM_BVT: true}
    expect:
      decision: DECISION
      reasons: [RESIDENT_GHENT, STATUTE_BIM_BVT]
      valid_until: "2025-12-31"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "uitpas-kansentarief.yaml"
    path.write_text(text)
    return path


def test_a_passing_and_a_failing_expectation(tmp_path: Path) -> None:
    (ok,) = load_cases(_write(tmp_path, CASE.replace("DECISION", "eligible")))
    assert run_case(ok) == []
    (bad,) = load_cases(_write(tmp_path, CASE.replace("DECISION", "not_eligible").replace("12-31", "06-30")))
    problems = run_case(bad)
    assert any("decision: expected not_eligible, got eligible" in p for p in problems)
    assert any("valid_until: expected 2025-06-30, got 2025-12-31" in p for p in problems)
    assert all(p.startswith("uitpas-kansentarief.yaml:3 (resident with VT)") for p in problems)


def test_wrong_reasons_and_trace_are_reported(tmp_path: Path) -> None:
    text = CASE.replace("DECISION", "eligible").replace("STATUTE_BIM_BVT]", "STATUTE_BIM_BVT, CITY_BUDGETBEHEER]")
    text += "      trace: {statute.BIM_BVT: false}\n"
    (case,) = load_cases(_write(tmp_path, text))
    problems = run_case(case)
    assert any("reasons: expected" in p for p in problems)
    assert any("trace statute.BIM_BVT@person: expected false, got true" in p for p in problems)


def test_a_fact_typo_is_reported_not_crashed(tmp_path: Path) -> None:
    text = CASE.replace("DECISION", "eligible").replace("statute.BIM_BVT:", "statute.VT:")
    (case,) = load_cases(_write(tmp_path, text))
    (problem,) = run_case(case)
    assert "unknown statute 'VT'" in problem


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("decision: DECISION", "decision: granted", "'granted' is not allowed here"),
        ("      valid_until", "      valid_to", "'valid_to' was unexpected"),
        ('    reference_date: "2025-03-01"\n', "", "either reference_date (D itself) or logical_date"),
        ("    facts:", "    observations: {}\n    facts:", "give either facts or observations, not both"),
    ],
)
def test_malformed_case_files_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _write(tmp_path, CASE.replace(old, new).replace("DECISION", "eligible"))
    with pytest.raises(SchemeDefinitionError) as info:
        load_cases(path)
    assert message in str(info.value) and "case file uitpas-kansentarief.yaml" in str(info.value)


def test_duplicate_case_names(tmp_path: Path) -> None:
    body = CASE.replace("DECISION", "eligible")
    path = _write(tmp_path, body + body.split("cases:\n", 1)[1])
    with pytest.raises(SchemeDefinitionError, match="used twice"):
        load_cases(path)


def test_shipped_case_files_load() -> None:
    assert sum(len(load_cases(p)) for p in CASES_DIR.glob("*.yaml")) > 80
