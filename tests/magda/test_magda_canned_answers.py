"""Every canned answer of the services we use parses into a typed result with the right outcome."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from magda_testkit import BUSY, DISABLED, HOUSEHOLD, LEEFLOON, NEW_INSZ, PARKING, TAX, TESTCASES, canned, envelope

from proactief.magda.audit import OutcomeClass
from proactief.magda.parse import MalformedAnswer, parse_response
from proactief.magda.results import (
    Aanslagbiljet,
    DossierHandicap,
    Gezinssamenstelling,
    HistoriekGezinssamenstelling,
    HistoriekPersoon,
    Leefloonbedragen,
    MutatieNotificaties,
    PartialDate,
    Persoon,
    RegistratieResultaat,
    SociaalStatuutAntwoord,
)
from proactief.magda.services import SERVICES, ServiceSpec
from proactief.magda.uitzondering import UitzonderingType

VALUE_TYPES = {
    "GeefPersoon": Persoon,
    "GeefGezinssamenstelling": Gezinssamenstelling,
    "GeefHistoriekPersoon": HistoriekPersoon,
    "GeefHistoriekGezinssamenstelling": HistoriekGezinssamenstelling,
    "GeefSociaalStatuut": SociaalStatuutAntwoord,
    "GeefDossierHandicap": DossierHandicap,
    "GeefAanslagbiljetPersonenbelasting": Aanslagbiljet,
    "GeefLeefloonbedragen": Leefloonbedragen,
    "RegistreerInschrijving": RegistratieResultaat,
    "RegistreerUitschrijving": RegistratieResultaat,
    "GeefPersoonMutatiesNotificaties": MutatieNotificaties,
}


def _cases() -> list[tuple[ServiceSpec, Path]]:
    """All canned files of our services, every version on disk (older versions share the root element)."""
    out = []
    for spec in SERVICES.values():
        folder = TESTCASES / spec.domain / spec.name
        for path in sorted(folder.rglob("*.xml")) if folder.is_dir() else ():
            out.append((spec, path))
    return out


CASES = _cases()


def test_the_walk_covers_the_canned_services() -> None:
    names = {spec.name for spec, _ in CASES}
    assert names == set(VALUE_TYPES)
    assert len(CASES) > 500


@pytest.mark.parametrize(("spec", "path"), CASES, ids=[str(p.relative_to(TESTCASES)) for _, p in CASES])
def test_every_canned_answer_parses_into_a_typed_result(spec: ServiceSpec, path: Path) -> None:
    bare = path.read_bytes()
    answer = parse_response(spec, bare)
    assert answer == parse_response(spec, envelope(bare)), "bare Body child and full envelope read the same"
    assert answer.service == spec.key
    if answer.outcome is OutcomeClass.FAULT:
        assert answer.fault is not None and answer.fault.faultcode
        return
    if answer.value is not None:
        assert isinstance(answer.value, VALUE_TYPES[spec.name])
    if answer.outcome is OutcomeClass.OK:
        assert answer.value is not None
    if answer.code is not None:
        assert answer.code in {u.identificatie for u in answer.all_uitzonderingen}
    for u in answer.all_uitzonderingen:
        assert u.identificatie.isdigit() and u.oorsprong and isinstance(u.type, UitzonderingType)


def test_household_persona_has_main_residence_in_gent_and_members() -> None:
    a = parse_response("Persoon.GeefPersoon-02.02", canned(f"Persoon/GeefPersoon/02.02.0000/{HOUSEHOLD}.xml"))
    assert a.outcome is OutcomeClass.OK and a.code is None and a.question_ref
    p = a.value
    assert p.insz == HOUSEHOLD and p.geboortedatum == dt.date(1984, 4, 4) and p.overlijdensdatum is None
    assert [(h.nis_code, h.postcode) for h in p.hoofdverblijfplaatsen] == [("44021", "9000")]
    assert p.woont_in("44021", dt.date(2025, 1, 1)) and not p.woont_in("44021", dt.date(2003, 1, 1))
    assert [(g.positie, g.periode.begin) for g in p.gezinsleden] == [
        ("02", dt.date(2004, 4, 4)), ("03", dt.date(2008, 7, 5)), ("03", dt.date(2010, 11, 29)),
        ("03", dt.date(2012, 3, 9))]
    assert p.referentiepersoon is not None and p.referentiepersoon.positie == "03"
    assert p.referentiepersoon.periode.end == dt.date(2004, 4, 4)
    assert "Vlietinck" not in repr(a) + repr(p)  # names are not kept


def test_contact_address_and_death_are_read() -> None:
    folder = TESTCASES / "Persoon/GeefPersoon/02.02.0000"
    with_contact = [p for p in folder.glob("*.xml") if b"<ContactAdres" in p.read_bytes()]
    assert with_contact
    p = parse_response("Persoon.GeefPersoon-02.02", with_contact[0].read_bytes()).value
    assert p.contactadressen and p.contactadressen[0].soort == "contactadres"
    assert p.contactadressen[0].nis_code == "44021"
    assert not p.hoofdverblijfplaatsen and not p.woont_in("44021", dt.date(2024, 1, 1))  # contact is not residence
    deceased = [p for p in folder.glob("*.xml") if b"<Overlijden" in p.read_bytes()]
    dead = parse_response("Persoon.GeefPersoon-02.02", deceased[0].read_bytes()).value
    assert dead.overlijdensdatum is not None and dead.overleden_op(dt.date(2030, 1, 1))


def test_incomplete_register_dates_stay_partial() -> None:
    folder = TESTCASES / "Persoon/GeefPersoon/02.02.0000"
    partial = []
    for path in folder.glob("*.xml"):
        data = path.read_bytes()
        if b"-00-00<" in data or b'-00-00"' in data or b"-00<" in data:
            p = parse_response("Persoon.GeefPersoon-02.02", data).value
            dates = [p.geboortedatum, p.overlijdensdatum, *(g.geboortedatum for g in p.gezinsleden),
                     *(a.periode.begin for a in p.hoofdverblijfplaatsen)]
            partial += [d for d in dates if isinstance(d, PartialDate)]
    assert partial
    d = partial[0]
    assert d.earliest() <= d.latest() and str(d).startswith(f"{d.year:04d}-")


def test_new_insz_warning_is_a_data_error_that_still_carries_the_data() -> None:
    a = parse_response("Persoon.GeefPersoon-02.02", canned(f"Persoon/GeefPersoon/02.02.0000/{NEW_INSZ}.xml"))
    assert (a.outcome, a.code) == (OutcomeClass.DATA_ERROR, "30004")
    assert a.uitzonderingen[0].type is UitzonderingType.WAARSCHUWING
    assert a.value is not None


def test_busy_persona_is_a_level_two_transient_refusal() -> None:
    a = parse_response("Persoon.GeefPersoon-02.02", canned(f"Persoon/GeefPersoon/02.02.0000/{BUSY}.xml"))
    assert (a.outcome, a.code, a.value) == (OutcomeClass.TRANSIENT, "99996", None)
    assert a.uitzonderingen_bericht and not a.uitzonderingen


def test_not_found_is_definitive() -> None:
    a = parse_response("Persoon.GeefPersoon-02.02", canned("Persoon/GeefPersoon/02.02.0000/notfound.xml"))
    assert (a.outcome, a.code, a.value) == (OutcomeClass.DEFINITIVE, "30001", None)


def test_statutes_with_periods() -> None:
    a = parse_response("SocZek.GeefSociaalStatuut-03.00",
                       canned(f"SocZek/GeefSociaalStatuut/03.00.0000/{HOUSEHOLD}.xml"))
    bim = a.value.get("BIM_BVT")
    assert bim is not None and bim.van_toepassing and bim.periodes[0].begin == dt.date(2024, 1, 1)
    assert bim.geldt_op(dt.date(2025, 6, 1)) and not bim.geldt_op(dt.date(2031, 1, 1))
    lw = parse_response("SocZek.GeefSociaalStatuut-03.00",
                        canned(f"SocZek/GeefSociaalStatuut/03.00.0000/{LEEFLOON}.xml")).value
    assert lw.get("LIVING_WAGES_PCSA_HELP").code == 1
    unknown = parse_response("SocZek.GeefSociaalStatuut-03.00",
                             canned("SocZek/GeefSociaalStatuut/03.00.0000/default.xml"))
    assert (unknown.outcome, unknown.code) == (OutcomeClass.DEFINITIVE, "30003")


def test_social_cards_and_recognitions() -> None:
    h = parse_response("SocZek.GeefDossierHandicap-03.00",
                       canned(f"SocZek/GeefDossierHandicap/03.00.0000/{PARKING}.xml")).value
    assert sorted(k.categorie for k in h.kaarten) == ["PARKINGCARD", "REDUCTIONCARD"]
    assert h.kaart_geldig("PARKINGCARD", dt.date(2025, 1, 1)) and not h.kaart_geldig("PARKINGCARD",
                                                                                      dt.date(2031, 1, 1))
    assert "1122334455" not in repr(h.kaarten)  # card numbers are not kept
    r = parse_response("SocZek.GeefDossierHandicap-03.00",
                       canned(f"SocZek/GeefDossierHandicap/03.00.0000/{DISABLED}.xml")).value
    e = r.erkenningen[0]
    assert (e.bron, e.beslissing, e.begin) == ("dgph", "RECOGNITION_DETERMINED", dt.date(2020, 9, 4))
    assert "lowerLimbs50p" in e.kenmerken and "fullBlindness" not in e.kenmerken
    assert {b.bron: b.value for b in r.bronnen}["irisCare"] == "NO_DATA_FOUND"


def test_ksz_no_data_warning_reads_what_is_present() -> None:
    a = parse_response("SocZek.GeefDossierHandicap-03.00", canned("SocZek/GeefDossierHandicap/03.00.0000/notfound.xml"))
    assert (a.outcome, a.code) == (OutcomeClass.OK, "70001")
    assert a.value.status == "NO_DATA_FOUND" and a.value.kaarten == ()


def test_tax_items_and_missing_income_year() -> None:
    a = parse_response("Inkomen.GeefAanslagbiljetPersonenbelasting-02.00",
                       canned(f"Inkomen/GeefAanslagbiljetPersonenbelasting/02.00.0000/{TAX}.xml"))
    assert a.value.inkomensjaar == 2025 and dict(a.value.items) == {"A7555": 1677545}
    assert a.value.artikelnummer == "727270607" and a.value.fiscale_status == "A"
    missing = parse_response("Inkomen.GeefAanslagbiljetPersonenbelasting-02.00",
                             canned("Inkomen/GeefAanslagbiljetPersonenbelasting/02.00.0000/notfound.xml"))
    assert (missing.outcome, missing.code) == (OutcomeClass.DEFINITIVE, "45008")
    assert missing.uitzonderingen[0].type is UitzonderingType.INFORMATIE


def test_the_aanslagbiljet_fault_file_and_the_generic_fault_parse_as_faults(shared_magda: Path) -> None:
    a = parse_response("Inkomen.GeefAanslagbiljetPersonenbelasting-02.00",
                       canned("Inkomen/GeefAanslagbiljetPersonenbelasting/02.00.0000/70021500155.xml"))
    assert a.outcome is OutcomeClass.FAULT
    assert (a.fault.faultcode, a.fault.faultstring) == ("SOAP-ENV:Client", "This is a soap Error")
    g = parse_response("Persoon.GeefPersoon-02.02", (shared_magda / "testcases/generic_fault.xml").read_bytes())
    assert g.outcome is OutcomeClass.FAULT and g.fault.faultstring == "faultstring"
    assert parse_response("Persoon.GeefPersoon-02.02",
                          envelope((shared_magda / "testcases/generic_fault.xml").read_bytes())).fault == g.fault


def test_leefloon_years() -> None:
    a = parse_response("SocZek.GeefLeefloonbedragen-02.00",
                       canned("SocZek/GeefLeefloonbedragen/02.00.0000/78680699764.xml"))
    years = a.value.jaren
    assert [y.jaar for y in years] == [2021, 2022, 2023]
    assert all(y.kinderbijslag and not y.leefloon for y in years)
    none = parse_response("SocZek.GeefLeefloonbedragen-02.00",
                          canned("SocZek/GeefLeefloonbedragen/02.00.0000/00631499723.xml"))
    assert [y.uitbetaling for y in none.value.jaren] == ["0", "0", "0"]


def test_mutation_files_with_the_wrong_namespace_still_parse() -> None:
    folder = "Persoon/GeefPersoonMutatiesNotificaties/02.00.0000"
    pending = parse_response("Persoon.GeefPersoonMutatiesNotificaties-02.00", canned(f"{folder}/notfound.xml"))
    bad = parse_response("Persoon.GeefPersoonMutatiesNotificaties-02.00", canned(f"{folder}/Monitoring.xml"))
    assert {(pending.outcome, pending.code), (bad.outcome, bad.code)} == {
        (OutcomeClass.DEFINITIVE, "30016"), (OutcomeClass.DATA_ERROR, "30014")}


def test_registrations() -> None:
    ok = parse_response("Repertorium.RegistreerInschrijving-02.01",
                        canned("Repertorium/RegistreerInschrijving/02.01.0000/PERS/success.xml"))
    assert ok.outcome is OutcomeClass.OK and ok.value.geslaagd
    refused = parse_response("Repertorium.RegistreerInschrijving-02.01",
                             canned("Repertorium/RegistreerInschrijving/02.01.0000/PERS/89610532179.xml"))
    assert (refused.outcome, refused.code, refused.value.geslaagd) == (OutcomeClass.DATA_ERROR, None, False)
    busy = parse_response("Repertorium.RegistreerInschrijving-02.01",
                          canned(f"Repertorium/RegistreerInschrijving/02.01.0000/PERS/{BUSY}.xml"))
    assert (busy.outcome, busy.code) == (OutcomeClass.TRANSIENT, "99996")


@pytest.mark.parametrize("data", [
    b"", b"not xml", b"<GeefPersoonResponse><Repliek>", b"<Other/>",
    b'<p:GeefPersoonResponse xmlns:p="x"/>',
    b'<p:GeefPersoonResponse xmlns:p="x"><Repliek><Context/><Antwoorden><Antwoord><Referte>r</Referte>'
    b"</Antwoord></Antwoorden></Repliek></p:GeefPersoonResponse>",
    b'<p:GeefPersoonResponse xmlns:p="x"><Repliek><Context/><Antwoorden><Antwoord><Referte>r</Referte><Inhoud>'
    b"<Persoon><INSZ>84640438954</INSZ><Geboorte><Datum>84640438954</Datum></Geboorte></Persoon></Inhoud>"
    b"</Antwoord></Antwoorden></Repliek></p:GeefPersoonResponse>",
])
def test_malformed_answers_raise_without_personal_data(data: bytes) -> None:
    with pytest.raises(MalformedAnswer) as info:
        parse_response("Persoon.GeefPersoon-02.02", data)
    assert "84640438954" not in str(info.value)


def _mutations(inhoud: str) -> bytes:
    ns = SERVICES["Persoon.GeefPersoonMutatiesNotificaties-02.00"].namespace
    return (f'<p:GeefPersoonMutatiesNotificatiesResponse xmlns:p="{ns}"><Repliek><Context><Naam>x</Naam></Context>'
            f"<Antwoorden><Antwoord><Referte>q</Referte><Inhoud>{inhoud}</Inhoud></Antwoord></Antwoorden></Repliek>"
            "</p:GeefPersoonMutatiesNotificatiesResponse>").encode()


def test_mutation_notifications_in_the_official_shape_and_a_flattened_one() -> None:
    official = _mutations(
        "<Onderwerpen><Onderwerp><Referte>o1</Referte><Inhoud><PersoonMutatiesNotificaties>"
        f"<INSZ>{HOUSEHOLD}</INSZ><NieuwINSZ>{LEEFLOON}</NieuwINSZ><Type><Code>02</Code></Type>"
        "<DatumModificatie>2025-02-03</DatumModificatie><Informaties><Informatie><Identificatie><Code>x</Code>"
        "</Identificatie><TypeMutaties><TypeMutatie><Code>1</Code></TypeMutatie></TypeMutaties></Informatie>"
        "</Informaties></PersoonMutatiesNotificaties></Inhoud></Onderwerp></Onderwerpen>"
        "<Ontvangstreferte>ontvangst-9</Ontvangstreferte>")
    a = parse_response("Persoon.GeefPersoonMutatiesNotificaties-02.00", official)
    [m] = a.value.mutaties
    assert (m.referte, m.insz, m.nieuw_insz, m.type, m.datum) == ("o1", HOUSEHOLD, LEEFLOON, "02", dt.date(2025, 2, 3))
    assert a.value.ontvangstreferte == "ontvangst-9" and HOUSEHOLD not in repr(a.value)
    flat = _mutations("<Onderwerpen><Onderwerp><Referte>o2</Referte><Inhoud>"
                      f"<INSZ>{TAX}</INSZ><Type>WIJZIGING</Type><DatumCreatie>2025-02-04</DatumCreatie>"
                      "</Inhoud></Onderwerp></Onderwerpen><Ontvangstreferte>r2</Ontvangstreferte>")
    [f] = parse_response("Persoon.GeefPersoonMutatiesNotificaties-02.00", flat).value.mutaties
    assert (f.insz, f.type, f.datum) == (TAX, "WIJZIGING", dt.date(2025, 2, 4))


def test_partial_dates_and_periods() -> None:
    from proactief.magda.parse import parse_date
    from proactief.magda.results import Period

    assert parse_date("1950-00-00") == PartialDate(1950)
    assert parse_date("1950-02-00") == PartialDate(1950, 2)
    assert parse_date("0000-00-00") is None and parse_date("") is None
    assert PartialDate(1952, 2).latest() == dt.date(1952, 2, 29) and PartialDate(1950).latest() == dt.date(1950, 12, 31)
    p = Period(PartialDate(2000), dt.date(2000, 6, 30))
    assert p.covers(dt.date(2000, 1, 1)) and not p.covers(dt.date(2000, 7, 1))
    with pytest.raises(MalformedAnswer):
        parse_date("2000-13-01")


def test_vehicle_registration_json() -> None:
    from proactief.magda.parse import parse_vehicle_registrations

    folder = TESTCASES.parent / "rest/__files/mobility"
    [v] = parse_vehicle_registrations((folder / "registrations/1GBR791.json").read_bytes())
    assert (v.plate, v.status, v.titular, v.titular_insz) == ("1GBR791", "REG", "natural", DISABLED)
    for path in sorted((folder / "registrations").glob("*.json")):
        for reg in parse_vehicle_registrations(path.read_bytes()):
            assert reg.plate and reg.titular in ("natural", "legal")
    assert parse_vehicle_registrations(b"") == ()
    with pytest.raises(MalformedAnswer):
        parse_vehicle_registrations(b"[1, 2]")
