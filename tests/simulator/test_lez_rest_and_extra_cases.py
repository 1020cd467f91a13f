"""LEZ registrations kept and read back and ended; the REST vehicle mocks; extra canned cases searched first."""

from __future__ import annotations

import uuid

import pytest
from lxml import etree
from sim_data import CANNED_FAULT_PERSON, EXTRA_STATUTE_PERSON, PARENT, STORE_PLATE
from sim_envelopes import (
    assert_valid,
    from_template,
    level3_codes,
    lez_geef,
    lez_registreer,
    lez_verwijder,
    sociaal_statuut,
)

pytestmark = pytest.mark.integration

VRIJSTELLING = ("<Vrijstellingen><Vrijstelling><Reden>PARKINGCARD</Reden><Periode><Begin>2025-01-01</Begin>"
                "<Einde>2025-12-31</Einde></Periode></Vrijstelling></Vrijstellingen>")


def _plate() -> str:
    return "1" + uuid.uuid4().hex[:6].upper()


def test_lez_exemption_is_registered_read_back_and_ended(soap):
    plate, ref = _plate(), f"lez-{uuid.uuid4().hex[:8]}"
    _s, none = soap.post(lez_geef(plate))
    assert level3_codes(none) == ["30001"]
    assert_valid("Milieu.GeefLEZGegevens-02.00", none, strict=True)

    _s, reg = soap.post(lez_registreer(plate, VRIJSTELLING, vraag_referte=ref))
    assert reg.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Resultaat") == "1"
    assert_valid("Milieu.RegistreerLEZGegevens-02.00", reg, strict=True)
    _s, roet = soap.post(lez_registreer(plate, "<Roetfilter><Datum>2024-05-01</Datum></Roetfilter>"))
    assert roet.findtext(".//Resultaat") == "1"

    _s, read = soap.post(lez_geef(plate))
    assert_valid("Milieu.GeefLEZGegevens-02.00", read, strict=True)
    lez = read.find("Repliek/Antwoorden/Antwoord/Inhoud/LEZGegevens")
    assert lez.findtext("Nummerplaat") == plate
    v = lez.find("Vrijstellingen/Vrijstelling")
    assert (v.findtext("Reden"), v.findtext("Periode/Begin"), v.findtext("Periode/Einde")) == \
        ("PARKINGCARD", "2025-01-01", "2025-12-31")
    assert (v.findtext("Referte"), v.findtext("Bron")) == (ref, "GENT")
    assert lez.findtext("Roetfilters/Roetfilter/Datum") == "2024-05-01"

    _s, gone = soap.post(lez_verwijder(plate, [ref]))
    assert gone.findtext(".//Resultaat") == "1"
    assert_valid("Milieu.VerwijderLEZGegevens-02.00", gone, strict=True)
    _s, after = soap.post(lez_geef(plate))
    assert after.find(".//Vrijstellingen") is None
    assert after.findtext(".//Roetfilters/Roetfilter/Datum") == "2024-05-01"

    _s, unknown = soap.post(lez_verwijder(plate, ["never-registered"]))
    assert unknown.findtext(".//Resultaat") == "0" and level3_codes(unknown) == ["30001"]
    _s, all_gone = soap.post(lez_verwijder(plate, []))  # nothing named: end all of this source
    assert all_gone.findtext(".//Resultaat") == "1"
    _s, empty = soap.post(lez_geef(plate))
    assert level3_codes(empty) == ["30001"]


def test_lez_state_counts_in_admin(soap, sim):
    before = sim.admin("GET", "state")["lez"]["entries"]
    soap.post(lez_registreer(_plate(), VRIJSTELLING))
    assert sim.admin("GET", "state")["lez"]["entries"] == before + 1


def test_vehicle_by_plate_from_the_canned_rest_files(sim, http):
    r = http.get(f"{sim.base_url}/v1/mobility/registrations", params={"plateNr": "1GBR791"})
    assert r.status_code == 200
    item = r.json()["items"][0]
    assert item["titular"]["person"]["nationalNr"]["identificator"] == "06701151393"


def test_unknown_plate_answers_the_mock_no_content(sim, http):
    r = http.get(f"{sim.base_url}/v1/mobility/registrations", params={"plateNr": "0NOPE00"})
    assert (r.status_code, r.content) == (204, b"")


def test_vehicles_by_national_number_from_files_and_store(sim, http):
    canned = http.get(f"{sim.base_url}/v1/mobility/registrations", params={"nationalNr": "06701151393"}).json()
    assert [i["license"]["plateNr"] for i in canned["items"]] == ["1GBR791"]
    stored = http.get(f"{sim.base_url}/v1/mobility/registrations", params={"nationalNr": PARENT}).json()
    assert stored["total"] == 1
    item = stored["items"][0]
    assert (item["license"]["plateNr"], item["license"]["status"]["code"]) == (STORE_PLATE, "REG")
    assert item["titular"]["person"]["lastName"] == ["Peeters"]
    assert item["titular"]["contactInfo"]["address"]["cityNisCode"] == "44021"
    by_plate = http.get(f"{sim.base_url}/v1/mobility/registrations", params={"plateNr": STORE_PLATE}).json()
    assert by_plate["items"][0]["titular"]["person"]["nationalNr"]["identificator"] == PARENT
    nobody = http.get(f"{sim.base_url}/v1/mobility/registrations", params={"nationalNr": "00000000097"})
    assert nobody.status_code == 204


def test_other_rest_mappings_titular_and_disability_dossiers(sim, http):
    base = sim.base_url
    assert http.get(f"{base}/v1/mobility/registrationsTitular", params={"plateNr": "1ABC123"}).status_code == 200
    assert http.get(f"{base}/v1/mobility/registrationsTitular", params={"vin": "XX0X0XXXXXX000000"}).status_code == 200
    assert http.get(f"{base}/v1/mobility/registrationsTitular", params={"plateNr": "9ZZZ999"}).status_code == 204
    dossier = http.get(f"{base}/v1/socZek/handicap/volledigeDossiers", params={"rrnr": "19421120002"})
    assert dossier.status_code == 200 and dossier.json()["persoonsgegevens"]["achternaam"] == "Biden"
    assert http.get(f"{base}/v1/socZek/handicap/volledigeDossiers", params={"rrnr": "1"}).status_code == 404


def test_extra_testcases_folder_is_searched_before_the_shipped_cases(soap, afnemer):
    soap.register(afnemer, [EXTRA_STATUTE_PERSON])
    _s, child = soap.post(sociaal_statuut(EXTRA_STATUTE_PERSON, [("EXTRA_FROM_TESTCASES", "2025-01-01"),
                                                                 ("BIM_BVT", "2025-01-01")], afnemer=afnemer))
    codes = {s.findtext("Naam"): s.findtext("Resultaat/Code") for s in child.iter("SociaalStatuut")}
    assert codes == {"EXTRA_FROM_TESTCASES": "1", "BIM_BVT": "0"}
    _s, persoon = soap.post(from_template("GeefPersoon", "02.02.0000", EXTRA_STATUTE_PERSON, afnemer=afnemer))
    assert level3_codes(persoon) == ["30001"]  # the extra folder's copy of notfound.xml, not the shipped person


def test_canned_soap_fault_case_is_served_as_a_fault(soap, afnemer):
    soap.register(afnemer, [CANNED_FAULT_PERSON])
    status, child = soap.post(from_template("GeefPersoon", "02.02.0000", CANNED_FAULT_PERSON, afnemer=afnemer))
    assert status == 500
    assert etree.QName(child).localname == "Fault"
    assert child.findtext("faultstring") == "faultstring"
