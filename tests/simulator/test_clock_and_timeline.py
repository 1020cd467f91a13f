"""The simulator's clock, and answers as the register stood on the clock day (issue 15).

A small timeline is served by its own simulator (the shared one must keep the real date): a household that
splits (partner and child move out on 2026-04-01), a death, a statute that ends, a card delivered, a vehicle
registered and cancelled, a tax assessment that arrives, leefloon month by month. Each fact is asked before and
after its day by moving the clock; the history services are asked about the household that split.
"""

from __future__ import annotations

import urllib.error
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree
from sim_data import make_insz
from sim_envelopes import (
    aanslagbiljet,
    assert_valid,
    body_child,
    from_template,
    gezinssamenstelling,
    historiek,
    leefloon,
    level3_codes,
    mutaties,
    registreer_inschrijving,
    sociaal_statuut,
    voor_lijst,
)

from proactief_sim.simulator.population import (
    Address,
    HouseholdMember,
    LeefloonPayment,
    LeefloonYear,
    Period,
    Person,
    Residence,
    SocialCard,
    SocialStatute,
    TaxAssessment,
    TaxItem,
    Vehicle,
    person_from_json,
    person_to_json,
    write_jsonl,
)
from proactief_sim.simulator.testing import RunningSimulator, running_simulator

pytestmark = pytest.mark.integration

HEAD = make_insz(75, 2, 2, 201)  # stays at home, reference person
PARTNER = make_insz(77, 3, 3, 202)  # leaves with the child on 2026-04-01
CHILD = make_insz(15, 6, 1, 203)
WIDOW = make_insz(40, 1, 1, 204)  # dies on 2026-06-15
PLATE = "1TIM001"
HOME = Address("Hoogstraat", "10", "9000", "Gent", "44021")
FLAT = Address("Veldstraat", "5", "9000", "Gent", "44021", box="2")
SPLIT = date(2026, 4, 1)
LAST_TOGETHER = date(2026, 3, 31)
DEATH = date(2026, 6, 15)


def timeline() -> list[Person]:
    together = (HouseholdMember(HEAD, "01", date(2015, 1, 1), LAST_TOGETHER),
                HouseholdMember(PARTNER, "02", date(2015, 1, 1), LAST_TOGETHER),
                HouseholdMember(CHILD, "03", date(2015, 6, 1), LAST_TOGETHER))
    after = (HouseholdMember(PARTNER, "01", SPLIT), HouseholdMember(CHILD, "03", SPLIT))
    head = Person(
        HEAD, date(1975, 2, 2), "Peeters", ("Jan",), "M",
        residences=(Residence(HOME, Period(date(2015, 1, 1))),),
        household=(HouseholdMember(HEAD, "01", date(2015, 1, 1)),) + together[1:],
        statutes=(SocialStatute("BIM_BVT", (Period(date(2025, 1, 1), date(2026, 6, 30)),)),),
        social_cards=(SocialCard("PARKINGCARD", date(2026, 5, 1), date(2031, 5, 1), "1234567890"),),
        tax_assessments=(TaxAssessment(2025, (TaxItem("A7555", 1500000),), "A", "123456789",
                                       available_from=date(2026, 7, 15)),),
        leefloon=(LeefloonYear(2026, tuple(LeefloonPayment(f"2026-{m:02d}", Decimal("900.00"))
                                           for m in range(1, 13))),),
        vehicles=(Vehicle(PLATE, HEAD, vin="WVWZZZ1KZAW000777", make="VOLKSWAGEN", model="Polo", fuel="10",
                          euro_norm="6", first_registration=date(2026, 2, 1), cancelled=date(2026, 9, 1)),),
    )
    partner = Person(PARTNER, date(1977, 3, 3), "Janssens", ("An",), "F",
                     residences=(Residence(HOME, Period(date(2015, 1, 1), LAST_TOGETHER)),
                                 Residence(FLAT, Period(SPLIT))),
                     household=together + after)
    child = Person(CHILD, date(2015, 6, 1), "Peeters", ("Tim",), "M",
                   residences=(Residence(HOME, Period(date(2015, 6, 1), LAST_TOGETHER)),
                               Residence(FLAT, Period(SPLIT))),
                   household=together + after)
    widow = Person(WIDOW, date(1940, 1, 1), "Claes", ("Maria",), "F", death_date=DEATH,
                   residences=(Residence(Address("Kouter", "1", "9000", "Gent", "44021"),
                                         Period(date(1990, 1, 1), DEATH)),),
                   household=(HouseholdMember(WIDOW, "01", date(1990, 1, 1), DEATH),))
    return [head, partner, child, widow]


