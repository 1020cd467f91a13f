"""Requests are built as a real MAGDA client sends them and satisfy the official request XSDs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from magda_testkit import AFNEMER, DISABLED, HOUSEHOLD, LEEFLOON, TAX

from proactief.magda import envelope as env
from proactief.magda.envelope import Afzender, Request, RequestInvalid, validate_request
from proactief.magda.reference import schema_for
from proactief.magda.results import VrijstellingAanvraag
from proactief.magda.services import SERVICES

A = Afzender(AFNEMER, "1300")
D = dt.date(2025, 3, 1)
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"

BUILDERS: dict[str, Callable[[], Request]] = {
    "Persoon.GeefPersoon-02.02": lambda: env.geef_persoon(A, HOUSEHOLD),
    "Persoon.GeefGezinssamenstelling-02.02": lambda: env.geef_gezinssamenstelling(A, HOUSEHOLD),
    "Persoon.GeefHistoriekPersoon-02.02": lambda: env.geef_historiek_persoon(A, HOUSEHOLD),
    "Persoon.GeefHistoriekGezinssamenstelling-02.02": lambda: env.geef_historiek_gezinssamenstelling(
        A, HOUSEHOLD, D),
    "Persoon.GeefPersoonMutatiesNotificaties-02.00": lambda: env.geef_persoon_mutaties(A, str(uuid.uuid4())),
    "SocZek.GeefSociaalStatuut-03.00": lambda: env.geef_sociaal_statuut(A, HOUSEHOLD, ["BIM_BVT", "BIM_BVT_IN_FAMILY"],
                                                                        D),
    "SocZek.GeefSociaalStatuutVoorLijst-02.00": lambda: env.geef_sociaal_statuut_voor_lijst(
        [HOUSEHOLD, LEEFLOON], ["BIM_BVT", "LIVING_WAGES_PCSA_HELP"], D),
    "SocZek.GeefDossierHandicap-03.00": lambda: env.geef_dossier_handicap(A, DISABLED, D),
    "SocZek.GeefLeefloonbedragen-02.00": lambda: env.geef_leefloonbedragen(A, LEEFLOON, 2024, huidig=False,
                                                                           aantal_jaar_terug=2),
    "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00": lambda: env.geef_aanslagbiljet(A, TAX, 2024,
                                                                                       ipcal_codes=["7555"]),
    "Repertorium.RegistreerInschrijving-02.01": lambda: env.registreer_inschrijving(A, [HOUSEHOLD], D),
    "Repertorium.RegistreerUitschrijving-02.01": lambda: env.registreer_uitschrijving(A, [HOUSEHOLD], None, D),
    "Milieu.RegistreerLEZGegevens-02.00": lambda: env.registreer_lez(
        A, "1GBR791", [VrijstellingAanvraag("PARKEERKAART", D, dt.date(2030, 3, 1))], bron="GENT"),
    "Milieu.GeefLEZGegevens-02.00": lambda: env.geef_lez_gegevens(A, "1GBR791", bron="GENT"),
    "Milieu.VerwijderLEZGegevens-02.00": lambda: env.verwijder_lez(A, "1GBR791", bron="GENT",
                                                                   referten=[str(uuid.uuid4())]),
}


def test_there_is_a_builder_for_every_service() -> None:
    assert set(BUILDERS) == set(SERVICES)


@pytest.mark.parametrize("key", sorted(BUILDERS))
def test_request_of_each_service_validates_against_its_official_xsd(key: str) -> None:
    req = BUILDERS[key]()
    assert req.spec.key == key
    validate_request(req)  # raises RequestInvalid otherwise
    # and once more after a round trip through the wire form
    root = etree.fromstring(req.to_bytes())
    body_child = next(iter(root.find(f"{SOAP}Body")))
    assert schema_for(req.spec.request_xsd).validate(body_child), schema_for(req.spec.request_xsd).error_log


@pytest.mark.parametrize("key", sorted(BUILDERS))
def test_only_the_body_root_is_namespace_qualified(key: str) -> None:
    req = BUILDERS[key]()
    root = etree.fromstring(req.to_bytes())
    assert root.tag == f"{SOAP}Envelope"
    child = next(iter(root.find(f"{SOAP}Body")))
    assert etree.QName(child).namespace == req.spec.namespace
    assert etree.QName(child).localname == req.spec.name
    assert all(etree.QName(el).namespace is None for el in child.iterdescendants())


def test_context_says_who_asks_and_why_like_the_request_templates(shared_magda: Path) -> None:
    req = env.geef_persoon(Afzender(AFNEMER, "ipdc2858", gebruiker=TAX), HOUSEHOLD)
    mine = etree.fromstring(req.to_bytes())
    template = etree.parse(str(shared_magda / "request-templates/GeefPersoon/02.02.0000/template.xml")).getroot()

    def paths(root: etree._Element) -> set[str]:
        child = next(iter(root.find(f"{SOAP}Body")))
        out = set()
        for e in child.iterdescendants():
            names = []
            while e is not child:
                names.append(etree.QName(e).localname)
                e = e.getparent()
            out.add("/".join(reversed(names)))
        return out

    ctx = mine.find(f"{SOAP}Body")[0].find("Verzoek/Context")
    assert ctx.findtext("Naam") == "GeefPersoon" and ctx.findtext("Versie") == "02.02.0000"
    bericht = ctx.find("Bericht")
    assert bericht.findtext("Type") == "VRAAG"
    dt.date.fromisoformat(bericht.findtext("Tijdstip/Datum"))
    assert len(bericht.findtext("Tijdstip/Tijd")) == 12  # HH:MM:SS.mmm
    afz = bericht.find("Afzender")
    assert [c.tag for c in afz] == ["Identificatie", "Referte", "Hoedanigheid", "Gebruiker"]
    assert (afz.findtext("Identificatie"), afz.findtext("Hoedanigheid"), afz.findtext("Gebruiker")) == (
        AFNEMER, "ipdc2858", TAX)
    # same element layout as the template a real client sends (the template also asks KSZ extras we do not need)
    assert {p for p in paths(mine) if not p.endswith("Gebruiker")} <= paths(template)


def test_every_message_and_every_question_gets_its_own_referte() -> None:
    refs: list[str] = []
    for _ in range(200):
        req = env.geef_sociaal_statuut(A, HOUSEHOLD, ["BIM_BVT"], D)
        child = req.element
        assert child.findtext("Verzoek/Context/Bericht/Afzender/Referte") == req.message_ref
        assert child.findtext("Verzoek/Vragen/Vraag/Referte") == req.question_ref
        refs += [req.message_ref, req.question_ref]
    assert len(set(refs)) == len(refs)
    assert all(len(r) <= 36 for r in refs)


def test_the_list_request_carries_many_insz_and_no_context() -> None:
    people = [HOUSEHOLD, LEEFLOON, DISABLED, TAX]
    req = env.geef_sociaal_statuut_voor_lijst(people, ["BIM_BVT"], (D, None))
    assert req.element.find("Verzoek/Context") is None
    assert [p.text for p in req.element.iterfind("Verzoek/Vragen/Vraag/Inhoud/Criteria/Personen/Persoon")] == people
    assert req.element.findtext(
        "Verzoek/Vragen/Vraag/Inhoud/Criteria/SocialeStatuten/SociaalStatuut/Datum/Periode/Begin") == "2025-03-01"
    assert req.subjects == tuple(people)
    assert req.message_ref == req.question_ref  # no Afzender/Referte in a context-less message
    validate_request(req)


def test_sociaal_statuut_asks_each_statute_on_the_date_or_over_a_period() -> None:
    on_day = env.geef_sociaal_statuut(A, HOUSEHOLD, ["BIM_BVT", "PCSA_AND_BIM_HELP"], D).element
    statuten = on_day.findall("Verzoek/Vragen/Vraag/Inhoud/Criteria/SocialeStatuten/SociaalStatuut")
    assert [(s.findtext("Naam"), s.findtext("Datum/Datum")) for s in statuten] == [
        ("BIM_BVT", "2025-03-01"), ("PCSA_AND_BIM_HELP", "2025-03-01")]
    period = env.geef_sociaal_statuut(A, HOUSEHOLD, ["BIM_BVT"], (D, dt.date(2025, 12, 31)))
    validate_request(period)
    assert period.element.findtext(".//SociaalStatuut/Datum/Periode/Einddatum") == "2025-12-31"
    with pytest.raises(ValueError, match="1 to 8"):
        env.geef_sociaal_statuut(A, HOUSEHOLD, [f"S{i}" for i in range(9)], D)


def test_dossier_handicap_uses_the_ksz_criteria_with_ssin_and_reference_date() -> None:
    el = env.geef_dossier_handicap(A, DISABLED, D).element
    crit = el.find("Verzoek/Vragen/Vraag/Criteria/ConsultFilesByDateCriteria")
    assert crit.findtext("ssin") == DISABLED and crit.findtext("referenceDate") == "2025-03-01"
    assert [c.tag for c in crit.find("parts")] == ["handicapRecognitions", "socialCards"]  # not rights/amounts
    assert [c.tag for c in crit.find("handicapAuthenticSources")] == ["DGPH"]


def test_repertorium_inscription_is_a_pers_subject_with_a_period() -> None:
    el = env.registreer_inschrijving(A, [HOUSEHOLD, LEEFLOON], D, dt.date(2026, 3, 1)).element
    ins = el.find("Verzoek/Vragen/Vraag/Inhoud/Inschrijving")
    assert (ins.findtext("Identificatie"), ins.findtext("Hoedanigheid")) == (AFNEMER, "1300")
    assert ins.findtext("BetrokkenSubject/Type") == "PERS"
    assert [(s.findtext("Type"), s.findtext("Sleutel")) for s in ins.iterfind("BetrokkenSubject/Subjecten/Subject")
            ] == [("PERS", HOUSEHOLD), ("PERS", LEEFLOON)]
    assert (ins.findtext("Periode/Begin"), ins.findtext("Periode/Einde")) == ("2025-03-01", "2026-03-01")


def test_mutations_request_acknowledges_the_previous_receipt() -> None:
    el = env.geef_persoon_mutaties(A, "ontvangst-1").element
    inh = el.find("Verzoek/Vragen/Vraag/Inhoud")
    assert [c.tag for c in inh] == ["Identificatie", "Hoedanigheid", "Ontvangstreferte"]
    assert env.geef_persoon_mutaties(A).element.find(".//Ontvangstreferte") is None


def test_income_year_and_ipcal_codes_are_sent() -> None:
    el = env.geef_aanslagbiljet(A, TAX, 2024, ipcal_codes=["7555"]).element
    assert el.findtext(".//Criteria/Inkomensjaar") == "2024"
    assert [c.text for c in el.iterfind(".//Criteria/IPCALCodes/IPCALCode")] == ["7555"]


def test_an_invalid_request_is_reported_without_its_values() -> None:
    req = env.geef_persoon(A, "123")  # the builder does not check; validate_request and the client do
    with pytest.raises(RequestInvalid) as info:
        validate_request(req)
    assert "123" not in str(info.value) and "GeefPersoon" in str(info.value)
    bad = env.geef_persoon(A, "84640438954x")
    with pytest.raises(RequestInvalid) as info:
        validate_request(bad)
    assert "84640438954" not in str(info.value)


def test_a_referte_is_a_36_character_uuid4_never_repeated_in_a_forked_process() -> None:
    import os
    import uuid

    from proactief.magda.envelope import new_referte

    mine = {new_referte() for _ in range(10_000)}
    assert len(mine) == 10_000
    sample = next(iter(mine))
    assert len(sample) == 36 and uuid.UUID(sample).version == 4
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a task process forked by the executor: its generator is reseeded
        os.write(write, "\n".join(new_referte() for _ in range(1000)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        child = set(fh.read().split("\n"))
    os.waitpid(pid, 0)
    parent_next = {new_referte() for _ in range(1000)}
    assert len(child) == 1000 and not child & (mine | parent_next)
