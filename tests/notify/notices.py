"""Notices for every scheme and tier, built the way the dispatcher builds them (with a realistic INSZ)."""

from __future__ import annotations

import datetime as dt
import re
import socket
from dataclasses import replace
from decimal import Decimal

from proactief.insz import is_valid_insz
from proactief.notify.model import BenefitLine, CardInfo, Notice
from proactief.notify.render import format_date

INSZ = "85073003328"
"""A realistic INSZ (born 30 July 1985, valid check digits): must never show up in what a citizen reads."""
INSZ_DOTTED = "85.07.30-033.28"
MESSAGE_ID = "notify.email.5f2c0a9d41e7b3c8@proactief.gent"
SENT_ON = dt.date(2027, 1, 15)
PLATE = "1-ABC-123"
SCHOOL = "Stedelijke Basisschool Het Kompas"

REGISTRY = "Rijksregister – GeefPersoon"
SOCIAL = "Kruispuntbank van de Sociale Zekerheid – GeefSociaalStatuut"
TAX = "FOD Financiën – GeefAanslagbiljetPersonenbelasting"
HANDICAP = "FOD Sociale Zekerheid – GeefDossierHandicap"
VEHICLES = "DIV – Inschrijvingen voertuigen"
CITY = "Stad Gent – inschrijvingen stedelijke scholen en opvang"

TIER_PERCENTAGES = {
    "leefloon": (Decimal("100"), Decimal("80")),
    "inkomen-laag": (Decimal("50"), Decimal("25")),
    "inkomen-midden": (Decimal("50"), Decimal("0")),
}


def uitpas() -> BenefitLine:
    return BenefitLine("uitpas-kansentarief", None, "2027-01", dt.date(2027, 1, 1), dt.date(2027, 12, 31),
                       percentages={"korting": Decimal("80")}, sources=(REGISTRY, SOCIAL))


def uitpas_no_card() -> BenefitLine:
    """The kansentarief of a person without a UiTPAS yet ("wacht op pas"): the message says how to get the pass."""
    card = CardInfo(where="Aan een UiTPAS-balie in Gent, bijvoorbeeld in de bibliotheek De Krook.",
                    bring="uw identiteitskaart (of verblijfskaart).", price=Decimal("1"),
                    fetch_by=dt.date(2027, 6, 30))
    return replace(uitpas(), card=card)


def ivago() -> BenefitLine:
    return BenefitLine("ivago-tegemoetkoming", None, "2027", dt.date(2027, 1, 1), dt.date(2027, 12, 31),
                       amounts={"waardebon": Decimal("42"), "inzamelkrediet": Decimal("21.00")},
                       sources=(REGISTRY, SOCIAL))


def onderwijs(tier: str = "leefloon", institution: str | None = SCHOOL) -> BenefitLine:
    opvang, maaltijden = TIER_PERCENTAGES[tier]
    return BenefitLine("onderwijskorting", tier, "2026-2027", dt.date(2026, 9, 1), dt.date(2027, 8, 31),
                       percentages={"opvang": opvang, "maaltijden": maaltijden}, institution_name=institution,
                       sources=(REGISTRY, SOCIAL, TAX, CITY))


def lez() -> BenefitLine:
    return BenefitLine("lez-vrijstelling", None, "2027-W03", dt.date(2027, 1, 11), dt.date(2030, 6, 30),
                       vehicle_plate=PLATE, sources=(REGISTRY, SOCIAL, HANDICAP, VEHICLES))


def notice(*benefits: BenefitLine, channel: str = "email", message_id: str = MESSAGE_ID) -> Notice:
    assert is_valid_insz(INSZ)
    return Notice(message_id=message_id, channel=channel, insz=INSZ, email="bewoner@example.org",  # type: ignore[arg-type]
                  address_line="Kerkstraat 12 bus 3, 9000 Gent", sent_on=SENT_ON, benefits=benefits or (uitpas(),))


def on_channel(n: Notice, channel: str, message_id: str | None = None) -> Notice:
    return replace(n, channel=channel, message_id=message_id or n.message_id.replace("email", channel))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the cases every test walks through

CHANNELS = ("email", "letter", "ebox")
SINGLE = {
    "uitpas": (uitpas(),),
    "uitpas-zonder-pas": (uitpas_no_card(),),
    "ivago": (ivago(),),
    "onderwijs-leefloon": (onderwijs("leefloon"),),
    "onderwijs-inkomen-laag": (onderwijs("inkomen-laag"),),
    "onderwijs-inkomen-midden": (onderwijs("inkomen-midden"),),
    "onderwijs-zonder-school": (onderwijs("inkomen-laag", institution=None),),
    "lez": (lez(),),
}
COMBINED = {"alle-vier": (uitpas(), ivago(), onderwijs("inkomen-laag"), lez())}
CASES = {**SINGLE, **COMBINED}


def assert_no_insz(*texts: str) -> None:
    for text in texts:
        assert INSZ not in text
        assert INSZ_DOTTED not in text
        assert INSZ not in re.sub(r"\D", "", text), "the INSZ's digits appear, spread over the text"


def facts(line: BenefitLine) -> list[str]:
    """What a block must say about its benefit, as the citizen reads it."""
    out = [format_date(line.valid_from), *line.sources]
    if line.valid_until:
        out.append(format_date(line.valid_until))
    if line.scheme_id == "uitpas-kansentarief":
        out += ["80% korting", "kansentarief"]
        if line.card is not None:  # "wacht op pas": how to get the pass
            out += ["U hebt nog geen UiTPAS", "UiTPAS-balie", "identiteitskaart", "€ 1,00",
                    format_date(line.card.fetch_by)]
    elif line.scheme_id == "ivago-tegemoetkoming":
        out += ["waardebon van € 42,00", "€ 21,00 extra inzamelkrediet", "het jaar 2027"]
    elif line.scheme_id == "onderwijskorting":
        out += ["schooljaar 2026-2027"]
        if line.institution_name:
            out.append(line.institution_name)
    elif line.scheme_id == "lez-vrijstelling":
        out += [PLATE, "lage-emissiezone"]
    return out