@pytest.fixture(scope="module")
def tsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    path = tmp_path_factory.mktemp("timeline") / "population.jsonl"
    write_jsonl(timeline(), path)
    with running_simulator(population=path, repertorium_check=False, validate_responses=True,
                           clock=date(2026, 1, 10)) as s:
        yield s


@pytest.fixture
def ask(tsim: RunningSimulator) -> Iterator:  # type: ignore[type-arg]
    """Post at a clock day: ``ask(day, envelope)`` -> the SOAP Body child (HTTP 200 asserted)."""
    with requests.Session() as http:
        def post(day: date, payload: bytes) -> etree._Element:
            tsim.set_clock(day)
            r = http.post(tsim.soap_url(), data=payload, timeout=30,
                          headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})
            assert r.status_code == 200, r.text[:2000]
            return body_child(r.content)
        yield post


def inhoud(child: etree._Element) -> etree._Element:
    el = child.find("Repliek/Antwoorden/Antwoord/Inhoud")
    assert el is not None, etree.tostring(child).decode()[:2000]
    return el


def persoon(insz: str) -> bytes:
    return from_template("GeefPersoon", "02.02.0000", insz)


# ------------------------------------------------------------------------------------------------ the clock


def test_clock_starts_at_the_flag_moves_and_returns_to_the_real_date(tsim):
    tsim.set_clock(date(2026, 1, 10))
    assert tsim.clock() == date(2026, 1, 10)
    assert tsim.admin("GET", "clock")["date"] == "2026-01-10"
    assert tsim.admin("POST", "clock", {"date": "2026-03-01"}) == {"date": "2026-03-01", "fixed": True}
    assert tsim.clock() == date(2026, 3, 1)
    tsim.set_clock(None)
    assert tsim.clock() == date.today()
    assert tsim.admin("GET", "clock")["fixed"] is False
    for bad in ({"date": "2026-13-01"}, {"day": "2026-01-01"}, {"date": 5}):
        with pytest.raises(urllib.error.HTTPError) as err:
            tsim.admin("POST", "clock", bad)
        assert err.value.code == 400
    assert tsim.clock() == date.today()


def test_every_answer_is_stamped_with_the_clock_date(ask):
    day = date(2026, 2, 14)
    for payload in (persoon(HEAD),  # from the store
                    persoon("84640438954"),  # a canned answer
                    from_template("GeefPersoon", "02.02.0000", "84640438955")):  # 20002, synthesised
        child = ask(day, payload)
        assert child.findtext("Repliek/Context/Bericht/Tijdstip/Datum") == day.isoformat()
        for u in child.iter("Uitzondering"):
            assert u.findtext("Tijdstip/Datum") == day.isoformat()
    refused = ask(day, from_template("GeefPersoon", "02.02.0000", "84640438955"))
    assert level3_codes(refused) == ["20002"]


# --------------------------------------------------------------------------------------- the register on D


def test_a_household_split_and_a_move_show_from_their_day_on(ask):
    before, after = date(2026, 3, 15), date(2026, 4, 15)
    p = inhoud(ask(before, persoon(PARTNER))).find("Persoon")
    res = p.find("Adressen/Hoofdverblijfplaats")
    assert res.findtext("Straatnaam/String") == "Hoogstraat"
    assert res.get("DatumEinde") is None  # the move of 2026-04-01 is not known yet
    assert p.findtext("Referentiepersoon/INSZ") == HEAD
    gezin = inhoud(ask(before, gezinssamenstelling(HEAD)))
    assert {g.findtext("INSZ") for g in gezin.iterfind("Gezinsleden/Gezinslid")} == {HEAD, PARTNER, CHILD}

    p = inhoud(ask(after, persoon(PARTNER))).find("Persoon")
    assert p.findtext("Adressen/Hoofdverblijfplaats/Straatnaam/String") == "Veldstraat"
    assert p.find("Referentiepersoon") is None
    assert [g.findtext("INSZ") for g in p.iterfind("Gezinsleden/Gezinslid")] == [CHILD]
    gezin = inhoud(ask(after, gezinssamenstelling(HEAD)))
    assert [g.findtext("INSZ") for g in gezin.iterfind("Gezinsleden/Gezinslid")] == [HEAD]


