"""The MAGDA test personas through the real simulator: the decisions SCHEMES.md implies, asked in stages.

Expected outcomes come from the personas' canned files (GeefPersoon: main residence NIS code; GeefSociaalStatuut:
the statutes), not from assumptions: 84640438954 lives in Gent (44021) with BIM_BVT, 86710585636 has
LIVING_WAGES_PCSA_HELP, 44640618933 PCSA_AND_BIM_HELP, 73640618960 lives in 9070 Destelbergen (NIS 44013),
91610100176 answers 99996 everywhere (even to the repertorium registration).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from proactief.advice import Advisor
from proactief.advice.cli import EXIT_USAGE, advise_cli
from proactief.magda.audit import MemoryAuditSink
from proactief.magda.config import MagdaConfig
from proactief.schemes import Outcome, load_scheme
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.advice.conftest import AFNEMER, make_client

pytestmark = pytest.mark.integration

RUN = dt.date(2026, 11, 1)
GEEF_PERSOON = "Persoon.GeefPersoon-02.02"
STATUUT = "SocZek.GeefSociaalStatuut-03.00"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=5) as running:  # canned personas; repertorium check on (auto-registration)
        yield running


def advise(sim: RunningSimulator, scheme_id: str, insz: str, audit: MemoryAuditSink):  # type: ignore[no-untyped-def]
    scheme = load_scheme(scheme_id)
    with make_client(sim.base_url, audit) as client:
        return Advisor(client, scheme).advise_one(insz, scheme.reference_date_for(RUN))


def services_for(audit: MemoryAuditSink, insz: str) -> list[str]:
    return [c.service for c in audit.consultations if c.subject == insz]


@pytest.mark.parametrize(
    ("insz", "statute"),
    [("84640438954", "BIM_BVT"), ("86710585636", "LIVING_WAGES_PCSA_HELP"), ("44640618933", "PCSA_AND_BIM_HELP")],
)
def test_uitpas_eligible_personas(sim: RunningSimulator, audit: MemoryAuditSink, insz: str, statute: str) -> None:
    advice = advise(sim, "uitpas-kansentarief", insz, audit)
    assert advice.decision is Outcome.ELIGIBLE
    assert "RESIDENT_GHENT" in advice.reasons and f"STATUTE_{statute}" in advice.reasons
    assert advice.grant is not None and advice.grant.valid_until == dt.date(2026, 12, 31)
    asked = services_for(audit, insz)
    # Residence first, then one statute question: exactly the two services the scheme allows (plus the
    # repertorium registration the first question triggers).
    assert GEEF_PERSOON in asked and STATUUT in asked
    assert set(asked) <= {GEEF_PERSOON, STATUUT, "Repertorium.RegistreerInschrijving-02.01"}
    assert advice.consultation_count == 2
    assert insz not in repr(advice)


def test_ivago_household_of_the_ghent_persona(sim: RunningSimulator, audit: MemoryAuditSink) -> None:
    advice = advise(sim, "ivago-tegemoetkoming", "84640438954", audit)
    assert advice.decision is Outcome.ELIGIBLE
    assert advice.amounts["waardebon"] == advice.amount and advice.amounts["inzamelkrediet"] * 2 == advice.amount
    assert "STATUTE_BIM_BVT_IN_HOUSEHOLD" in advice.reasons


def test_non_resident_is_decided_without_asking_ksz(sim: RunningSimulator, audit: MemoryAuditSink) -> None:
    advice = advise(sim, "uitpas-kansentarief", "73640618960", audit)  # 9070 Destelbergen, NIS 44013
    assert advice.decision is Outcome.NOT_ELIGIBLE
    assert advice.reasons == ("NOT_RESIDENT_GHENT",)
    assert STATUUT not in services_for(audit, "73640618960")
    assert {s.outcome.value for s in advice.trace if s.criterion.startswith("statute")} == {"not_asked"}


@pytest.mark.parametrize("scheme_id", ["uitpas-kansentarief", "ivago-tegemoetkoming", "lez-vrijstelling"])
def test_magda_busy_persona_is_undetermined(sim: RunningSimulator, audit: MemoryAuditSink, scheme_id: str) -> None:
    advice = advise(sim, scheme_id, "91610100176", audit)
    assert advice.decision is Outcome.UNDETERMINED
    assert "MAGDA_TRANSIENT" in advice.reasons


@pytest.mark.parametrize("scheme_id", ["uitpas-kansentarief", "ivago-tegemoetkoming"])
def test_new_insz_persona_gets_no_decision_even_where_ksz_says_no(sim: RunningSimulator, audit: MemoryAuditSink,
                                                                  scheme_id: str) -> None:
    # 75680836687: GeefPersoon answers WAARSCHUWING 30004 (the person has a new INSZ). KSZ knows no statute under
    # the old number, which alone would refuse UiTPAS: MAGDA.md says no decision, so the record is quarantined.
    advice = advise(sim, scheme_id, "75680836687", audit)
    assert advice.decision is Outcome.UNDETERMINED
    assert advice.reasons == ("MAGDA_DATA_ERROR",)
    assert advice.grant is None and advice.tier is None
    assert "MAGDA_TRANSIENT" not in {s.reason for s in advice.trace}
    resident = next(s for s in advice.trace if s.criterion.startswith("ghent_resident"))
    assert (resident.outcome.value, resident.reason) == ("unknown", "MAGDA_DATA_ERROR")


@pytest.fixture(scope="module")
def refusing_sim() -> Iterator[RunningSimulator]:
    # 20002 for every question about one member of the eligible Ghent persona's household
    with running_simulator(seed=5, fault_insz={MEMBER: "20002"}) as running:
        yield running


MEMBER = "88681575651"  # a Gezinslid of 84640438954 in the canned GeefPersoon


def test_a_data_error_about_the_subject_is_quarantined_not_refused(refusing_sim: RunningSimulator,
                                                                   audit: MemoryAuditSink) -> None:
    with make_client(refusing_sim.base_url, audit) as client:
        advisor = Advisor(client, "uitpas-kansentarief")
        advice = advisor.advise_one(MEMBER, RUN)
    assert advice.decision is Outcome.UNDETERMINED
    assert advice.reasons == ("MAGDA_DATA_ERROR",)
    assert advisor.stats.data_errors == 1
    assert {c.outcome.value for c in audit.consultations if c.subject == MEMBER} == {"data_error"}


def test_a_household_members_data_error_leaves_an_eligible_subject_eligible(refusing_sim: RunningSimulator,
                                                                            audit: MemoryAuditSink) -> None:
    advice = advise(refusing_sim, "ivago-tegemoetkoming", "84640438954", audit)
    assert advice.decision is Outcome.ELIGIBLE
    assert "MAGDA_DATA_ERROR" not in advice.reasons


def test_cli_json(sim: RunningSimulator) -> None:
    config = MagdaConfig(identificatie=AFNEMER, backoff_base=0.0, backoff_cap=0.0)
    code, text = advise_cli("uitpas-kansentarief", "84640438954", "2026-11-01", sim.base_url, True, config=config)
    assert code == 0, text
    out = json.loads(text)
    assert out["scheme"] == "uitpas-kansentarief" and out["decision"] == "eligible"
    assert "STATUTE_BIM_BVT" in out["reasons"] and out["rule_version"]
    assert out["trace"] and all("value" not in step for step in out["trace"])
    assert "84640438954" not in text
    code, text = advise_cli("uitpas-kansentarief", "73640618960", "2026-11-01", sim.base_url, False, config=config)
    assert code == 0 and "not_eligible" in text and "NOT_RESIDENT_GHENT" in text


@pytest.mark.parametrize("bad", ["84640438955", "8464043895", "abc"])
def test_cli_invalid_insz(bad: str) -> None:
    code, text = advise_cli("uitpas-kansentarief", bad, "2026-11-01", "http://127.0.0.1:9", True)
    assert code == EXIT_USAGE and "invalid INSZ" in text


def test_cli_unknown_scheme() -> None:
    code, text = advise_cli("nope", "84640438954", "2026-11-01", "http://127.0.0.1:9", True)
    assert code == EXIT_USAGE and "unknown scheme" in text
