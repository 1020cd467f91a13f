"""Level-2 refusal of an afnemer that is not allowed (13001), level-3 refusal of a bad INSZ (20002)."""

from __future__ import annotations

import pytest
import requests
from sim_data import make_insz
from sim_envelopes import (
    assert_valid,
    body_child,
    from_template,
    level2_codes,
    level3_codes,
    sociaal_statuut,
    voor_lijst,
)

from proactief_sim.simulator.testing import running_simulator

pytestmark = pytest.mark.integration

ALLOWED = "gent.be/allowed"


def test_afnemer_not_on_the_allow_list_gets_13001_and_allowed_one_is_served():
    with running_simulator(allowed_afnemers={ALLOWED}, repertorium_check=False) as sim:
        refused = requests.post(sim.soap_url(), data=sociaal_statuut("84640438954", afnemer="gent.be/other"),
                                headers={"SOAPAction": '""'})
        child = body_child(refused.content)
        assert refused.status_code == 200
        assert level2_codes(child) == ["13001"]
        u = child.find("Repliek/Uitzonderingen/Uitzondering")
        assert (u.findtext("Oorsprong"), u.findtext("Type")) == ("MAGDA", "FOUT")
        assert u.findtext("Diagnose")
        assert child.find("Repliek/Antwoorden") is None
        assert_valid("SocZek.GeefSociaalStatuut-03.00", child)

        served = body_child(requests.post(sim.soap_url(), data=sociaal_statuut("84640438954", afnemer=ALLOWED),
                                                  headers={"SOAPAction": '""'}).content)
        assert level2_codes(served) == [] and level3_codes(served) == []

        # The list service has no Context: the afnemer it names in X-Magda-Afnemer is checked.
        listed = body_child(requests.post(sim.soap_url(), data=voor_lijst(["84640438954"], [("BIM_BVT", "2025-01-01")]),
                                          headers={"X-Magda-Afnemer": "gent.be/other", "SOAPAction": '""'}).content)
        assert level2_codes(listed) == ["13001"]
        assert_valid("SocZek.GeefSociaalStatuutVoorLijst-02.00", listed)


@pytest.mark.parametrize("insz", ["84640438955", "84640438900", "85133212345"])
def test_insz_with_bad_check_digits_or_impossible_day_gets_20002(soap, afnemer, insz):
    status, child = soap.post(from_template("GeefPersoon", "02.02.0000", insz, afnemer=afnemer))
    assert status == 200
    assert level3_codes(child) == ["20002"]
    u = child.find("Repliek/Antwoorden/Antwoord/Uitzonderingen/Uitzondering")
    assert (u.findtext("Oorsprong"), u.findtext("Type")) == ("MAGDA", "FOUT")
    assert_valid("Persoon.GeefPersoon-02.02", child)


@pytest.mark.parametrize("offset", [0, 20, 40, 60, 80], ids=["rijksregister", "bis+20", "bis+40", "tst", "tst-bis"])
def test_valid_rijksregister_bis_and_test_numbers_are_accepted(soap, afnemer, offset):
    insz = make_insz(75, 4, 12, 321, month_offset=offset)
    soap.register(afnemer, [insz])
    status, child = soap.post(sociaal_statuut(insz, [("BIM_BVT", "2025-01-01")], afnemer=afnemer))
    assert status == 200
    assert level3_codes(child) == []
    assert child.findtext("Repliek/Antwoorden/Antwoord/Inhoud/Persoon/INSZ") == insz


def test_insz_born_after_2000_uses_the_2000_checksum(soap, afnemer):
    insz = make_insz(12, 3, 9, 621)
    soap.register(afnemer, [insz])
    _status, child = soap.post(sociaal_statuut(insz, afnemer=afnemer))
    assert level3_codes(child) == []
