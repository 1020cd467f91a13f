"""Every answer the simulator synthesises (not the canned pass-through ones) validates against the service's
official response XSD. The shared server also self-validates (``--validate-responses``), so an invalid
answer would surface here as a SOAP Fault as well."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sim_data import CHILD, PARENT, PARTNER, make_insz
from sim_envelopes import (
    aanslagbiljet,
    assert_valid,
    from_template,
    gezinssamenstelling,
    leefloon,
    lez_geef,
    lez_registreer,
    lez_verwijder,
    mutaties,
    registreer_inschrijving,
    registreer_uitschrijving,
    sociaal_statuut,
    voor_lijst,
)

pytestmark = pytest.mark.integration

FOREIGN_CAR = ("<BuitenlandsVoertuig><DatumLokaleRegistratieVoertuig>2020-01-01</DatumLokaleRegistratieVoertuig>"
               "<Euronorm>6</Euronorm><DatumEersteInschrijving>2019-05-05</DatumEersteInschrijving>"
               "</BuitenlandsVoertuig>")

Scenario = Callable[[str], bytes]
SCENARIOS: dict[str, tuple[str, Scenario, bool]] = {
    # id: (service key, request for afnemer, register the subject first)
    "20002": ("Persoon.GeefPersoon-02.02", lambda a: from_template("GeefPersoon", "02.02.0000", "84640438955",
                                                                   afnemer=a), False),
    "40003": ("SocZek.GeefLeefloonbedragen-02.00", lambda a: leefloon(PARENT, 2024, afnemer=a), False),
    "store GeefPersoon reference person": ("Persoon.GeefPersoon-02.02",
                                           lambda a: from_template("GeefPersoon", "02.02.0000", PARENT, afnemer=a),
                                           True),
    "store GeefPersoon partner": ("Persoon.GeefPersoon-02.02",
                                  lambda a: from_template("GeefPersoon", "02.02.0000", PARTNER, afnemer=a), True),
    "store GeefGezinssamenstelling": ("Persoon.GeefGezinssamenstelling-02.02",
                                      lambda a: gezinssamenstelling(CHILD, afnemer=a), True),
    "store GeefDossierHandicap with cards": ("SocZek.GeefDossierHandicap-03.00",
                                             lambda a: from_template("GeefDossierHandicap", "03.00.0000", PARENT,
                                                                     afnemer=a), True),
    "store GeefDossierHandicap without cards": ("SocZek.GeefDossierHandicap-03.00",
                                                lambda a: from_template("GeefDossierHandicap", "03.00.0000", PARTNER,
                                                                        afnemer=a), True),
    "store aanslagbiljet": ("Inkomen.GeefAanslagbiljetPersonenbelasting-02.00",
                            lambda a: aanslagbiljet(PARENT, 2024, afnemer=a), True),
    "store aanslagbiljet 45008": ("Inkomen.GeefAanslagbiljetPersonenbelasting-02.00",
                                  lambda a: aanslagbiljet(PARENT, 2021, afnemer=a), True),
    "store leefloon": ("SocZek.GeefLeefloonbedragen-02.00", lambda a: leefloon(PARENT, 2024, afnemer=a), True),
    "store statutes": ("SocZek.GeefSociaalStatuut-03.00",
                       lambda a: sociaal_statuut(PARENT, [("BIM_BVT", "2024-03-03"), ("X", "2024-03-03")], afnemer=a),
                       True),
    "canned statutes filtered": ("SocZek.GeefSociaalStatuut-03.00",
                                 lambda a: sociaal_statuut("86710585636", [("LIVING_WAGES_PCSA_HELP", "2025-01-01")],
                                                           afnemer=a), True),
    "list": ("SocZek.GeefSociaalStatuutVoorLijst-02.00",
             lambda a: voor_lijst([PARENT, "86710585636", "84640438955"], [("BIM_BVT", "2024-05-05")]), True),
    "list all refused": ("SocZek.GeefSociaalStatuutVoorLijst-02.00",
                         lambda a: voor_lijst(["84640438955"], [("BIM_BVT", "2024-05-05")]), False),
    "inschrijving": ("Repertorium.RegistreerInschrijving-02.01",
                     lambda a: registreer_inschrijving(make_insz(68, 8, 8, 881), afnemer=a), False),
    "inschrijving 40143": ("Repertorium.RegistreerInschrijving-02.01",
                           lambda a: registreer_inschrijving(PARENT, afnemer=a), True),
    "uitschrijving": ("Repertorium.RegistreerUitschrijving-02.01",
                      lambda a: registreer_uitschrijving(PARENT, afnemer=a), True),
    "uitschrijving 40003": ("Repertorium.RegistreerUitschrijving-02.01",
                            lambda a: registreer_uitschrijving(PARENT, afnemer=a), False),
    "mutaties 30016": ("Persoon.GeefPersoonMutatiesNotificaties-02.00", lambda a: mutaties(afnemer=a), False),
    "mutaties 30014": ("Persoon.GeefPersoonMutatiesNotificaties-02.00", lambda a: mutaties("nope", afnemer=a), True),
    "lez registreer": ("Milieu.RegistreerLEZGegevens-02.00", lambda a: lez_registreer("1VAL001", FOREIGN_CAR), False),
    "lez verwijder unknown": ("Milieu.VerwijderLEZGegevens-02.00", lambda a: lez_verwijder("1VAL002", ["x"]), False),
    "lez geef 30001": ("Milieu.GeefLEZGegevens-02.00", lambda a: lez_geef("1VAL003"), False),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_synthesised_answer_validates_against_the_response_xsd(soap, sim, http, afnemer, name):
    key, build, register = SCENARIOS[name]
    if register:
        soap.register(afnemer, [PARENT, PARTNER, CHILD, "86710585636"])
    status, child = soap.post(build(afnemer), **{"X-Magda-Afnemer": afnemer})
    assert status == 200, child
    assert_valid(key, child, strict=True)


def test_mutation_batch_and_lez_read_back_validate(soap, sim, afnemer):
    soap.register(afnemer, [PARENT])
    sim.admin("POST", "mutations", {"insz": [PARENT]})
    _s, batch = soap.post(mutaties(afnemer=afnemer))
    assert batch.find(".//Onderwerpen/Onderwerp") is not None
    assert_valid("Persoon.GeefPersoonMutatiesNotificaties-02.00", batch, strict=True)

    plate = "1V" + uuid.uuid4().hex[:5].upper()
    soap.post(lez_registreer(plate, FOREIGN_CAR))
    soap.post(lez_registreer(plate, "<CorrectieEuronorm><Datum>2021-01-01</Datum><Euronorm>6</Euronorm>"
                                    "</CorrectieEuronorm>"))
    _s, read = soap.post(lez_geef(plate))
    assert read.find(".//BuitenlandseVoertuigen/BuitenlandsVoertuig/Referte") is not None
    assert read.find(".//CorrectieEuronormen/CorrectieEuronorm/Euronorm") is not None
    assert_valid("Milieu.GeefLEZGegevens-02.00", read, strict=True)
