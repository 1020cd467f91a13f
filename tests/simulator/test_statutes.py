"""GeefSociaalStatuut returns only the statutes asked, "Niet van toepassing" for absent ones, honours the
asked date; GeefSociaalStatuutVoorLijst answers many persons in one call."""

from __future__ import annotations

import pytest
from sim_data import CHILD, PARENT, PARTNER, make_insz
from sim_envelopes import assert_valid, body_child, level3_codes, sociaal_statuut, voor_lijst

pytestmark = pytest.mark.integration

SINGLE = "SocZek.GeefSociaalStatuut-03.00"
LIST = "SocZek.GeefSociaalStatuutVoorLijst-02.00"
HOUSEHOLD = "88681575651"  # canned: BIM_BVT_IN_FAMILY 2024-01-01 .. 2030-01-01, with a Status
FAM = "BIM_BVT_IN_FAMILY"


def _statutes(child) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s.findtext("Naam"): s.findtext("Resultaat/Code")
            for s in child.iterfind("Repliek/Antwoorden/Antwoord/Inhoud/Persoon/SocialeStatuten/SociaalStatuut")}


def test_only_asked_statutes_are_returned_and_absent_ones_are_not_applicable(soap, afnemer):
    soap.register(afnemer, [HOUSEHOLD])
    _s, child = soap.post(sociaal_statuut(HOUSEHOLD, [(FAM, "2025-03-01"), ("PCSA_AND_BIM_HELP", "2025-03-01")],
                                          afnemer=afnemer))
    assert _statutes(child) == {FAM: "1", "PCSA_AND_BIM_HELP": "0"}
    absent = child.find(".//SociaalStatuut[Naam='PCSA_AND_BIM_HELP']")
    assert absent.findtext("Resultaat/Omschrijving") == "Niet van toepassing"
    assert absent.find("Periodes") is None
    applies = child.find(".//SociaalStatuut[Naam='BIM_BVT_IN_FAMILY']")
    assert applies.findtext("Periodes/Periode/Begindatum") == "2024-01-01"
    assert applies.findtext("Status/Code") == "SSH00047"  # the canned detail travels with the statute
    assert_valid(SINGLE, child, strict=True)


def test_statute_is_not_applicable_on_a_date_outside_its_periods(soap, afnemer):
    soap.register(afnemer, [HOUSEHOLD])
    _s, before = soap.post(sociaal_statuut(HOUSEHOLD, [(FAM, "2023-12-31")], afnemer=afnemer))
    _s, within = soap.post(sociaal_statuut(HOUSEHOLD, [(FAM, "2024-01-01")], afnemer=afnemer))
    _s, last_day = soap.post(sociaal_statuut(HOUSEHOLD, [(FAM, "2030-01-01")], afnemer=afnemer))
    _s, after = soap.post(sociaal_statuut(HOUSEHOLD, [(FAM, "2030-01-02")], afnemer=afnemer))
    assert [_statutes(c)[FAM] for c in (before, within, last_day, after)] == ["0", "1", "1", "0"]
    assert_valid(SINGLE, before, strict=True)


def test_asked_period_applies_when_it_overlaps(soap, afnemer):
    soap.register(afnemer, [HOUSEHOLD])
    _s, overlap = soap.post(sociaal_statuut(HOUSEHOLD, [(FAM, "")], period=("2023-06-01", "2024-02-01"),
                                            afnemer=afnemer))
    _s, disjoint = soap.post(sociaal_statuut(HOUSEHOLD, [(FAM, "")], period=("2022-01-01", "2022-12-31"),
                                             afnemer=afnemer))
    assert _statutes(overlap) == {FAM: "1"}
    assert _statutes(disjoint) == {FAM: "0"}


def test_unknown_person_gets_not_applicable_for_every_asked_statute(soap, afnemer):
    insz = make_insz(70, 6, 6, 606)
    soap.register(afnemer, [insz])
    _s, child = soap.post(sociaal_statuut(insz, [("BIM_BVT", "2025-01-01"), ("LIVING_WAGES_PCSA_HELP", "2025-01-01")],
                                          afnemer=afnemer))
    assert _statutes(child) == {"BIM_BVT": "0", "LIVING_WAGES_PCSA_HELP": "0"}
    assert child.findtext(".//Persoon/INSZ") == insz
    assert_valid(SINGLE, child, strict=True)


def test_statutes_of_a_store_person_follow_the_store(soap, afnemer):
    soap.register(afnemer, [PARENT])
    asked = [("BIM_BVT", "2024-06-01"), ("LIVING_WAGES_PCSA_HELP", "2024-06-01"), ("PCSA_AND_BIM_HELP", "2024-06-01")]
    _s, child = soap.post(sociaal_statuut(PARENT, asked, afnemer=afnemer))
    assert _statutes(child) == {"BIM_BVT": "1", "LIVING_WAGES_PCSA_HELP": "1", "PCSA_AND_BIM_HELP": "0"}
    _s, later = soap.post(sociaal_statuut(PARENT, [("BIM_BVT", "2025-01-01")], afnemer=afnemer))
    assert _statutes(later) == {"BIM_BVT": "0"}
    assert_valid(SINGLE, child, strict=True)


def test_list_service_answers_each_person_and_reports_the_others_per_insz(soap, sim, http, afnemer):
    unregistered = make_insz(71, 7, 7, 707)
    soap.register(afnemer, [HOUSEHOLD, PARENT, PARTNER, CHILD])
    payload = voor_lijst([HOUSEHOLD, PARENT, PARTNER, CHILD, "84640438955", unregistered],
                         [(FAM, "2024-06-01"), ("BIM_BVT", "2024-06-01")])
    r = http.post(sim.soap_url(), data=payload, headers={"X-Magda-Afnemer": afnemer, "SOAPAction": '""'})
    child = body_child(r.content)
    assert r.status_code == 200
    assert_valid(LIST, child, strict=True)
    answers = {p.findtext("INSZ"): {s.findtext("Naam"): s.findtext("Resultaat") for s in p.iter("SociaalStatuut")}
               for p in child.iterfind("Repliek/Antwoorden/Antwoord/Inhoud/Personen/Persoon")}
    assert answers == {
        HOUSEHOLD: {FAM: "1", "BIM_BVT": "0"},
        PARENT: {FAM: "0", "BIM_BVT": "1"},
        PARTNER: {FAM: "0", "BIM_BVT": "0"},
        CHILD: {FAM: "0", "BIM_BVT": "0"},
    }
    problems = {u.findtext("Annotaties/Annotatie/Waarde"): u.findtext("Identificatie")
                for u in child.iterfind("Repliek/Antwoorden/Antwoord/Uitzonderingen/Uitzondering")}
    assert problems == {"84640438955": "20002", unregistered: "40003"}
    assert set(level3_codes(child)) == {"20002", "40003"}


def test_list_service_without_afnemer_header_accepts_any_inscription(soap, sim, http):
    insz = make_insz(72, 8, 8, 808)
    payload = voor_lijst([insz], [("BIM_BVT", "2024-06-01")])
    first = http.post(sim.soap_url(), data=payload, headers={"SOAPAction": '""'})
    assert level3_codes(body_child(first.content)) == ["40003"]
    soap.register("gent.be/whoever", [insz])
    child = body_child(http.post(sim.soap_url(), data=payload, headers={"SOAPAction": '""'}).content)
    assert level3_codes(child) == []
    assert child.findtext(".//Personen/Persoon/INSZ") == insz
