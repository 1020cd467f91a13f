"""The history services, rendered from the population store's timeline: ``GeefHistoriekPersoon-02.02`` and
``GeefHistoriekGezinssamenstelling-02.02``.

Both answer the whole history the register knows on the clock day (the caller hands in the person as of that
day, see ``timeline.as_of``), from the question's ``Criteria/Datum`` on: what ended before it is left out.
Shapes follow MAGDA-Mock's canned answers (``testcases/Persoon/GeefHistoriek*``): lists newest first, each
entry dated with ``DatumBegin``; an entry that has ended carries ``DatumEinde`` (its last day), so a reader
never has to guess an end from the next entry's begin (a move abroad or a death has no next entry).

How the store's household list becomes compositions: the person's own entries are their memberships (one per
household they belonged to); every other entry was shared within one of them. One ``Gezinssamenstelling`` per
membership, newest first, lists everyone who shared it with the person, each with the shared period and their
position in that household.
"""

from __future__ import annotations

from datetime import date

from proactief_sim.simulator.population import HouseholdMember, Person
from proactief_sim.simulator.render import PersonLookup, _adres, _naam, _positie, in_bis_register
from proactief_sim.simulator.wire import U_NO_DATA, Uitzondering, attr, esc

__all__ = ["historiek_persoon_inhoud", "historiek_gezin_antwoord", "memberships"]

_GENDER = {"M": ("1", "Mannelijk"), "F": ("2", "Vrouwelijk"), "V": ("2", "Vrouwelijk")}
_NATIONALITY = {"150": "Belg"}
_BELGIE = "<Land><NISCode>150</NISCode><ISOCode>BEL</ISOCode><Naam>BELGIE</Naam></Land>"
_RR = '<Bron><Code>RR</Code><Omschrijving Taal="nl">Rijksregister</Omschrijving></Bron>'


def _dates(begin: date | None, end: date | None) -> str:
    out = f" DatumBegin={attr(begin.isoformat())}" if begin is not None else ""
    return out + (f" DatumEinde={attr(end.isoformat())}" if end is not None else "")


def _geslacht(p: Person, taal: bool = False) -> str:
    code = _GENDER.get(p.gender)
    if code is None:
        return ""
    t = ' Taal="nl"' if taal else ""
    return f"<Geslacht><Code>{code[0]}</Code><Omschrijving{t}>{code[1]}</Omschrijving></Geslacht>"


def _ended_before(end: date | None, vanaf: date | None) -> bool:
    return vanaf is not None and end is not None and end < vanaf


def memberships(p: Person) -> list[tuple[HouseholdMember, list[HouseholdMember]]]:
    """The person's household memberships (own entry, everyone who shared it), newest first.

    A person without an own entry (a single person, or a store written before households had periods) has one
    membership of their own: themselves as reference person, as GeefGezinssamenstelling answers them.
    """
    own = sorted((m for m in p.household if m.insz == p.insz), key=lambda m: m.begin or date.min, reverse=True)
    if not own:
        begin = min((r.period.begin for r in p.residences), default=None)
        me = HouseholdMember(p.insz, "01", begin)
        return [(me, [me] + [m for m in p.household if m.insz != p.insz])]
    out = []
    left = [m for m in p.household if m.insz != p.insz]
    for mine in own:  # newest first: an entry belongs to the membership it overlaps, shown for the shared period
        lo, hi = mine.begin or date.min, mine.end or date.max
        shared, rest = [], []
        for m in left:
            b, e = max(m.begin or lo, lo), min(m.end or hi, hi)
            if b <= e:
                shared.append(HouseholdMember(m.insz, m.position, b if b != date.min else None,
                                              e if e != date.max else None))
            else:
                rest.append(m)
        left = rest
        out.append((mine, [mine] + shared))
    return out


def _member_order(m: HouseholdMember) -> tuple[str, str, str]:
    return ((m.begin or date.min).isoformat(), m.position, m.insz)


# ------------------------------------------------------------------------------------- GeefHistoriekGezin


