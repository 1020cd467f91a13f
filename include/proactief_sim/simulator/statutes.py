"""Social statutes: which ones were asked, whether each applies on the asked date, and how to say so.

How the asked date is honoured (the original mock ignores it; MAGDA answers "on that date"):
a statute is *van toepassing* on the asked ``Datum`` when its source says Code 1 **and** either one of its
periods covers that day (begin and end inclusive), or it carries no periods at all (nothing contradicts the
source's yes). For an asked ``Periode`` it applies when one of its periods overlaps the asked period. The
answer then lists only the periods that cover/overlap what was asked. Otherwise the statute is answered
Code 0 "Niet van toepassing" without periods, exactly like a statute the source does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from lxml import etree

from proactief_sim.simulator.population import Period, SocialStatute
from proactief_sim.simulator.wire import esc, plain_xml

__all__ = ["StatuteFact", "StatuteQuery", "facts_from_store", "facts_from_canned", "queries_from", "render_v3",
           "render_v2"]


@dataclass(frozen=True, slots=True)
class StatuteFact:
    """What a source says about one statute of one person."""

    name: str
    applies: bool
    periods: tuple[Period, ...] = ()
    extra_v3: str = ""
    """``Details``/``Status`` of a canned v3 answer, passed on when the statute applies."""


@dataclass(frozen=True, slots=True)
class StatuteQuery:
    """One asked statute: a name and either a day or a period."""

    name: str
    day: date | None
    begin: date | None = None
    end: date | None = None


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def queries_from(criteria: etree._Element, v3: bool) -> list[StatuteQuery]:
    """The asked statutes of a GeefSociaalStatuut (v3 ``Begindatum``) or list (v2 ``Begin``) request."""
    b, e = ("Begindatum", "Einddatum") if v3 else ("Begin", "Einde")
    out = []
    for s in criteria.iterfind("SocialeStatuten/SociaalStatuut"):
        name = (s.findtext("Naam") or "").strip()
        day = _date(s.findtext("Datum/Datum"))
        begin = end = None
        if day is None:
            begin = _date(s.findtext(f"Datum/Periode/{b}"))
            end = _date(s.findtext(f"Datum/Periode/{e}"))
        out.append(StatuteQuery(name, day, begin, end))
    return out


def facts_from_store(statutes: tuple[SocialStatute, ...]) -> dict[str, StatuteFact]:
    return {s.name: StatuteFact(s.name, True, s.periods) for s in statutes}


def facts_from_canned(persoon: etree._Element) -> dict[str, StatuteFact]:
    """The statutes of a canned v3 ``Persoon`` (``SocialeStatuten/SociaalStatuut``)."""
    facts = {}
    for s in persoon.iterfind("SocialeStatuten/SociaalStatuut"):
        name = (s.findtext("Naam") or "").strip()
        periods = []
        for p in s.iterfind("Periodes/Periode"):
            begin = _date(p.findtext("Begindatum"))
            if begin is not None:
                periods.append(Period(begin, _date(p.findtext("Einddatum"))))
        extra = "".join(plain_xml(x) for x in s if etree.QName(x).localname in ("Details", "Status"))
        facts[name] = StatuteFact(name, (s.findtext("Resultaat/Code") or "").strip() == "1", tuple(periods), extra)
    return facts


def _evaluate(fact: StatuteFact | None, q: StatuteQuery) -> tuple[bool, tuple[Period, ...]]:
    if fact is None or not fact.applies:
        return False, ()
    if not fact.periods:
        return True, ()
    if q.day is not None:
        hits = tuple(p for p in fact.periods if p.covers(q.day))
    elif q.begin is not None:
        hits = tuple(p for p in fact.periods if p.overlaps(q.begin, q.end))
    else:  # no usable date asked: the source's answer stands as is
        hits = fact.periods
    return bool(hits), hits


_NOT_APPLICABLE_V3 = "<Resultaat><Code>0</Code><Omschrijving>Niet van toepassing</Omschrijving></Resultaat>"
_APPLICABLE_V3 = "<Resultaat><Code>1</Code><Omschrijving>Van toepassing</Omschrijving></Resultaat>"


def render_v3(facts: dict[str, StatuteFact], queries: list[StatuteQuery]) -> str:
    """``SociaalStatuut`` elements of a GeefSociaalStatuut-03.00 answer, one per asked statute."""
    parts = []
    for q in queries:
        fact = facts.get(q.name)
        applies, periods = _evaluate(fact, q)
        if not applies:
            parts.append(f"<SociaalStatuut><Naam>{esc(q.name)}</Naam>{_NOT_APPLICABLE_V3}</SociaalStatuut>")
            continue
        per = _periodes(periods, "Begindatum", "Einddatum")
        extra = fact.extra_v3 if fact is not None else ""
        parts.append(f"<SociaalStatuut><Naam>{esc(q.name)}</Naam>{_APPLICABLE_V3}{per}{extra}</SociaalStatuut>")
    return "".join(parts)


def _periodes(periods: Sequence[Period], begin: str, end: str) -> str:
    """``Periodes`` of one statute; v3 names its ends Begindatum/Einddatum, the list service (v2) Begin/Einde."""
    if not periods:
        return ""
    return "<Periodes>" + "".join(
        f"<Periode><{begin}>{p.begin.isoformat()}</{begin}>"
        + (f"<{end}>{p.end.isoformat()}</{end}>" if p.end else "")
        + "</Periode>"
        for p in periods
    ) + "</Periodes>"


def render_v2(facts: dict[str, StatuteFact], queries: list[StatuteQuery]) -> str:
    """``SociaalStatuut`` elements of a GeefSociaalStatuutVoorLijst-02.00 answer (SocZek-02.00 types)."""
    parts = []
    for q in queries:
        applies, periods = _evaluate(facts.get(q.name), q)
        if not applies:
            parts.append(
                f'<SociaalStatuut><Naam>{esc(q.name)}</Naam><Resultaat Beschrijving="Niet van toepassing">0'
                "</Resultaat></SociaalStatuut>"
            )
            continue
        per = _periodes(periods, "Begin", "Einde")
        parts.append(
            f'<SociaalStatuut><Naam>{esc(q.name)}</Naam><Resultaat Beschrijving="Van toepassing">1</Resultaat>'
            f"{per}</SociaalStatuut>"
        )
    return "".join(parts)
