"""Run every scheme test case in include/proactief/schemes/cases/*.yaml, one pytest test per case.

A scheme owner adds a case to the YAML file; it shows up here by name without any Python.
"""

from __future__ import annotations

import pytest

from proactief.schemes.cases import SchemeCase, case_files, load_cases, run_case
from proactief.schemes.loader import scheme_ids

CASES: list[SchemeCase] = [case for path in case_files() for case in load_cases(path)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scheme_case(case: SchemeCase) -> None:
    problems = run_case(case)
    assert not problems, "\n".join(problems)


def test_every_scheme_has_a_case_file() -> None:
    assert {p.stem for p in case_files()} == set(scheme_ids())


def test_every_outcome_is_covered_per_scheme() -> None:
    for sid in scheme_ids():
        outcomes = {c.expect.get("decision") for c in CASES if c.scheme_id == sid}
        assert {"eligible", "not_eligible", "undetermined"} <= outcomes, sid