def historiek_gezin_antwoord(p: Person, lookup: PersonLookup, vanaf: date | None
                             ) -> tuple[str | None, list[Uitzondering]]:
    """GeefHistoriekGezinssamenstelling-02.02 answer: the compositions the person was part of (30001 for a
    person only in the bis register, who has no household in the Rijksregister)."""
    if in_bis_register(p):
        return None, [U_NO_DATA]
    parts = ["<HistoriekGezinssamenstelling>"]
    n = 0
    for mine, members in memberships(p):
        if _ended_before(mine.end, vanaf):
            continue
        kept = sorted((m for m in members if not _ended_before(m.end, vanaf)), key=_member_order)
        parts.append("<Gezinssamenstelling><Gezinsleden>")
        for m in kept:
            q = p if m.insz == p.insz else lookup(m.insz)
            parts.append(f"<Gezinslid{_dates(m.begin, m.end)}><INSZ>{m.insz}</INSZ>")
            if q is not None:
                parts.append(_naam(q) + _geslacht(q, taal=True)
                             + f"<Geboortedatum>{q.birth_date.isoformat()}</Geboortedatum>")
            parts.append(_positie(m.position) + "<Woonvorm><Code>00</Code></Woonvorm>" + _RR + "</Gezinslid>")
        parts.append("</Gezinsleden></Gezinssamenstelling>")
        n += 1
    if n == 0:
        return None, [U_NO_DATA]
    parts.append("</HistoriekGezinssamenstelling>")
    return "".join(parts), []


# ----------------------------------------------------------------------------------------- GeefHistoriekPersoon


def _beheerder(p: Person) -> str:
    """The municipality that keeps the record: the one of the latest main residence, since the person's main
    residence has been there. Only the current one: MAGDA-Mock's earlier Beheerders come dated one way in some
    files and another in others, and nothing reads them (the residences carry the history)."""
    if not p.residences:
        return ""
    res = sorted(p.residences, key=lambda r: r.period.begin)
    nis, name = res[-1].address.nis_code, res[-1].address.municipality
    begin = res[-1].period.begin
    for r in reversed(res[:-1]):
        if r.address.nis_code != nis:
            break
        begin = r.period.begin
    return (f"<HistoriekBeheerder><Beheerder{_dates(begin, None)}><Plaats><Gemeente><NISCode>{esc(nis)}</NISCode>"
            f"<Naam>{esc(name)}</Naam></Gemeente>{_BELGIE}</Plaats><Fusie><Code>0</Code><Omschrijving>NEEN"
            "</Omschrijving></Fusie><Taalregime><Code>1</Code><Omschrijving>Nederlands of Duits</Omschrijving>"
            "</Taalregime></Beheerder></HistoriekBeheerder>")


def _birth_place(p: Person) -> str:
    """``Plaats`` of the birth: the earliest municipality the person is known at (the store keeps no birth place)."""
    first = min(p.residences, key=lambda r: r.period.begin).address if p.residences else p.contact_address
    nis, name = (first.nis_code, first.municipality) if first is not None else ("44021", "Gent")
    return f"<Plaats><Gemeente><NISCode>{esc(nis)}</NISCode><Naam>{esc(name)}</Naam></Gemeente>{_BELGIE}</Plaats>"


def _akte(p: Person) -> str:
    return f"<Aktenummer>{10000 + int(p.insz[6:9])}</Aktenummer>"


def _as_child(p: Person) -> list[HouseholdMember] | None:
    """The members of the oldest household the person lived in as a child of its reference person (position
    03 or 11), if the store has one: its reference person and partner stand in for the parents."""
    found = None
    for mine, members in memberships(p):  # newest first: the last hit is the oldest
        if mine.position in ("03", "11"):
            found = members
    return found


def _geboorte(p: Person) -> str:
    born = p.birth_date.isoformat()
    return (f'<HistoriekGeboorte><Geboorte DatumBegin="{born}"><Datum>{born}</Datum>{_birth_place(p)}{_akte(p)}'
            "</Geboorte></HistoriekGeboorte>")


def _ouder(q: Person) -> str:
    return (f"<Ouder><INSZ>{q.insz}</INSZ>{_naam(q)}{_geslacht(q)}"
            f"<Geboortedatum>{q.birth_date.isoformat()}</Geboortedatum></Ouder>")


def _afstamming(p: Person, lookup: PersonLookup) -> str:
    """Filiation: the store keeps no parents, so the reference person and partner of the household a child was
    grew up in stand in for them, with the birth's place and certificate; a person the store has no such
    household for gets the filiation's type only (the register's parents are not in the store)."""
    born = p.birth_date.isoformat()
    head = (f'<HistoriekAfstamming><Afstamming DatumBegin="{born}"><Type><Code>20</Code>'
            "<Omschrijving>Kind</Omschrijving>")
    household = _as_child(p)
    if household is None:
        return head + "</Type></Afstamming></HistoriekAfstamming>"
    parents = [q for m in household if m.position in ("01", "02") and m.insz != p.insz
               and (q := lookup(m.insz)) is not None]
    ouders = f"<Ouders>{''.join(_ouder(q) for q in parents)}</Ouders>" if parents else ""
    return head + f"</Type>{_birth_place(p)}{_akte(p)}{ouders}</Afstamming></HistoriekAfstamming>"


