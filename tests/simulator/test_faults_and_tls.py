"""Fault injection (rates deterministic with a seed, per INSZ, at runtime) and mutual TLS."""

from __future__ import annotations

from collections import Counter

import pytest
import requests
from lxml import etree
from sim_data import make_insz
from sim_envelopes import assert_valid, body_child, level2_codes, level3_codes, sociaal_statuut

from proactief_sim.simulator.testing import running_simulator

pytestmark = pytest.mark.integration

SOAP_ACTION = {"SOAPAction": '""'}  # SOAP 1.1: required on every request
PEOPLE = [make_insz(60 + k % 30, 1 + k % 12, 1 + k % 28, 100 + k) for k in range(120)]


def _outcome(session: requests.Session, url: str, insz: str) -> str:
    r = session.post(url, data=sociaal_statuut(insz), headers=SOAP_ACTION, timeout=10)
    if r.status_code == 500 and r.headers["content-type"].startswith("text/html"):
        return "http500"
    try:
        child = body_child(r.content)
    except etree.XMLSyntaxError:
        return "malformed"
    found = level2_codes(child) + level3_codes(child)
    return found[0] if found else "ok"


def _run(url: str) -> list[str]:
    with requests.Session() as s:
        return [_outcome(s, url, insz) for insz in PEOPLE for _ in range(2)]


def test_fault_rates_are_deterministic_given_the_seed_and_settable_at_runtime():
    rates = {"99996": 0.2, "60006": 0.1, "http500": 0.05, "malformed": 0.05}
    with running_simulator(fault_rates=rates, seed=7, repertorium_check=False) as sim:
        first = _run(sim.soap_url())
        counts = Counter(first)
        n = len(first)
        assert 0.12 * n < counts["99996"] < 0.28 * n
        assert 0.04 * n < counts["60006"] < 0.16 * n
        assert counts["http500"] > 0 and counts["malformed"] > 0
        assert counts["ok"] > 0.45 * n
        assert sim.admin("GET", "faults")["injected"]["99996"] == counts["99996"]

        sim.admin("PUT", "faults", {"seed": 7})  # same seed again: the very same faults, call for call
        assert _run(sim.soap_url()) == first
        sim.admin("PUT", "faults", {"seed": 8})
        assert _run(sim.soap_url()) != first
        sim.admin("PUT", "faults", {"rates": {}})
        assert set(_run(sim.soap_url())) == {"ok"}

    with running_simulator(fault_rates=rates, seed=7, repertorium_check=False) as again:  # a fresh process too
        assert _run(again.soap_url()) == first


def test_injected_uitzonderingen_are_well_formed_magda_answers():
    busy, gone, refused = make_insz(61, 1, 1, 1), make_insz(61, 1, 1, 2), make_insz(61, 1, 1, 3)
    with running_simulator(fault_insz={busy: "99996", gone: "60006", refused: "20002"},
                           repertorium_check=False) as sim:
        b = body_child(requests.post(sim.soap_url(), data=sociaal_statuut(busy), headers=SOAP_ACTION).content)
        assert level2_codes(b) == ["99996"]
        assert b.find("Repliek/Antwoorden") is None
        g = body_child(requests.post(sim.soap_url(), data=sociaal_statuut(gone), headers=SOAP_ACTION).content)
        assert level3_codes(g) == ["60006"]
        r = body_child(requests.post(sim.soap_url(), data=sociaal_statuut(refused), headers=SOAP_ACTION).content)
        assert level3_codes(r) == ["20002"]  # a data error (quarantine), injectable for a valid number
        for child in (b, g, r):
            assert_valid("SocZek.GeefSociaalStatuut-03.00", child, strict=True)


def test_per_insz_faults_http500_malformed_and_timeout():
    h, m, t, fine = (make_insz(62, 2, 2, k) for k in (1, 2, 3, 4))
    with running_simulator(fault_insz={h: "http500", m: "malformed", t: "timeout"}, timeout_seconds=3,
                           latency_ms=20, repertorium_check=False) as sim:
        url = sim.soap_url()
        r = requests.post(url, data=sociaal_statuut(h), headers=SOAP_ACTION)
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        r = requests.post(url, data=sociaal_statuut(m), headers=SOAP_ACTION)
        assert r.status_code == 200
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(r.content)
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(url, data=sociaal_statuut(t), headers=SOAP_ACTION, timeout=0.5)
        r = requests.post(url, data=sociaal_statuut(fine), headers=SOAP_ACTION)
        assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.02  # the configured latency


def test_https_with_the_client_certificate_is_served(sim, pki):
    r = requests.post(sim.soap_url(tls=True), data=sociaal_statuut("84640438954"), headers=SOAP_ACTION,
                      verify=str(pki.ca_cert),
                      cert=(str(pki.client_cert), str(pki.client_key)), timeout=10)
    assert r.status_code == 200
    assert level3_codes(body_child(r.content)) == ["40003"]
    # per-service paths exist over HTTPS too
    r = requests.get(sim.tls_url + "/_sim/health", verify=str(pki.ca_cert),
                     cert=(str(pki.client_cert), str(pki.client_key)), timeout=10)
    assert r.json()["status"] == "ok"


@pytest.mark.parametrize("which", ["no certificate", "certificate of another CA"])
def test_https_without_a_trusted_client_certificate_is_refused(sim, pki, which):
    cert = None if which == "no certificate" else (str(pki.untrusted_client_cert), str(pki.untrusted_client_key))
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.post(sim.soap_url(tls=True), data=sociaal_statuut("84640438954"), headers=SOAP_ACTION,
                      verify=str(pki.ca_cert),
                      cert=cert, timeout=10)
