"""One person whose number a service's XSD refuses is that person's data error, never the batch's failure.

The KSZ ``SsinType`` of GeefDossierHandicap takes test numbers in months 60-72 only; a number with month 81
passes the modulo-97 check (and GeefPersoon's ``INSZType``) but MAGDA answers it with a SOAP Fault. Before the
fix that fault was raised and failed ``magda.query_chunk`` for everyone in it. The client now does not send such
a number (audit row ``NOT_SENT``), and a fault that MAGDA's schema gives about the subject's number alone is that
question's data error; a fault for every question, or about anything else, still fails loudly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from proactief.magda import client as client_module
from proactief.magda.audit import NOT_SENT, SUBJECT_REFUSED, MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient, MagdaFault
from proactief.magda.config import MagdaConfig
from proactief_sim.simulator.testing import RunningSimulator, running_simulator

pytestmark = pytest.mark.integration

AFNEMER = "gent.be/proactief"
DISABILITY = "06701151393"  # canned: a disability recognition (and a vehicle)
HOUSEHOLD = "84640438954"
LEEFLOON = "86710585636"
DOSSIER = "SocZek.GeefDossierHandicap-03.00"
DAY = dt.date(2026, 11, 1)


def month_81(serial: int = 1) -> str:
    """A number with valid check digits whose month (81) the KSZ ``SsinType`` refuses."""
    base = 128115000 + serial
    return f"{base:09d}{97 - base % 97:02d}"


REFUSED = month_81()


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=3, repertorium_check=False) as running:
        yield running


def _client(sim: RunningSimulator, audit: MemoryAuditSink) -> MagdaClient:
    # validate_requests off, as in production: the whole-request check would stop the question locally anyway
    config = MagdaConfig(base_url=sim.base_url, identificatie=AFNEMER, hoedanigheid="ipdc2858", backoff_base=0.0,
                         backoff_cap=0.0, max_concurrency=4)
    return MagdaClient(config, audit)


def _batch(client: MagdaClient, people: list[str]) -> dict[str, object]:
    return dict(client.for_each(people, lambda i: client.geef_dossier_handicap(i, DAY, purpose="lez-vrijstelling")))


def test_a_number_the_ksz_schema_refuses_is_not_sent_and_the_others_are_answered(sim: RunningSimulator) -> None:
    audit = MemoryAuditSink()
    people = [DISABILITY, HOUSEHOLD, REFUSED, LEEFLOON]
    faults_before = sim.admin("GET", "state")["calls"].get(DOSSIER, 0)
    with _client(sim, audit) as client:
        answers = _batch(client, people)
    assert set(answers) == set(people)
    bad = answers[REFUSED]
    assert bad.outcome is OutcomeClass.DATA_ERROR and bad.code == NOT_SENT and bad.attempts == 0  # type: ignore[attr-defined]
    assert REFUSED not in (bad.detail or "") and REFUSED not in repr(bad)  # type: ignore[attr-defined]
    for i in (DISABILITY, HOUSEHOLD, LEEFLOON):
        assert answers[i].outcome in (OutcomeClass.OK, OutcomeClass.DEFINITIVE), (i, answers[i])  # type: ignore[attr-defined]
    assert answers[DISABILITY].value is not None  # type: ignore[attr-defined]
    # every question has its audit row; the refused one says it was never sent
    rows = {c.subject: c for c in audit.consultations}
    assert set(rows) == set(people) and len(audit.consultations) == 4
    assert (rows[REFUSED].outcome, rows[REFUSED].code, rows[REFUSED].duration_ms) == (
        OutcomeClass.DATA_ERROR, NOT_SENT, 0)
    assert rows[REFUSED].question_ref == bad.question_ref and rows[REFUSED].hoedanigheid == "ipdc2858"  # type: ignore[attr-defined]
    # MAGDA saw three questions, not four
    assert sim.admin("GET", "state")["calls"].get(DOSSIER, 0) - faults_before == 3


def test_magdas_schema_fault_about_the_subject_alone_is_that_questions_data_error(
        sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if MAGDA's schema were stricter than our copy: the number goes out and comes back as a SOAP Fault.
    monkeypatch.setattr(client_module, "subject_check", lambda spec: None)
    audit = MemoryAuditSink()
    with _client(sim, audit) as client:
        answers = _batch(client, [DISABILITY, REFUSED, HOUSEHOLD])
    bad = answers[REFUSED]
    assert (bad.outcome, bad.code) == (OutcomeClass.DATA_ERROR, SUBJECT_REFUSED)  # type: ignore[attr-defined]
    assert REFUSED not in (bad.detail or "")  # type: ignore[attr-defined]
    assert answers[DISABILITY].outcome is OutcomeClass.OK  # type: ignore[attr-defined]
    assert answers[HOUSEHOLD].outcome in (OutcomeClass.OK, OutcomeClass.DEFINITIVE)  # type: ignore[attr-defined]
    assert {c.subject: c.code for c in audit.consultations}[REFUSED] == SUBJECT_REFUSED


def test_the_same_fault_for_every_question_still_fails_the_task(sim: RunningSimulator,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "subject_check", lambda spec: None)
    audit = MemoryAuditSink()
    refused = [month_81(n) for n in range(1, 16)]
    with _client(sim, audit) as client, pytest.raises(MagdaFault) as raised:
        for i in refused:
            client.geef_dossier_handicap(i, DAY)
    assert not any(i in str(raised.value) for i in refused)
    assert len(audit.consultations) == client_module._SYSTEMIC_SUBJECT_FAULTS + 1  # the raising one is audited
    # an answered question in between starts the count again
    with _client(sim, MemoryAuditSink()) as client:
        for n, i in enumerate(refused + refused):
            if n % 5 == 0:
                client.geef_dossier_handicap(DISABILITY, DAY)
            assert client.geef_dossier_handicap(i, DAY).outcome is OutcomeClass.DATA_ERROR


def test_a_fault_about_something_else_is_still_raised(sim: RunningSimulator) -> None:
    """A malformed request (here: another service's endpoint) is a bug: level 1, fail loudly."""
    config = MagdaConfig(base_url=sim.base_url, identificatie=AFNEMER, hoedanigheid="ipdc2858",
                         endpoints={DOSSIER: f"{sim.base_url}/GeefPersoonDienst-02.02/soap/WebService"})
    with MagdaClient(config, MemoryAuditSink()) as client, pytest.raises(MagdaFault):
        client.geef_dossier_handicap(DISABILITY, DAY)
