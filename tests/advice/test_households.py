"""Households as MAGDA gives them: a member's GeefPersoon names only its Referentiepersoon, so the household comes
from the reference person's answer (SCHEMES.md, "Household of P on D").

Expected decisions from the canned MAGDA-Mock files and SCHEMES.md, worked out by hand:

- ``84640438954`` (reference person, BIM_BVT) lists 4 Gezinsleden, among them the daughter ``10712995476``
  (born 2010) and the son ``08670548333`` (born 2008-07-05: an adult on 2026-09-01). Nobody has
  LIVING_WAGES_PCSA_HELP and no adult has a tax assessment (every year answers 45008) → the daughter gets no
  onderwijskorting (``NO_TAX_ASSESSMENT``), decided on the *household's* adults. IVAGO for the daughter is the
  household's voucher: 5 persons on 2026-01-01 → 126 EUR, granted to her father, never a one-person 42 EUR.
- ``81652315946`` (reference person of ``15663045929``, with ``75663046194`` and ``65663046376``): one joint
  assessment (article 727270607) for income year 2025 with A7555 16,775.45 + B7555 10,000.00 (the third adult's
  A7555 on the same article is the same item) = 26,775.45 EUR: not under 23,000, under 33,000 → ``inkomen-midden``.
- ``87631845908`` (reference person of ``15692423467``, no other member): B7555 24,575.44 EUR for 2025 →
  ``inkomen-midden``.
- ``88661177739`` (reference person of ``14641974142``): the tax service answers 99996 (too many concurrent
  requests) → the income is unknown → ``undetermined``, never a refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from proactief.advice import Advisor
from proactief.advice.city import CityFiles
from proactief.advice.engine import DECIDED_FOR_HOUSEHOLD
from proactief.magda.audit import MemoryAuditSink
from proactief.schemes import Outcome, load_scheme
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.advice.conftest import make_client

pytestmark = pytest.mark.integration

GEEF_PERSOON = "Persoon.GeefPersoon-02.02"
TAX = "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00"
SCHOOL_DAY = dt.date(2026, 9, 1)
NEW_YEAR = dt.date(2026, 1, 1)

CHILD_OF = {  # child → its household's reference person (the child's Referentiepersoon in MAGDA-Mock)
    "10712995476": "84640438954",
    "15663045929": "81652315946",
    "15692423467": "87631845908",
    "14641974142": "88661177739",
}


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=5) as running:
        yield running


def enrolled(*children: str) -> CityFiles:
    return CityFiles(residents=list(children), enrolments={"2026-2027": list(children)})


def advise(sim: RunningSimulator, scheme_id: str, insz: str, d: dt.date, audit: MemoryAuditSink,
           city: CityFiles | None = None):  # type: ignore[no-untyped-def]
    with make_client(sim.base_url, audit) as client:
        return Advisor(client, load_scheme(scheme_id), city).advise_one(insz, d)


@pytest.mark.parametrize(("child", "decision", "tier", "reason"), [
    ("15663045929", Outcome.ELIGIBLE, "inkomen-midden", "INCOME_BELOW_MIDDLE_LIMIT"),
    ("15692423467", Outcome.ELIGIBLE, "inkomen-midden", "INCOME_BELOW_MIDDLE_LIMIT"),
    ("14641974142", Outcome.UNDETERMINED, None, "MAGDA_TRANSIENT"),
    ("10712995476", Outcome.NOT_ELIGIBLE, None, "NO_TAX_ASSESSMENT"),
])
def test_a_childs_onderwijskorting_is_decided_on_its_reference_persons_household(
        sim: RunningSimulator, audit: MemoryAuditSink, child: str, decision: Outcome, tier: str | None,
        reason: str) -> None:
    advice = advise(sim, "onderwijskorting", child, SCHOOL_DAY, audit, enrolled(child))
    assert advice.decision is decision, advice.reasons
    assert advice.tier == tier
    assert reason in advice.reasons
    reference = CHILD_OF[child]
    # The household's composition was asked of the reference person, once (an answer, after the repertorium
    # inscription the first question of a person triggers); the tax of the household's adults.
    answered = [c.subject for c in audit.consultations if c.service == GEEF_PERSOON and c.outcome.value == "ok"]
    assert answered.count(reference) == 1
    assert reference in {c.subject for c in audit.consultations if c.service == TAX}
    assert child not in {c.subject for c in audit.consultations if c.service == TAX}  # a minor has no assessment
    assert DECIDED_FOR_HOUSEHOLD not in advice.reasons  # the child is the subject of this scheme
    assert advice.household_reference is None


def test_the_adult_son_counts_in_the_household_income(sim: RunningSimulator, audit: MemoryAuditSink) -> None:
    advise(sim, "onderwijskorting", "10712995476", SCHOOL_DAY, audit, enrolled("10712995476"))
    taxed = {c.subject for c in audit.consultations if c.service == TAX}
    assert taxed == {"84640438954", "88681575651", "08670548333"}  # the three adults on 2026-09-01


def test_ivago_for_a_member_is_the_households_voucher_for_its_reference_person(
        sim: RunningSimulator, audit: MemoryAuditSink) -> None:
    daughter = advise(sim, "ivago-tegemoetkoming", "10712995476", NEW_YEAR, audit)
    father = advise(sim, "ivago-tegemoetkoming", "84640438954", NEW_YEAR, MemoryAuditSink())
    assert daughter.decision is Outcome.ELIGIBLE and father.decision is Outcome.ELIGIBLE
    assert daughter.amounts["waardebon"] == father.amounts["waardebon"] == Decimal("126")  # 5 persons, from 2023
    assert daughter.household_reference == "84640438954" and DECIDED_FOR_HOUSEHOLD in daughter.reasons
    assert father.household_reference is None and DECIDED_FOR_HOUSEHOLD not in father.reasons
    assert "84640438954" not in repr(daughter)


@pytest.mark.parametrize("reference", ["81652315946", "87631845908", "88661177739"])
def test_ivago_for_the_other_households(sim: RunningSimulator, audit: MemoryAuditSink, reference: str) -> None:
    # No statute and no budgetbeheer in these households: no voucher, whether asked of the member or the head.
    child = next(c for c, r in CHILD_OF.items() if r == reference)
    for subject in (reference, child):
        advice = advise(sim, "ivago-tegemoetkoming", subject, NEW_YEAR, audit)
        assert advice.decision is Outcome.NOT_ELIGIBLE, (subject, advice.reasons)


def test_a_person_scheme_never_asks_about_the_reference_person(sim: RunningSimulator,
                                                              audit: MemoryAuditSink) -> None:
    # Proportionality: the UiTPAS kansentarief is the person's own; the household is not needed.
    advice = advise(sim, "uitpas-kansentarief", "10712995476", dt.date(2026, 11, 1), audit)
    assert advice.decision is Outcome.ELIGIBLE  # BIM_BVT_IN_FAMILY, Ghent
    assert "84640438954" not in {c.subject for c in audit.consultations}


@pytest.fixture(scope="module")
def busy_head_sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=5, fault_insz={"84640438954": "99996"}) as running:
        yield running


def test_the_reference_persons_gap_is_the_households_gap(busy_head_sim: RunningSimulator,
                                                         audit: MemoryAuditSink) -> None:
    # The daughter's own answers are fine; her household cannot be read: undetermined, never a one-person household.
    advice = advise(busy_head_sim, "ivago-tegemoetkoming", "10712995476", NEW_YEAR, audit)
    assert advice.decision is Outcome.UNDETERMINED
    assert "MAGDA_TRANSIENT" in advice.reasons
    assert advice.grant is None