def _adressen(p: Person, vanaf: date | None) -> str:
    res = sorted(p.residences, key=lambda r: r.period.begin, reverse=True)
    items = [f"<Hoofdverblijfplaats{_dates(r.period.begin, r.period.end)}>{_adres(r.address)}</Hoofdverblijfplaats>"
             for r in res if not _ended_before(r.period.end, vanaf)]
    out = f"<HistoriekHoofdverblijfplaats>{''.join(items)}</HistoriekHoofdverblijfplaats>" if items else ""
    if p.contact_address is not None:
        out += (f"<HistoriekContactAdres><ContactAdres>{_adres(p.contact_address)}<Type><Code>1</Code>"
                '<Omschrijving Taal="nl">Tijdelijk verblijf</Omschrijving></Type></ContactAdres>'
                "</HistoriekContactAdres>")
    return f"<HistoriekAdressen>{out}</HistoriekAdressen>" if out else ""


def _referentiepersonen(p: Person, lookup: PersonLookup, vanaf: date | None) -> str:
    """Every household the person belonged to under another reference person, newest first (the current one
    with its ``Woonvorm``, as MAGDA-Mock sends it)."""
    items = []
    for mine, members in memberships(p):
        ref = next((m for m in members if m.position == "01" and m.insz != p.insz), None)
        if ref is None or mine.position == "01" or _ended_before(mine.end, vanaf):
            continue
        q = lookup(ref.insz)
        body = f"<INSZ>{ref.insz}</INSZ>"
        if q is not None:
            body += _naam(q) + _geslacht(q) + f"<Geboortedatum>{q.birth_date.isoformat()}</Geboortedatum>"
        body += _positie(mine.position) + ("<Woonvorm><Code>00</Code></Woonvorm>" if mine.end is None else "")
        items.append(f"<Referentiepersoon{_dates(mine.begin, mine.end)}>{body}</Referentiepersoon>")
    return f"<HistoriekReferentiepersoon>{''.join(items)}</HistoriekReferentiepersoon>" if items else ""


def historiek_persoon_inhoud(p: Person, lookup: PersonLookup, vanaf: date | None) -> str:
    """GeefHistoriekPersoon-02.02 ``Inhoud``: names, sex, managing municipality, nationality, birth, death,
    civil state, main residences (and contact address), filiation and reference persons over time.

    The store keeps one name and no civil state: the name holds from birth and the civil state is MAGDA-Mock's
    ``Ongehuwd`` (every canned history answer has it); nothing in the project reads either.
    """
    born = p.birth_date.isoformat()
    parts = [f"<HistoriekPersoon><INSZ>{p.insz}</INSZ>",
             f'<HistoriekNaam>{_naam(p).replace("<Naam>", f"<Naam DatumBegin={attr(born)}>", 1)}</HistoriekNaam>']
    if _GENDER.get(p.gender):
        parts.append(f"<HistoriekGeslacht>{_geslacht(p)}</HistoriekGeslacht>")
    parts.append(_beheerder(p))
    if p.nationality:
        label = _NATIONALITY.get(p.nationality, "Onbekend")
        parts.append(f"<HistoriekNationaliteit><Nationaliteit DatumBegin={attr(born)}><Code>{esc(p.nationality)}"
                     f"</Code><Omschrijving>{label}</Omschrijving></Nationaliteit></HistoriekNationaliteit>")
    parts.append(_geboorte(p))
    if p.death_date is not None:
        died = p.death_date.isoformat()
        parts.append(f'<HistoriekOverlijden><Overlijden DatumBegin="{died}"><Datum>{died}</Datum></Overlijden>'
                     "</HistoriekOverlijden>")
    parts.append(f'<HistoriekBurgerlijkeStaat><BurgerlijkeStaat DatumBegin="{born}"><Code>10</Code>'
                 "<Omschrijving>Ongehuwd</Omschrijving></BurgerlijkeStaat></HistoriekBurgerlijkeStaat>")
    parts.append(_adressen(p, vanaf))
    parts.append(_afstamming(p, lookup))
    parts.append(_referentiepersonen(p, lookup, vanaf))
    parts.append("</HistoriekPersoon>")
    return "".join(parts)
