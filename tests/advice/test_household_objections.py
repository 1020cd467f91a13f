"""An objector is never asked about, also when they are not the subject (issue 15, item 4).

The canned MAGDA-Mock households (see ``test_households.py``): ``84640438954`` (BIM_BVT) is the reference person of
the daughter ``10712995476`` and the son ``08670548333``; ``81652315946`` heads a household with ``15663045929``,
``75663046194`` and ``65663046376`` in which nobody holds a statute (IVAGO: not eligible when everyone is asked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

import pytest

from proactief.advice import Advisor
from proactief.magda.audit import MemoryAuditSink
from proactief.schemes import Outcome, load_scheme
from proactief.schemes.facts import OBJECTION_REASON
from proactief.schemes.observations import Answer
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.advice.conftest import make_client

pytestmark = pytest.mark.integration

IVAGO = "ivago-tegemoetkoming"
NEW_YEAR = dt.date(2026, 1, 1)
SCHOOL_DAY = dt.date(2026, 9, 1)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=5) as running:
        yield running


class Objections:
    """The ledger's objections as the advisor sees them: which of the persons asked about objected; every
    lookup is kept so a test can see it was batched."""

    def __init__(self, *objectors: str) -> None:
        self.objectors = set(objectors)
        self.lookups: list[list[str]] = []

    def __call__(self, people: Iterable[str]) -> set[str]:
        people = list(people)
        self.lookups.append(people)
        return self.objectors & set(people)


def advise_many(sim: RunningSimulator, scheme_id: str, subjects: list[str], d: dt.date, audit: MemoryAuditSink,
                withheld: Objections, *, bulk: bool = False) -> dict[str, object]:
    with make_client(sim.base_url, audit) as client:
        advisor = Advisor(client, load_scheme(scheme_id), withheld=withheld)
        if bulk:
            return {a.subject: a for a in advisor.advise_many(subjects, d)}
        return {s: advisor.advise_one(s, d) for s in subjects}


def asked_about(audit: MemoryAuditSink) -> set[str | None]:
    return {c.subject for c in audit.consultations}


def test_a_member_who_objected_is_not_asked_and_the_household_stays_undetermined_not_refused(
        sim: RunningSimulator, audit: MemoryAuditSink) -> None:
    objections = Objections("75663046194")
    advice = advise_many(sim, IVAGO, ["81652315946"], NEW_YEAR, audit, objections)["81652315946"]
    # Everyone else in the household holds no statute; whether the objector does is not known: no refusal.
    assert advice.decision is Outcome.UNDETERMINED, advice.reasons  # type: ignore[attr-defined]
    assert OBJECTION_REASON in advice.reasons  # type: ignore[attr-defined]
    assert "MAGDA_TRANSIENT" not in advice.reasons  # type: ignore[attr-defined]
    assert "75663046194" not in asked_about(audit)
    assert {"81652315946", "15663045929"} <= asked_about(audit)  # the others were asked as before
    assert all(len(set(lookup)) == len(lookup) for lookup in objections.lookups)


def test_the_reference_person_who_objected_is_not_asked_for_a_member_subject(
        sim: RunningSimulator, audit: MemoryAuditSink) -> None:
    advice = advise_many(sim, IVAGO, ["10712995476"], NEW_YEAR, audit, Objections("84640438954"))["10712995476"]
    assert advice.decision is Outcome.UNDETERMINED  # type: ignore[attr-defined]
    assert OBJECTION_REASON in advice.reasons  # type: ignore[attr-defined]
    assert asked_about(audit) == {"10712995476"}  # the household's GeefPersoon was not asked


def test_an_objector_whose_data_the_outcome_does_not_need_changes_nothing(
        sim: RunningSimulator, audit: MemoryAuditSink) -> None:
    # The reference person's own BIM_BVT settles the household statute; the son's size counts from her answer.
    advice = advise_many(sim, IVAGO, ["84640438954"], NEW_YEAR, audit, Objections("08670548333"),
                         bulk=True)["84640438954"]
    assert advice.decision is Outcome.ELIGIBLE, advice.reasons  # type: ignore[attr-defined]
    assert OBJECTION_REASON not in advice.reasons  # type: ignore[attr-defined]
    assert "08670548333" not in asked_about(audit)


def test_an_objecting_adults_income_is_not_asked_and_the_tier_waits(sim: RunningSimulator,
                                                                      audit: MemoryAuditSink) -> None:
    # Onderwijskorting for 15663045929: the household's income needs every adult's assessment.
    from proactief.advice.city import CityFiles

    city = CityFiles(residents=["15663045929"], enrolments={"2026-2027": ["15663045929"]})
    with make_client(sim.base_url, audit) as client:
        advice = Advisor(client, load_scheme("onderwijskorting"), city,
                         withheld=Objections("75663046194")).advise_one("15663045929", SCHOOL_DAY)
    assert advice.decision is Outcome.UNDETERMINED, advice.reasons
    assert OBJECTION_REASON in advice.reasons
    assert "75663046194" not in asked_about(audit)


def test_withheld_reads_as_unknown_in_the_readable_observations() -> None:
    from proactief.schemes import derive_facts
    from proactief.schemes.facts import FactKey
    from proactief.schemes.observations import observations_from_mapping

    obs = observations_from_mapping({
        "person": {"register": {"reference_person": True, "addresses": [{"kind": "main", "nis": "44021"}]},
                   "statutes": {"BIM_BVT": {"code": 0}}},
        "household": [{"statutes": {"BIM_BVT": "withheld"}}],
    })
    assert obs.household[0].statutes  # type: ignore[index]
    assert next(iter(obs.household[0].statutes.values())) is Answer.WITHHELD  # type: ignore[index]
    facts = derive_facts(load_scheme(IVAGO), obs, NEW_YEAR)
    fact = facts.get(FactKey.parse("statute.BIM_BVT@household"))
    assert fact is not None and fact.unknown_reason == OBJECTION_REASON
