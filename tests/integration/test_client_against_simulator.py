"""The production client against the real simulator: over HTTP, over HTTPS with mutual TLS, into the ledger.

Client and simulator share only the wire format (the simulator never imports the client), so these tests check
each against the other and both against the official XSDs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from proactief.ledger import make_engine, upgrade
from proactief.ledger.audit import LedgerAuditSink, consultations_about
from proactief.magda.audit import MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief_sim.simulator.pki import TestPKI, make_test_pki
from proactief_sim.simulator.testing import RunningSimulator, running_simulator

pytestmark = pytest.mark.integration

HOUSEHOLD = "84640438954"  # Ghent household: BIM_BVT, partner and son with a parking card
LEEFLOON = "86710585636"  # LIVING_WAGES_PCSA_HELP
OVERLOADED = "91610100176"  # answers 99996 "Te veel gelijktijdige bevragingen"
AFNEMER = "gent.be/proactief"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def sim(pki: TestPKI) -> Iterator[RunningSimulator]:
    with running_simulator(
        tls_port=0,
        cert_file=str(pki.server_cert),
        key_file=str(pki.server_key),
        ca_file=str(pki.ca_cert),
        require_client_cert=True,
        allowed_afnemers=frozenset({AFNEMER}),
    ) as running:
        yield running


@pytest.fixture
def fresh_sim(sim: RunningSimulator) -> RunningSimulator:
    sim.admin("POST", "reset")
    return sim


def _config(base_url: str, **extra: object) -> MagdaConfig:
    return MagdaConfig(
        base_url=base_url,
        identificatie=AFNEMER,
        hoedanigheid="ipdc2858",
        hoedanigheden={"uitpas-kansentarief": "ipdc2045"},
        backoff_base=0.0,
        backoff_cap=0.0,
        validate_requests=True,
        **extra,  # type: ignore[arg-type]
    )


def test_mutual_tls_consultation_registers_then_answers(fresh_sim: RunningSimulator, pki: TestPKI) -> None:
    assert fresh_sim.tls_url is not None
    config = _config(
        fresh_sim.tls_url, client_cert=str(pki.client_cert), client_key=str(pki.client_key), ca_bundle=str(pki.ca_cert)
    )
    audit = MemoryAuditSink()
    with MagdaClient(config, audit) as client:
        answer = client.geef_persoon(HOUSEHOLD, purpose="uitpas-kansentarief")
    assert answer.outcome is OutcomeClass.OK, answer
    assert answer.value is not None and answer.value.woont_in("44021", dt.date(2026, 11, 1))
    services = [c.service for c in audit.consultations]
    # 40003 first (not yet in the repertorium), registration, then the answer: all three are consultations
    assert services == [
        "Persoon.GeefPersoon-02.02",
        "Repertorium.RegistreerInschrijving-02.01",
        "Persoon.GeefPersoon-02.02",
    ]
    assert audit.consultations[-1].hoedanigheid == "ipdc2045"
    assert len({c.message_ref for c in audit.consultations}) == 3


def test_a_client_without_the_certificate_is_refused(fresh_sim: RunningSimulator, pki: TestPKI) -> None:
    assert fresh_sim.tls_url is not None
    with pytest.raises(requests.exceptions.ConnectionError):  # SSLError, or a reset during the handshake
        requests.post(fresh_sim.soap_url(tls=True), data=b"<x/>", verify=str(pki.ca_cert), timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):  # SSLError, or a reset during the handshake
        requests.post(
            fresh_sim.soap_url(tls=True),
            data=b"<x/>",
            verify=str(pki.ca_cert),
            cert=(str(pki.untrusted_client_cert), str(pki.untrusted_client_key)),
            timeout=10,
        )


def test_our_client_without_its_certificate_fails_loudly_as_misconfigured(
    fresh_sim: RunningSimulator, pki: TestPKI
) -> None:
    from proactief.magda.client import MagdaConfigurationError

    assert fresh_sim.tls_url is not None
    config = _config(fresh_sim.tls_url, ca_bundle=str(pki.ca_cert), max_attempts=2)
    with MagdaClient(config, MemoryAuditSink()) as client, pytest.raises(MagdaConfigurationError, match="TLS"):
        client.geef_sociaal_statuut(HOUSEHOLD, ["BIM_BVT"], dt.date(2026, 11, 1))


def test_statutes_over_http_per_name_and_date(fresh_sim: RunningSimulator) -> None:
    with MagdaClient(_config(fresh_sim.base_url), MemoryAuditSink()) as client:
        answer = client.geef_sociaal_statuut(
            LEEFLOON, ["LIVING_WAGES_PCSA_HELP", "BIM_BVT"], dt.date(2024, 6, 1), purpose="uitpas-kansentarief"
        )
    assert answer.outcome is OutcomeClass.OK, answer
    assert answer.value is not None
    leefloon = answer.value.get("LIVING_WAGES_PCSA_HELP")
    assert leefloon is not None and leefloon.geldt_op(dt.date(2024, 6, 1))


def test_overloaded_source_is_retried_then_transient(fresh_sim: RunningSimulator) -> None:
    fresh_sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": [OVERLOADED]})
    audit = MemoryAuditSink()
    with MagdaClient(_config(fresh_sim.base_url, max_attempts=3), audit) as client:
        answer = client.geef_persoon(OVERLOADED)
    assert answer.outcome is OutcomeClass.TRANSIENT
    assert answer.code == "99996"
    assert answer.attempts == 3
    assert [c.outcome for c in audit.consultations] == [OutcomeClass.TRANSIENT]


def test_a_registration_that_fails_transiently_leaves_the_answer_transient(fresh_sim: RunningSimulator) -> None:
    # The overloaded persona is also refused (99996) by the repertorium: the person is undetermined, not "unknown".
    with MagdaClient(_config(fresh_sim.base_url, max_attempts=2), MemoryAuditSink()) as client:
        answer = client.geef_persoon(OVERLOADED)
    assert answer.outcome is OutcomeClass.TRANSIENT


def test_an_unknown_afnemer_is_a_configuration_error(fresh_sim: RunningSimulator) -> None:
    from proactief.magda.client import MagdaConfigurationError

    config = _config(fresh_sim.base_url).with_changes(identificatie="elders.be/ander")
    with MagdaClient(config, MemoryAuditSink()) as client, pytest.raises(MagdaConfigurationError):
        client.geef_persoon(HOUSEHOLD)


def test_consultations_reach_the_postgresql_ledger_without_logging_insz(
    fresh_sim: RunningSimulator, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    caplog.set_level(logging.DEBUG)
    try:
        with MagdaClient(_config(fresh_sim.base_url), LedgerAuditSink(engine)) as client:
            client.geef_persoon(HOUSEHOLD, purpose="uitpas-kansentarief")
            client.geef_sociaal_statuut(HOUSEHOLD, ["BIM_BVT"], dt.date(2026, 11, 1), purpose="uitpas-kansentarief")
        rows = consultations_about(engine, HOUSEHOLD)
    finally:
        engine.dispose()
    assert [r.outcome for r in rows][-2:] == ["ok", "ok"]
    assert {r.afnemer for r in rows} == {AFNEMER}
    assert all(r.retain_until.year == r.requested_at.year + 10 for r in rows)
    assert HOUSEHOLD not in caplog.text


def test_list_service_answers_every_person(fresh_sim: RunningSimulator) -> None:
    people = [HOUSEHOLD, LEEFLOON, "44640618933"]
    fresh_sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": people})
    audit = MemoryAuditSink()
    with MagdaClient(_config(fresh_sim.base_url), audit) as client:
        answers = client.geef_sociaal_statuut_voor_lijst(
            people, ["BIM_BVT", "LIVING_WAGES_PCSA_HELP"], dt.date(2024, 6, 1)
        )
    assert {c.subject for c in audit.consultations} == set(people)
    assert answers is not None


def test_the_shipped_reference_data_is_what_the_simulator_serves(shared_magda: Path) -> None:
    # The simulator answers from the package copy; the copy equals ../shared (tests/project pins that).
    from proactief.magda.reference import testcases_root

    assert (testcases_root() / "Persoon" / "GeefPersoon" / "02.02.0000" / f"{HOUSEHOLD}.xml").is_file()
    assert (shared_magda / "testcases" / "Persoon" / "GeefPersoon" / "02.02.0000" / f"{HOUSEHOLD}.xml").is_file()