def test_a_death_is_known_from_its_day_on(ask):
    alive = inhoud(ask(date(2026, 6, 14), persoon(WIDOW))).find("Persoon")
    assert alive.find("Overlijden") is None
    assert alive.find("Adressen/Hoofdverblijfplaats").get("DatumEinde") is None
    dead = inhoud(ask(date(2026, 7, 1), persoon(WIDOW))).find("Persoon")
    assert dead.findtext("Overlijden/Datum") == DEATH.isoformat()


def test_a_statute_end_is_unknown_until_it_has_passed(ask):
    day = date(2026, 5, 1)
    s = inhoud(ask(day, sociaal_statuut(HEAD, [("BIM_BVT", day.isoformat())]))).find(
        "Persoon/SocialeStatuten/SociaalStatuut")
    assert s.findtext("Resultaat/Code") == "1"
    assert s.findtext("Periodes/Periode/Begindatum") == "2025-01-01"
    assert s.find("Periodes/Periode/Einddatum") is None  # ends 2026-06-30: not known on 2026-05-01
    later = date(2026, 8, 1)
    s = inhoud(ask(later, sociaal_statuut(HEAD, [("BIM_BVT", day.isoformat())]))).find(
        "Persoon/SocialeStatuten/SociaalStatuut")
    assert s.findtext("Periodes/Periode/Einddatum") == "2026-06-30"
    s = inhoud(ask(later, sociaal_statuut(HEAD, [("BIM_BVT", "2026-07-15")]))).find(
        "Persoon/SocialeStatuten/SociaalStatuut")
    assert s.findtext("Resultaat/Code") == "0"
    lijst = inhoud(ask(later, voor_lijst([HEAD], [("BIM_BVT", "2026-07-15")])))
    assert lijst.findtext("Personen/Persoon/SocialeStatuten/SociaalStatuut/Resultaat") == "0"
    # A period that begins after the clock is not known at all, whatever day is asked.
    early = inhoud(ask(date(2024, 12, 1), sociaal_statuut(HEAD, [("BIM_BVT", "2025-03-01")]))).find(
        "Persoon/SocialeStatuten/SociaalStatuut")
    assert early.findtext("Resultaat/Code") == "0"


def _handicap(insz: str, day: date) -> bytes:
    return from_template("GeefDossierHandicap", "03.00.0000", insz).replace(
        b"<referenceDate>2025-01-01</referenceDate>", f"<referenceDate>{day.isoformat()}</referenceDate>".encode())


def test_a_card_exists_from_its_delivery_with_the_end_date_printed_on_it(ask):
    before = ask(date(2026, 4, 30), _handicap(HEAD, date(2026, 4, 30)))
    assert level3_codes(before) == ["70001"]
    day = date(2026, 5, 2)
    card = inhoud(ask(day, _handicap(HEAD, day))).find(".//socialCard")
    assert card.findtext("deliveryDate") == "2026-05-01"
    assert card.findtext("endDate") == "2031-05-01"
    # Asked about a past reference date, the card delivered after it is still not part of the file.
    assert level3_codes(ask(day, _handicap(HEAD, date(2026, 4, 1)))) == ["70001"]


def test_a_vehicle_exists_from_its_registration_and_is_cancelled_from_its_day(tsim):
    def status(day: date) -> tuple[int, str | None]:
        tsim.set_clock(day)
        r = requests.get(f"{tsim.base_url}/v1/mobility/registrations", params={"plateNr": PLATE}, timeout=30)
        items = r.json().get("items") if r.status_code == 200 and r.content else None
        mine = [i for i in items or [] if i["license"]["plateNr"] == PLATE]
        return r.status_code, mine[0]["license"]["status"]["code"] if mine else None

    assert status(date(2026, 1, 15))[1] is None
    assert status(date(2026, 3, 1)) == (200, "REG")
    assert status(date(2026, 8, 31)) == (200, "REG")
    assert status(date(2026, 9, 1)) == (200, "CAN")
    tsim.set_clock(date(2026, 1, 15))
    r = requests.get(f"{tsim.base_url}/v1/mobility/registrations", params={"nationalNr": HEAD}, timeout=30)
    assert r.status_code == 204
    tsim.set_clock(date(2026, 10, 1))
    r = requests.get(f"{tsim.base_url}/v1/mobility/registrations", params={"nationalNr": HEAD}, timeout=30)
    assert [i["license"]["status"]["code"] for i in r.json()["items"]] == ["CAN"]


