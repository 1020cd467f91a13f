"""The platform basics: endpoints, canned answers with the caller's Context echoed, level-1 SOAP Faults."""

from __future__ import annotations

import pytest
from lxml import etree
from sim_envelopes import (
    SOAP_NS,
    codes,
    from_template,
    gezinssamenstelling,
    hand_built,
    level2_codes,
    sociaal_statuut,
    spec,
)

from proactief.magda.services import SERVICES

pytestmark = pytest.mark.integration

PERSONA = "86710585636"


def _fault(status: int, child: etree._Element) -> str:
    assert status == 500
    assert child.tag == f"{{{SOAP_NS}}}Fault"
    assert child.findtext("faultcode") == "soapenv:Client"
    return child.findtext("faultstring") or ""


def test_canned_answer_echoes_the_caller_in_context_and_referte(soap, afnemer):
    soap.register(afnemer, [PERSONA])
    status, child = soap.post(from_template("GeefPersoon", "02.02.0000", PERSONA, afnemer=afnemer,
                                            referte="my-message-ref", vraag_referte="my-question-ref",
                                            gebruiker="77050526771"))
    assert status == 200
    assert etree.QName(child).localname == "GeefPersoonResponse"
    bericht = child.find("Repliek/Context/Bericht")
    assert bericht.findtext("Type") == "ANTWOORD"
    assert bericht.findtext("Afzender/Identificatie") == "vip.vlaanderen.be"
    assert bericht.findtext("Ontvanger/Identificatie") == afnemer
    assert bericht.findtext("Ontvanger/Referte") == "my-message-ref"
    assert bericht.findtext("Ontvanger/Hoedanigheid") == "1300"
    assert bericht.findtext("Ontvanger/Gebruiker") == "77050526771"
    assert bericht.findtext("Tijdstip/Datum") != "2021-04-19"  # frozen canned time replaced by now
    assert child.findtext("Repliek/Antwoorden/Antwoord/Referte") == "my-question-ref"
    assert child.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Persoon/INSZ") == PERSONA


def test_error_persona_answers_its_canned_99996(soap, afnemer):
    soap.register(afnemer, ["91610100176"])
    status, child = soap.post(from_template("GeefPersoon", "02.02.0000", "91610100176", afnemer=afnemer))
    assert status == 200
    assert level2_codes(child) == ["99996"]


def test_every_service_is_served_on_its_own_path_and_on_the_single_endpoint(soap, sim, afnemer):
    soap.register(afnemer, [PERSONA])
    payload = gezinssamenstelling(PERSONA, afnemer=afnemer)
    s = spec("Persoon.GeefGezinssamenstelling-02.02")
    for url in (sim.soap_url(), sim.soap_url(s)):
        status, child = soap.post(payload, url)
        assert status == 200, url
        assert etree.QName(child).localname == "GeefGezinssamenstellingResponse"
    for other in SERVICES.values():  # every per-service path exists (a foreign body there is a Fault)
        status, child = soap.post(payload, sim.soap_url(other))
        if other is s:
            assert status == 200
        else:
            assert "hoort niet op dit endpoint" in _fault(status, child)


def test_request_violating_the_xsd_is_a_soap_fault(soap):
    bad = from_template("GeefPersoon", "02.02.0000", PERSONA).replace(b"<Bron>RR</Bron>", b"<Bron>RR</Bron><X/>")
    assert "GeefPersoon.xsd" in _fault(*soap.post(bad))


def test_insz_of_wrong_shape_is_a_soap_fault_not_an_uitzondering(soap):
    assert "ongeldig" in _fault(*soap.post(sociaal_statuut("1234"))).lower()


def test_unknown_service_is_a_soap_fault(soap):
    payload = hand_built("Persoon.GeefPersoon-02.02", "<Criteria><INSZ>84640438954</INSZ></Criteria>")
    payload = payload.replace(b"<Naam>GeefPersoon</Naam>", b"<Naam>GeefIetsAnders</Naam>")
    assert "Onbekende dienst" in _fault(*soap.post(payload))


def test_not_xml_and_not_soap_are_soap_faults(soap):
    assert "well-formed" in _fault(*soap.post(b"<not-xml"))
    assert "Envelope" in _fault(*soap.post(b"<Envelope/>"))


def test_single_endpoint_only_takes_post(sim, http):
    assert http.get(sim.soap_url()).status_code == 405


def test_admin_health_reports_what_is_served(sim):
    health = sim.admin("GET", "health")
    assert health["status"] == "ok"
    assert set(health["services"]) == set(SERVICES)
    assert health["persons"] == 3
    assert health["canned_cases"] > 600


def test_body_of_envelope_is_namespace_qualified_root_only(soap, afnemer):
    soap.register(afnemer, [PERSONA])
    status, child = soap.post(sociaal_statuut(PERSONA, afnemer=afnemer))
    assert status == 200
    assert etree.QName(child).namespace == spec("SocZek.GeefSociaalStatuut-03.00").namespace
    assert all(etree.QName(e).namespace is None for e in child.iter() if e is not child and isinstance(e.tag, str))
    assert codes(child) == []
