"""Answers rendered from the synthetic population store, one function per service ``Inhoud``.

Shapes follow the canned MAGDA-Mock answers of the same service (which validate against the official XSDs),
filled with the person's data; ``tests/simulator`` validates each against its response XSD.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from lxml import etree

from proactief_sim.simulator.population import Address, Person
from proactief_sim.simulator.wire import U_NO_DATA, U_NO_INCOME_YEAR, Uitzondering, attr, esc

__all__ = ["PersonLookup", "persoon_inhoud", "gezin_antwoord", "gezin_inhoud", "in_bis_register", "handicap_inhoud",
           "aanslag_inhoud", "leefloon_inhoud"]

_GENDER = {"M": ("1", "Mannelijk"), "F": ("2", "Vrouwelijk"), "V": ("2", "Vrouwelijk")}
_POSITION = {"01": "Referentiepersoon", "02": "Echtgeno(o)t(e)", "03": "Zoon/dochter", "04": "Kleinkind",
             "05": "Vader/moeder", "06": "Grootouder", "07": "Broer/zus", "08": "Schoonzoon/-dochter",
             "09": "Schoonouder", "10": "Schoonbroer/-zus", "11": "Stiefkind", "12": "Stiefouder",
             "13": "Neef/nicht", "14": "Oom/tante", "15": "Andere verwant", "16": "Niet-verwant"}
_COUNTRY = {"150": ("BEL", "BELGIE")}
OCMW_GENT_KBO = "0212189676"

PersonLookup = Callable[[str], Person | None]
"""How a renderer finds another person (a household member): as the register knows them on the clock day."""


def _naam(p: Person) -> str:
    voornamen = "".join(f"<Voornaam>{esc(v)}</Voornaam>" for v in p.first_names)
    return (f"<Naam><Achternamen><Achternaam>{esc(p.last_name or '-')}</Achternaam></Achternamen>"
            + (f"<Voornamen>{voornamen}</Voornamen>" if voornamen else "") + "</Naam>")


def _geslacht(p: Person) -> str:
    code = _GENDER.get(p.gender)
    return f"<Geslacht><Code>{code[0]}</Code><Omschrijving>{code[1]}</Omschrijving></Geslacht>" if code else ""


def _adres(a: Address) -> str:
    iso, land = _COUNTRY.get(a.country_nis, ("", ""))
    return (
        f"<Straatnaam><String>{esc(a.street)}</String><Taal>nl</Taal></Straatnaam>"
        f"<Huisnummer>{esc(a.house_number)}</Huisnummer>"
        + (f"<Busnummer>{esc(a.box)}</Busnummer>" if a.box else "")
        + f"<Gemeentenaam><String>{esc(a.municipality)}</String><Taal>nl</Taal></Gemeentenaam>"
        + (f"<Land><String>{land}</String><Taal>nl</Taal></Land>" if land else "")
        + f"<Postcode>{esc(a.postcode)}</Postcode><NISCodeLand>{esc(a.country_nis)}</NISCodeLand>"
        + (f"<ISOCodeLand>{iso}</ISOCodeLand>" if iso else "")
        + f"<NISCodeGemeente>{esc(a.nis_code)}</NISCodeGemeente>"
    )


def _positie(code: str) -> str:
    label = _POSITION.get(code)
    return f"<Positie><Code>{esc(code)}</Code>" + (
        f'<Omschrijving Taal="nl">{label}</Omschrijving>' if label else "") + "</Positie>"


def in_bis_register(p: Person) -> bool:
    """Known only in the KSZ bis register: a contact address, never a main residence or a household."""
    return not p.residences and not p.household and p.contact_address is not None


def _register(p: Person) -> str:
    """``Register``: MAGDA names the register the person is in (MAGDA-Mock: RR, or BIS for every bis person)."""
    code, label = ("BIS", "BIS register") if in_bis_register(p) else ("RR", "Rijksregister")
    return f'<Register><Code>{code}</Code><Omschrijving Taal="nl">{label}</Omschrijving></Register>'


def _geboorte(p: Person) -> str:
    """``Geboorte`` with place and certificate number, as MAGDA always sends them (MAGDA-Mock: all but a few).

    The store keeps no birth place: the earliest municipality the person is known at stands in for it, and the
    certificate number is derived from the INSZ (shape only; nothing reads either).
    """
    first = min(p.residences, key=lambda r: r.period.begin).address if p.residences else p.contact_address
    nis, name = (first.nis_code, first.municipality) if first is not None else ("44021", "Gent")
    # MAGDA-Mock names a bis person's birth place without a NIS code (a place abroad or unknown to the RR).
    code = "" if in_bis_register(p) else f"<NISCode>{esc(nis)}</NISCode>"
    return (f"<Geboorte><Datum>{p.birth_date.isoformat()}</Datum><Plaats><Gemeente>{code}"
            f"<Naam>{esc(name)}</Naam></Gemeente><Land><NISCode>150</NISCode><ISOCode>BEL</ISOCode>"
            f"<Naam>BELGIE</Naam></Land></Plaats><Aktenummer>{10000 + int(p.insz[6:9])}</Aktenummer></Geboorte>")


_NATIONALITY = {"150": "Belg"}


def persoon_inhoud(p: Person, lookup: PersonLookup, today: date) -> str:
    """GeefPersoon-02.02 ``Inhoud``: identity, register, birth/death, residence, contact address, household."""
    parts = [f'<Persoon Bron="RR"><INSZ>{p.insz}</INSZ>', _naam(p), _geslacht(p), _register(p)]
    if p.nationality:
        label = _NATIONALITY.get(p.nationality, "Onbekend")
        parts.append(f"<Nationaliteiten><Nationaliteit><Code>{esc(p.nationality)}</Code>"
                     f"<Omschrijving>{label}</Omschrijving></Nationaliteit></Nationaliteiten>")
    parts.append(_geboorte(p))
    if p.death_date:
        parts.append(f"<Overlijden><Datum>{p.death_date.isoformat()}</Datum></Overlijden>")
    res = p.current_residence()
    if res is not None or p.contact_address is not None:
        parts.append("<Adressen>")
        if res is not None:
            end = f" DatumEinde={attr(res.period.end.isoformat())}" if res.period.end else ""
            parts.append(f"<Hoofdverblijfplaats DatumBegin={attr(res.period.begin.isoformat())}{end}>"
                         f"{_adres(res.address)}</Hoofdverblijfplaats>")
        if p.contact_address is not None:
            parts.append(f"<ContactAdres>{_adres(p.contact_address)}<Type><Code>1</Code>"
                         '<Omschrijving Taal="nl">Tijdelijk verblijf</Omschrijving></Type></ContactAdres>')
        parts.append("</Adressen>")
    # GeefPersoon-02.02 gives the current household (history is another service): members whose membership
    # ended are left out, as the Rijksregister does. As in MAGDA (MAGDA-Mock 10712995476 vs 84640438954), only the
    # reference person's own answer lists the Gezinsleden; a member's answer names its Referentiepersoon, with
    # the member's own position in that household, and nobody else.
    household = [m for m in p.household if m.end is None or m.end >= today]
    me = next((m for m in household if m.insz == p.insz), None)
    ref = next((m for m in household if m.is_reference_person), None)
    if me is not None and ref is not None and ref.insz != p.insz:
        other = lookup(ref.insz)
        begin = f" DatumBegin={attr(me.begin.isoformat())}" if me.begin else ""
        parts.append(f"<Referentiepersoon{begin}><INSZ>{ref.insz}</INSZ>")
        if other is not None:
            parts.append(_naam(other) + f"<Geboortedatum>{other.birth_date.isoformat()}</Geboortedatum>")
        parts.append(_positie(me.position) + "</Referentiepersoon>")
        parts.append("</Persoon>")
        return "".join(parts)
    others = [m for m in household if m.insz != p.insz]
    if others:
        parts.append("<Gezinsleden>")
        for m in others:
            q = lookup(m.insz)
            begin = f" DatumBegin={attr(m.begin.isoformat())}" if m.begin else ""
            parts.append(f"<Gezinslid{begin}><INSZ>{m.insz}</INSZ>")
            if q is not None:
                parts.append(_naam(q) + _geslacht(q) + f"<Geboortedatum>{q.birth_date.isoformat()}</Geboortedatum>")
            parts.append(_positie(m.position) + "</Gezinslid>")
        parts.append("</Gezinsleden>")
    parts.append("</Persoon>")
    return "".join(parts)


def gezin_antwoord(p: Person, lookup: PersonLookup, today: date) -> tuple[str | None, list[Uitzondering]]:
    """GeefGezinssamenstelling-02.02 answer: the household, or 30001 for a person only in the bis register (the
    Rijksregister keeps no household for them; their GeefPersoon has no household either)."""
    if in_bis_register(p):
        return None, [U_NO_DATA]
    return gezin_inhoud(p, lookup, today), []


def gezin_inhoud(p: Person, lookup: PersonLookup, today: date) -> str:
    """GeefGezinssamenstelling-02.02 ``Inhoud``: every household member with position and residence."""
    members = [m for m in p.household if m.end is None or m.end >= today]
    if not members:
        members_xml = [(p.insz, "01", None)]
    else:
        members_xml = [(m.insz, m.position, m.begin) for m in members]
    parts = ["<Gezinsleden>"]
    for insz, position, begin in members_xml:
        q = p if insz == p.insz else lookup(insz)
        b = f" DatumBegin={attr(begin.isoformat())}" if begin else ""
        parts.append(f"<Gezinslid{b}><INSZ>{insz}</INSZ>")
        if q is not None:
            parts.append(_naam(q) + _geslacht(q) + f"<Geboortedatum>{q.birth_date.isoformat()}</Geboortedatum>")
        parts.append(_positie(position))
        res = q.current_residence() if q is not None else None
        if res is not None:
            parts.append(f"<Adressen><Hoofdverblijfplaats DatumBegin={attr(res.period.begin.isoformat())}>"
                         f"{_adres(res.address)}</Hoofdverblijfplaats></Adressen>")
        # Every canned member carries its source and the municipality that keeps its record (Beheerder).
        gemeente = (f"<Gemeente><NISCode>{esc(res.address.nis_code)}</NISCode>"
                    f"<Naam>{esc(res.address.municipality)}</Naam></Gemeente>") if res is not None else ""
        parts.append('<Bron><Code>RR</Code><Omschrijving Taal="nl">Rijksregister</Omschrijving></Bron>'
                     f"<Beheerder><Plaats>{gemeente}<Land><NISCode>150</NISCode><ISOCode>BEL</ISOCode>"
                     "<Naam>BELGIE</Naam></Land></Plaats></Beheerder></Gezinslid>")
    parts.append("</Gezinsleden>")
    return "".join(parts)


_NO_DATA_STATUS = ("<status><value>NO_DATA_FOUND</value><code>MSG00100</code>"
                   "<description>Treatment successful, but no data found at the supplier.</description></status>")
_FOUND_STATUS = ("<status><value>DATA_FOUND</value><code>MSG00000</code>"
                 "<description>Treatment successful</description></status>")
HANDICAP_NO_DATA = Uitzondering("70001", "Antwoord met waarschuwing", type="WAARSCHUWING", oorsprong="KSZ",
                                omstandigheid="NO_DATA_FOUND",
                                annotaties=(("status code", "MSG00100"),
                                            ("status description",
                                             "Treatment successful, but no data found at the supplier.")))


def handicap_inhoud(p: Person, reference_date: date | None, today: date) -> tuple[str, list[Uitzondering]]:
    """GeefDossierHandicap-03.00 ``Inhoud`` (KSZ ConsultFilesByDate): the DG Personen met een handicap cards.

    Cards delivered after the reference date are not part of the file on that date. No cards -> the KSZ
    "no data" answer with its 70001 warning, as the canned ``notfound.xml`` does.
    """
    day = reference_date or today
    cards = [c for c in p.social_cards if c.delivery_date <= day]
    if not cards:
        return (
            f"<ConsultFilesByDateResponse>{_NO_DATA_STATUS}<results><dgphResult>"
            "<status><value>NO_DATA_FOUND</value><code>MSG00021</code>"
            "<description>Treatment successful, but no data found at the supplier.</description></status>"
            "</dgphResult></results></ConsultFilesByDateResponse>",
            [HANDICAP_NO_DATA],
        )
    xml_cards = "".join(
        f"<socialCard><deliveryDate>{c.delivery_date.isoformat()}</deliveryDate>"
        + (f"<endDate>{c.end_date.isoformat()}</endDate>" if c.end_date else "")
        + (f"<cardNumber>{_digits(c.card_number, 10)}</cardNumber>" if _digits(c.card_number, 10) else "")
        + f"<cardCategory>{esc(c.category)}</cardCategory></socialCard>"
        for c in cards
    )
    return (
        f"<ConsultFilesByDateResponse>{_FOUND_STATUS}<ssin>{p.insz}</ssin><results><dgphResult>{_FOUND_STATUS}"
        f"<file><socialCards>{xml_cards}</socialCards></file></dgphResult></results></ConsultFilesByDateResponse>",
        [],
    )


_FISCAL = {"A": "Titularis", "B": "Partner"}


def aanslag_inhoud(p: Person, criteria: etree._Element | None, today: date) -> tuple[str | None, list[Uitzondering]]:
    """GeefAanslagbiljetPersonenbelasting-02.00 ``Inhoud`` for the asked income year (45008 when absent, or not
    there yet: an assessment exists from its ``available_from`` day)."""
    year_text = criteria.findtext("Inkomensjaar") if criteria is not None else None
    year = int(year_text) if year_text and year_text.strip().isdigit() else None
    asked_codes = set()
    if criteria is not None:
        asked_codes = {c.text.strip() for c in criteria.iterfind("IPCALCodes/IPCALCode") if c.text}
    found = [t for t in p.tax_assessments if (year is None or t.income_year == year)
             and (t.available_from is None or t.available_from <= today)]
    if not found:
        return None, [U_NO_INCOME_YEAR]
    t = max(found, key=lambda a: a.income_year)
    items = [i for i in t.items if not asked_codes or i.code[1:] in asked_codes or i.code in asked_codes]
    status = esc(_FISCAL.get(t.fiscal_status, t.fiscal_status))
    xml = (
        f"<AanslagbiljetPersonenbelasting><GevraagdePersoon><INSZ>{p.insz}</INSZ><FiscaleStatus>"
        f"<Code>{esc(t.fiscal_status)}</Code><Omschrijving>{status}</Omschrijving></FiscaleStatus>"
        f"</GevraagdePersoon><Inkomensjaar>{t.income_year}</Inkomensjaar>"
        + (f"<Artikelnummer>{_digits(t.article_number, 9)}</Artikelnummer>" if _digits(t.article_number, 9) else "")
    )
    if items:
        xml += "<Items>" + "".join(f"<Item><Code>{esc(i.code)}</Code><Waarde>{i.value}</Waarde></Item>"
                                   for i in items) + "</Items>"
    return xml + "</AanslagbiljetPersonenbelasting>", []


def _digits(value: str | None, width: int) -> str:
    """A number of exactly ``width`` digits (zero-padded) as the XSD wants, or "" when it cannot be one."""
    if not value or not value.isdigit() or len(value) > width:
        return ""
    return value.zfill(width)


def _money(d: Decimal) -> str:
    return f"{d.quantize(Decimal('0.01'))}"


def leefloon_inhoud(p: Person, criteria: etree._Element | None, today: date) -> str:
    """GeefLeefloonbedragen-02.00 ``Inhoud``: per asked year the leefloon paid by the OCMW, month by month."""
    year_text = criteria.findtext("Jaar") if criteria is not None else None
    back_text = criteria.findtext("AantalJaarTerug") if criteria is not None else None
    last = int(year_text) if year_text and year_text.strip().isdigit() else today.year
    back = int(back_text) if back_text and back_text.strip().isdigit() else 0
    by_year = {y.year: y for y in p.leefloon}
    partner_insz = next((m.insz for m in p.household if m.position == "02" and m.insz != p.insz), None)
    partner = (f"<Partner><INSZ>{partner_insz}</INSZ></Partner>" if partner_insz
               else "<Partner><TweedeGerechtigde>0</TweedeGerechtigde></Partner>")
    parts = ["<Leefloonbedragen>"]
    for year in range(last - back, last + 1):
        y = by_year.get(year)
        if y is None or not y.payments:
            parts.append(f'<Leefloonbedrag><Jaar>{year}</Jaar><Uitbetaling Beschrijving="Geen uitbetaling">0'
                         "</Uitbetaling></Leefloonbedrag>")
            continue
        months = sorted(y.payments, key=lambda q: q.month)
        parts.append(
            f'<Leefloonbedrag><Jaar>{year}</Jaar><Tegemoetkoming><Jaarlijks Jaar="{year}"><Leefloon>'
            f"<Bedrag>{_money(y.total)}</Bedrag><TweedeGerechtigde>0</TweedeGerechtigde>"
            f"<AantalMaandenZonderToelage>{max(0, 12 - len(months))}</AantalMaandenZonderToelage>"
            "<MaximumLeefloonGekregen>0</MaximumLeefloonGekregen></Leefloon></Jaarlijks><Maandelijks>"
        )
        for q in months:
            yy, mm = int(q.month[:4]), int(q.month[5:7])
            last_day = calendar.monthrange(yy, mm)[1]
            ident = f"{yy:04d}{mm:02d}01"
            parts.append(
                f'<Maand JaarMaand="{q.month}"><LeefloonPerPeriode LaatsteUitbetaling="1">'
                f'<LeefloonPeriode ID="{ident}"><Bedrag>{_money(q.amount)}</Bedrag>'
                f"<Periode><Begin>{q.month}-01</Begin><Einde>{q.month}-{last_day:02d}</Einde></Periode>"
                f"<Begunstigde><INSZ>{p.insz}</INSZ></Begunstigde>{partner}"
                f"<OCMW><Ondernemingsnummer>{OCMW_GENT_KBO}</Ondernemingsnummer><Bestand>{ident}</Bestand>"
                "<Suffix>0</Suffix></OCMW><MaximumLeefloonGekregen>0</MaximumLeefloonGekregen>"
                "</LeefloonPeriode></LeefloonPerPeriode></Maand>"
            )
        parts.append("</Maandelijks></Tegemoetkoming></Leefloonbedrag>")
    parts.append("</Leefloonbedragen>")
    return "".join(parts)