def test_a_tax_assessment_is_there_from_its_available_from_day(ask):
    assert level3_codes(ask(date(2026, 7, 14), aanslagbiljet(HEAD, 2025))) == ["45008"]
    found = inhoud(ask(date(2026, 7, 15), aanslagbiljet(HEAD, 2025)))
    assert found.findtext("AanslagbiljetPersonenbelasting/Inkomensjaar") == "2025"


def test_leefloon_months_after_the_clock_are_not_paid_yet(ask):
    months = [m.get("JaarMaand") for m in inhoud(ask(date(2026, 3, 10), leefloon(HEAD, 2026, 2))).iter("Maand")]
    assert months == ["2026-01", "2026-02", "2026-03"]


def test_a_person_not_yet_born_on_the_clock_day_is_unknown(ask):
    assert level3_codes(ask(date(2015, 5, 1), persoon(CHILD))) == ["30001"]
    assert inhoud(ask(date(2015, 6, 1), persoon(CHILD))).findtext("Persoon/INSZ") == CHILD


def test_an_inscription_counts_from_its_begin_on_the_clock(tsim):
    """The repertorium is checked on the clock day (a separate simulator that checks inscriptions)."""
    path = Path(tsim.args[tsim.args.index("--population") + 1])
    afnemer = f"gent.be/t-{uuid.uuid4().hex[:8]}"
    with running_simulator(population=path, clock=date(2026, 1, 1)) as s, requests.Session() as http:
        def post(payload: bytes) -> etree._Element:
            r = http.post(s.soap_url(), data=payload, timeout=30,
                          headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})
            return body_child(r.content)
        post(registreer_inschrijving(HEAD, afnemer=afnemer, begin="2026-02-01"))
        assert level3_codes(post(from_template("GeefPersoon", "02.02.0000", HEAD, afnemer=afnemer))) == ["40003"]
        s.set_clock(date(2026, 2, 1))
        assert level3_codes(post(from_template("GeefPersoon", "02.02.0000", HEAD, afnemer=afnemer))) == []


def test_a_mutation_is_dated_on_the_clock_day(tsim, ask):
    afnemer = f"gent.be/t-{uuid.uuid4().hex[:8]}"
    tsim.set_clock(date(2026, 5, 20))
    tsim.admin("POST", "repertorium", {"afnemer": afnemer, "insz": [HEAD]})
    tsim.admin("POST", "mutations", {"insz": [HEAD]})
    batch = ask(date(2026, 5, 21), mutaties(afnemer=afnemer))
    assert batch.findtext(".//PersoonMutatiesNotificaties/DatumCreatie") == "2026-05-20"
    assert batch.findtext("Repliek/Context/Bericht/Tijdstip/Datum") == "2026-05-21"


# ----------------------------------------------------------------------------------------- history services


def test_person_history_lists_the_move_and_the_former_reference_person(ask):
    child = ask(date(2026, 5, 1), historiek("GeefHistoriekPersoon", PARTNER))
    assert_valid("Persoon.GeefHistoriekPersoon-02.02", child, strict=True)
    h = inhoud(child).find("HistoriekPersoon")
    res = h.findall("HistoriekAdressen/HistoriekHoofdverblijfplaats/Hoofdverblijfplaats")
    assert [(r.findtext("Straatnaam/String"), r.get("DatumBegin"), r.get("DatumEinde")) for r in res] == [
        ("Veldstraat", "2026-04-01", None), ("Hoogstraat", "2015-01-01", "2026-03-31")]
    refs = h.findall("HistoriekReferentiepersoon/Referentiepersoon")
    assert [(r.findtext("INSZ"), r.get("DatumBegin"), r.get("DatumEinde"), r.findtext("Positie/Code"))
            for r in refs] == [(HEAD, "2015-01-01", "2026-03-31", "02")]
    assert h.findtext("HistoriekGeboorte/Geboorte/Datum") == "1977-03-03"

    # Before the move, the register knows one open residence and the partner still under the head.
    h = inhoud(ask(date(2026, 3, 1), historiek("GeefHistoriekPersoon", PARTNER))).find("HistoriekPersoon")
    res = h.findall("HistoriekAdressen/HistoriekHoofdverblijfplaats/Hoofdverblijfplaats")
    assert [(r.findtext("Straatnaam/String"), r.get("DatumEinde")) for r in res] == [("Hoogstraat", None)]
    assert h.find("HistoriekReferentiepersoon/Referentiepersoon").get("DatumEinde") is None


