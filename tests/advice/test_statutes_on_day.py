"""The engine's one-pass statute reduction means exactly what the full observation reduced to D means.

The bulk path no longer builds a :class:`StatuteAnswer` per statute and person before keeping only "holds on D";
these tests pin that the shortcut gives the same value as :func:`statutes_from_answer` followed by the rule
"Resultaat 1 with a period covering D (or none listed)", for every outcome and period shape.
"""

from __future__ import annotations

import datetime as dt

import pytest

from proactief.advice.engine import _statutes_on_day
from proactief.advice.observe import statutes_from_answer
from proactief.magda.audit import OutcomeClass
from proactief.magda.results import (
    MagdaAnswer,
    PartialDate,
    Period,
    SociaalStatuutAntwoord,
    SociaalStatuutResultaat,
)
from proactief.schemes import Statute
from proactief.schemes.observations import Answer, StatuteAnswer

D = dt.date(2026, 11, 1)
LIST = "SocZek.GeefSociaalStatuutVoorLijst-02.00"
NAMES = ["BIM_BVT", "BIM_BVT_IN_FAMILY", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP"]


def _reference(answer: MagdaAnswer, names: list[str]) -> dict[Statute, object]:  # type: ignore[type-arg]
    out: dict[Statute, object] = {}
    for st, a in statutes_from_answer(answer, names).items():
        if isinstance(a, StatuteAnswer):
            out[st] = StatuteAnswer(int(a.code == 1 and (not a.periods or any(p.covers(D) for p in a.periods))))
        else:
            out[st] = a
    return out


def _ok(*results: SociaalStatuutResultaat) -> MagdaAnswer:  # type: ignore[type-arg]
    return MagdaAnswer(LIST, OutcomeClass.OK, SociaalStatuutAntwoord("00000000097", results))


CASES = {
    "holds without periods": _ok(SociaalStatuutResultaat("BIM_BVT", 1, ())),
    "does not hold": _ok(SociaalStatuutResultaat("BIM_BVT", 0, ())),
    "period covers D": _ok(SociaalStatuutResultaat("LIVING_WAGES_PCSA_HELP", 1,
                                                   (Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),))),
    "period ended before D": _ok(SociaalStatuutResultaat("BIM_BVT", 1, (Period(dt.date(2025, 1, 1),
                                                                                dt.date(2026, 10, 31)),))),
    "incomplete end read generously": _ok(SociaalStatuutResultaat("BIM_BVT", 1,
                                                                  (Period(None, PartialDate(2026, 11)),))),
    "code 0 with a covering period": _ok(SociaalStatuutResultaat("BIM_BVT", 0, (Period(None, None),))),
    "first listed counts": _ok(SociaalStatuutResultaat("BIM_BVT", 0, ()), SociaalStatuutResultaat("BIM_BVT", 1, ())),
    "unasked statute ignored": _ok(SociaalStatuutResultaat("OTHER", 1, ())),
    "ok without content": MagdaAnswer(LIST, OutcomeClass.OK, None),
    "definitive": MagdaAnswer(LIST, OutcomeClass.DEFINITIVE, None, code="30001"),
    "transient": MagdaAnswer(LIST, OutcomeClass.TRANSIENT, None),
    "data error": MagdaAnswer(LIST, OutcomeClass.DATA_ERROR, None),
    "needs inscription": MagdaAnswer(LIST, OutcomeClass.NEEDS_INSCRIPTION, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_statutes_on_day_equals_the_full_observation_reduced_to_d(case: str) -> None:
    answer = CASES[case]
    assert _statutes_on_day(answer, NAMES, D) == _reference(answer, NAMES)


def test_statutes_on_day_keeps_only_holds_or_not_and_the_data_less_states() -> None:
    got = _statutes_on_day(CASES["period covers D"], NAMES, D)
    assert got[Statute.LIVING_WAGES_PCSA_HELP] == StatuteAnswer(1)
    assert got[Statute.BIM_BVT] is Answer.NO_DATA
    assert set(_statutes_on_day(CASES["transient"], NAMES, D).values()) == {Answer.TRANSIENT}
