"""The stateful repertorium (40003 until registered, 40143 on a second inscription, uitschrijving) and the
mutation queue read with the Ontvangstreferte cursor (30016 nothing pending, 30014 invalid reference)."""

from __future__ import annotations

import pytest
from sim_data import PARENT, make_insz, population
from sim_envelopes import (
    aanslagbiljet,
    assert_valid,
    from_template,
    gezinssamenstelling,
    leefloon,
    level2_codes,
    level3_codes,
    mutaties,
    registreer_inschrijving,
    registreer_uitschrijving,
    sociaal_statuut,
)

from proactief_sim.simulator.population import person_to_json

pytestmark = pytest.mark.integration

PERSONA = "86710585636"
REG = "Repertorium.RegistreerInschrijving-02.01"
UNREG = "Repertorium.RegistreerUitschrijving-02.01"
MUT = "Persoon.GeefPersoonMutatiesNotificaties-02.00"


@pytest.mark.parametrize("payload", [
    lambda a: from_template("GeefPersoon", "02.02.0000", PERSONA, afnemer=a),
    lambda a: gezinssamenstelling(PERSONA, afnemer=a),
    lambda a: sociaal_statuut(PERSONA, afnemer=a),
    lambda a: from_template("GeefDossierHandicap", "03.00.0000", PERSONA, afnemer=a),
    lambda a: aanslagbiljet(PERSONA, 2024, afnemer=a),
    lambda a: leefloon(PERSONA, 2024, afnemer=a),
], ids=["GeefPersoon", "GeefGezinssamenstelling", "GeefSociaalStatuut", "GeefDossierHandicap",
        "GeefAanslagbiljetPersonenbelasting", "GeefLeefloonbedragen"])
def test_person_services_answer_40003_until_the_afnemer_registered_the_person(soap, afnemer, payload):
    _status, before = soap.post(payload(afnemer))
    assert level3_codes(before) == ["40003"]
    _status, other = soap.post(payload("gent.be/someone-else"))
    assert "40003" in level3_codes(other)

    status, reg = soap.post(registreer_inschrijving(PERSONA, afnemer=afnemer))
    assert status == 200 and reg.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Resultaat") == "1"
    _status, after = soap.post(payload(afnemer))
    assert "40003" not in level3_codes(after)


def test_second_inscription_warns_40143_and_still_succeeds(soap, afnemer):
    insz = make_insz(77, 1, 2, 401)
    _s, first = soap.post(registreer_inschrijving(insz, afnemer=afnemer, vraag_referte="reg-1"))
    assert level3_codes(first) == [] and level2_codes(first) == []
    assert first.findtext("Repliek/Antwoorden/Antwoord/Referte") == "reg-1"
    _s, second = soap.post(registreer_inschrijving(insz, afnemer=afnemer))
    assert level3_codes(second) == ["40143"]
    u = second.find("Repliek/Antwoorden/Antwoord/Uitzonderingen/Uitzondering")
    assert u.findtext("Type") == "WAARSCHUWING"
    assert second.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Resultaat") == "1"
    assert_valid(REG, first)
    assert_valid(REG, second)


def test_uitschrijving_ends_access_and_a_second_one_fails(soap, afnemer):
    insz = make_insz(77, 1, 2, 402)
    soap.post(registreer_inschrijving(insz, afnemer=afnemer))
    _s, ok = soap.post(sociaal_statuut(insz, afnemer=afnemer))
    assert level3_codes(ok) == []
    _s, out = soap.post(registreer_uitschrijving(insz, afnemer=afnemer))
    assert out.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Resultaat") == "1"
    assert_valid(UNREG, out)
    _s, refused = soap.post(sociaal_statuut(insz, afnemer=afnemer))
    assert level3_codes(refused) == ["40003"]
    _s, again = soap.post(registreer_uitschrijving(insz, afnemer=afnemer))
    assert again.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Resultaat") == "0"
    assert level3_codes(again) == ["40003"]
    assert_valid(UNREG, again)


def test_inscription_with_an_invalid_insz_gets_20002(soap, afnemer):
    _s, child = soap.post(registreer_inschrijving("84640438955", afnemer=afnemer))
    assert level3_codes(child) == ["20002"]
    assert_valid(REG, child)


def test_expired_inscription_does_not_count(soap, afnemer):
    insz = make_insz(77, 1, 2, 403)
    soap.post(registreer_inschrijving(insz, afnemer=afnemer, begin="2020-01-01", end="2020-12-31"))
    _s, child = soap.post(sociaal_statuut(insz, afnemer=afnemer))
    assert level3_codes(child) == ["40003"]


def test_repertorium_counts_are_visible_in_admin_state(soap, sim, afnemer):
    soap.post(registreer_inschrijving([make_insz(77, 1, 2, 404), make_insz(77, 1, 2, 405)], afnemer=afnemer))
    assert sim.admin("GET", "state")["repertorium"]["afnemers"][afnemer] == 2


def test_mutation_queue_is_read_with_the_receipt_cursor(soap, sim, afnemer):
    a, b, c = make_insz(66, 2, 3, 501), make_insz(66, 2, 3, 502), make_insz(66, 2, 3, 503)
    _s, empty = soap.post(mutaties(afnemer=afnemer))
    assert level3_codes(empty) == ["30016"]
    assert_valid(MUT, empty)

    soap.post(registreer_inschrijving([a, b], afnemer=afnemer))
    assert sim.admin("POST", "mutations", {"insz": [a, b, c]})["queued"] == 2  # c is registered by nobody

    _s, batch = soap.post(mutaties(afnemer=afnemer))
    assert level3_codes(batch) == []
    assert_valid(MUT, batch)
    ref = batch.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Ontvangstreferte")
    assert ref
    changed = {o.findtext("Inhoud/PersoonMutatiesNotificaties/INSZ") for o in batch.iterfind(".//Onderwerp")}
    assert changed == {a, b}

    _s, again = soap.post(mutaties(afnemer=afnemer))  # no receipt: the unacknowledged batch again
    assert again.findtext(".//Ontvangstreferte") == ref

    _s, done = soap.post(mutaties(ref, afnemer=afnemer))  # acknowledge: nothing left
    assert level3_codes(done) == ["30016"]

    _s, bogus = soap.post(mutaties("not-a-receipt", afnemer=afnemer))
    assert level3_codes(bogus) == ["30014"]
    assert_valid(MUT, bogus)
    assert sim.admin("GET", "state")["mutations"][afnemer] == {"pending": 0, "unacknowledged": 0}


def test_changing_a_person_in_the_store_notifies_registered_afnemers(soap, sim, afnemer):
    soap.register(afnemer, [PARENT])
    record = person_to_json(population()[0])
    assert sim.admin("POST", "population", {"person": record})["queued"] >= 1
    _s, batch = soap.post(mutaties(afnemer=afnemer))
    assert [o.findtext("Inhoud/PersoonMutatiesNotificaties/INSZ") for o in batch.iterfind(".//Onderwerp")] == [PARENT]
    soap.post(mutaties(batch.findtext(".//Ontvangstreferte"), afnemer=afnemer))