def test_person_history_knows_a_death_only_after_it(ask):
    h = inhoud(ask(date(2026, 6, 1), historiek("GeefHistoriekPersoon", WIDOW))).find("HistoriekPersoon")
    assert h.find("HistoriekOverlijden") is None
    child = ask(date(2026, 7, 1), historiek("GeefHistoriekPersoon", WIDOW))
    assert_valid("Persoon.GeefHistoriekPersoon-02.02", child, strict=True)
    h = inhoud(child).find("HistoriekPersoon")
    assert h.findtext("HistoriekOverlijden/Overlijden/Datum") == DEATH.isoformat()
    assert h.find("HistoriekAdressen/HistoriekHoofdverblijfplaats/Hoofdverblijfplaats").get("DatumEinde") == \
        DEATH.isoformat()


def _compositions(h: etree._Element) -> list[list[tuple[str | None, str | None, str | None, str | None]]]:
    return [[(g.findtext("INSZ"), g.findtext("Positie/Code"), g.get("DatumBegin"), g.get("DatumEinde"))
             for g in c.iterfind("Gezinsleden/Gezinslid")]
            for c in h.iterfind("HistoriekGezinssamenstelling/Gezinssamenstelling")]


def test_household_history_shows_the_split_as_two_compositions(ask):
    child = ask(date(2026, 5, 1), historiek("GeefHistoriekGezinssamenstelling", CHILD))
    assert_valid("Persoon.GeefHistoriekGezinssamenstelling-02.02", child, strict=True)
    assert _compositions(inhoud(child)) == [
        [(PARTNER, "01", "2026-04-01", None), (CHILD, "03", "2026-04-01", None)],
        [(HEAD, "01", "2015-06-01", "2026-03-31"), (PARTNER, "02", "2015-06-01", "2026-03-31"),
         (CHILD, "03", "2015-06-01", "2026-03-31")],
    ]  # each member for the period they shared the household with the child (the store's household periods)
    head = inhoud(ask(date(2026, 5, 1), historiek("GeefHistoriekGezinssamenstelling", HEAD)))
    assert _compositions(head) == [[(HEAD, "01", "2015-01-01", None), (PARTNER, "02", "2015-01-01", "2026-03-31"),
                                    (CHILD, "03", "2015-06-01", "2026-03-31")]]
    # Before the split: one composition, nobody has left.
    assert _compositions(inhoud(ask(date(2026, 3, 1), historiek("GeefHistoriekGezinssamenstelling", CHILD)))) == [
        [(HEAD, "01", "2015-06-01", None), (PARTNER, "02", "2015-06-01", None), (CHILD, "03", "2015-06-01", None)]]
    # Asked from a day after the split, what ended before it is left out.
    assert _compositions(inhoud(ask(date(2026, 5, 1), historiek("GeefHistoriekGezinssamenstelling", CHILD,
                                                                 "2026-04-15")))) == [
        [(PARTNER, "01", "2026-04-01", None), (CHILD, "03", "2026-04-01", None)]]


def test_history_of_a_person_outside_the_store_is_the_canned_answer(ask):
    day = date(2026, 5, 1)
    h = inhoud(ask(day, historiek("GeefHistoriekPersoon", "71690499880")))
    assert h.findtext("HistoriekPersoon/INSZ") == "71690499880"
    g = ask(day, historiek("GeefHistoriekGezinssamenstelling", "12642599819"))
    assert g.findtext("Repliek/Context/Bericht/Tijdstip/Datum") == day.isoformat()
    assert len(inhoud(g).findall("HistoriekGezinssamenstelling/Gezinssamenstelling/Gezinsleden/Gezinslid")) == 3
    assert level3_codes(ask(day, historiek("GeefHistoriekPersoon", make_insz(66, 6, 6, 606)))) == ["30001"]


# ------------------------------------------------------------------------------------------------ the store


def test_cancelled_and_available_from_survive_the_json_round_trip():
    for p in timeline():
        assert person_from_json(person_to_json(p)) == p
    record = person_to_json(timeline()[0])
    assert record["vehicles"][0]["cancelled"] == "2026-09-01"
    assert record["tax"][0]["available_from"] == "2026-07-15"
