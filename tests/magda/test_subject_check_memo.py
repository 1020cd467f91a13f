"""The subject check remembers its verdicts (a run asks about the same persons service after service) without
growing past its bound, and a remembered verdict is the schema's."""

from __future__ import annotations

import pytest

from proactief.magda import subject as subject_module
from proactief.magda.services import SERVICES
from proactief.magda.subject import subject_check

GOOD = "85073003328"
NOT_A_NUMBER = "8507300332X"


def _check():  # type: ignore[no-untyped-def]
    check = subject_check(SERVICES["Persoon.GeefPersoon-02.02"])
    assert check is not None
    return check


def test_a_remembered_verdict_is_the_schemas_verdict() -> None:
    check = _check()
    check._seen.clear()
    assert check.accepts(GOOD) and check.accepts(GOOD)
    assert not check.accepts(NOT_A_NUMBER) and not check.accepts(NOT_A_NUMBER)
    assert check._seen == {GOOD: True, NOT_A_NUMBER: False}


def test_the_memory_stays_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    check = _check()
    check._seen.clear()
    monkeypatch.setattr(subject_module, "SEEN_LIMIT", 3)
    for n in range(10):
        check.accepts(f"850730033{n:02d}")
    assert 0 < len(check._seen) <= 3
    check._seen.clear()
