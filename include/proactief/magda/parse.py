"""Read MAGDA answers into typed results: SOAP envelope or bare Body child in, :class:`MagdaAnswer` out.

One function, :func:`parse_response`, for every service: it finds the service root (matched by local name:
the two canned ``GeefPersoonMutatiesNotificaties`` files carry a wrong namespace and must still be read),
the level-2 and level-3 ``Uitzonderingen``, the ``Inhoud``, and classifies the outcome with
:mod:`proactief.magda.uitzondering`. A SOAP Fault becomes an answer with outcome FAULT (the transport raises
on it). Anything that is not a MAGDA answer raises :class:`MalformedAnswer`, whose message never contains
data from the answer (it may be about a person).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from lxml import etree

from proactief.magda.audit import OutcomeClass
from proactief.magda.results import (
    Aanslagbiljet,
    Adres,
    BronStatus,
    DateLike,
    DossierHandicap,
    Erkenning,
    Gezinslid,
    Gezinssamenstelling,
    HistoriekGezinssamenstelling,
    HistoriekPersoon,
    Leefloonbedragen,
    LeefloonJaar,
    LEZGegevens,
    LEZRegistratie,
    LEZVrijstelling,
    MagdaAnswer,
    Mutatie,
    MutatieNotificaties,
    PartialDate,
    Period,
    Persoon,
    Recht,
    Referentiepersoon,
    RegistratieResultaat,
    SoapFault,
    SociaalStatuutAntwoord,
    SociaalStatuutLijst,
    SociaalStatuutResultaat,
    SocialeKaart,
    VehicleRegistration,
    earliest,
)
from proactief.magda.services import SERVICES, ServiceSpec
from proactief.magda.uitzondering import Uitzondering, UitzonderingType, decide

__all__ = [
    "MalformedAnswer",
    "parse_response",
    "parse_xml",
    "parse_uitzonderingen",
    "parse_fault",
    "parse_date",
    "parse_vehicle_registrations",
    "SOAP_NS",
]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
_ENVELOPE = f"{{{SOAP_NS}}}Envelope"
_BODY = f"{{{SOAP_NS}}}Body"


class MalformedAnswer(ValueError):
    """Not a well-formed MAGDA answer of the expected shape. Transient for the client (retry, then undetermined)."""


# ---------------------------------------------------------------------------------------------- XML

_local = threading.local()


def _parser() -> etree.XMLParser:
    p = getattr(_local, "parser", None)
    if p is None:  # a parser must not be used by two threads at once; no entities, no network (XXE)
        p = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
        _local.parser = p
    return p


def parse_xml(data: bytes | str) -> etree._Element:
    """Parse bytes into an element; :class:`MalformedAnswer` (position only, no content) when not XML."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or not data.strip():
        raise MalformedAnswer("empty answer")
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedAnswer(f"answer is not well-formed XML (line {exc.lineno}, column {exc.offset})") from None


def _local_name(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _strip_namespaces(root: etree._Element) -> None:
    """Make children unqualified (an answer that qualifies them is read like one that does not)."""
    for el in root.iterdescendants():
        if isinstance(el.tag, str) and el.tag[0] == "{":
            el.tag = el.tag.rsplit("}", 1)[1]


# ---------------------------------------------------------------------------------------------- values


def _t(el: etree._Element | None, path: str | None = None) -> str | None:
    """Stripped text at ``path`` below ``el``; None when absent or empty."""
    if el is None:
        return None
    text = el.findtext(path) if path else el.text
    if text is None:
        return None
    text = text.strip()
    return text or None


def parse_date(text: str | None, what: str = "date") -> DateLike | None:
    """``YYYY-MM-DD`` -> date; ``00`` month/day -> :class:`PartialDate`; ``0000-00-00`` and empty -> None."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    head = text[:10]
    try:
        if len(head) != 10 or head[4] != "-" or head[7] != "-":
            raise ValueError
        y, m, d = int(head[:4]), int(head[5:7]), int(head[8:10])
        if y == 0:
            return None
        if m == 0:
            return PartialDate(y)
        if d == 0:
            dt.date(y, m, 1)
            return PartialDate(y, m)
        return dt.date(y, m, d)
    except ValueError:
        raise MalformedAnswer(f"{what}: not a date YYYY-MM-DD") from None


def _full_date(text: str | None, what: str) -> dt.date | None:
    d = parse_date(text, what)
    if isinstance(d, PartialDate):
        return d.earliest()
    return d


def _period(el: etree._Element | None, begin: str = "DatumBegin", end: str = "DatumEinde") -> Period:
    """A period from attributes (RR style ``DatumBegin``/``DatumEinde``)."""
    if el is None:
        return Period()
    return Period(parse_date(el.get(begin), begin), parse_date(el.get(end), end))


def _child_period(el: etree._Element | None, begin: str, end: str) -> Period:
    """A period from child elements (``Begin``/``Einde``, ``Begindatum``/``Einddatum``)."""
    if el is None:
        return Period()
    return Period(parse_date(_t(el, begin), begin), parse_date(_t(el, end), end))


def _require(el: etree._Element | None, what: str) -> etree._Element:
    if el is None:
        raise MalformedAnswer(f"answer lacks {what}")
    return el


def _bool(text: str | None) -> bool:
    return text is not None and text.strip().lower() in ("true", "1")


def _int(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise MalformedAnswer(f"{what}: not a whole number") from None


# ---------------------------------------------------------------------------------------------- generic parts


def parse_uitzonderingen(container: etree._Element | None) -> tuple[Uitzondering, ...]:
    """The ``Uitzondering`` children of an ``Uitzonderingen`` element (None -> empty)."""
    if container is None:
        return ()
    out = []
    for u in container.iterfind("Uitzondering"):
        code = _t(u, "Identificatie")
        if code is None:
            raise MalformedAnswer("Uitzondering without Identificatie")
        raw_type = (_t(u, "Type") or "FOUT").upper()
        try:
            type_ = UitzonderingType(raw_type)
        except ValueError:
            type_ = UitzonderingType.FOUT  # an unknown severity is read as the strictest
        annotaties = tuple(
            ((_t(a, "Naam") or ""), (_t(a, "Waarde") or "")) for a in u.iterfind("Annotaties/Annotatie")
        )
        out.append(Uitzondering(code, _t(u, "Oorsprong") or "", type_, _t(u, "Diagnose") or "",
                                _t(u, "Omstandigheid"), annotaties))
    return tuple(out)


def parse_fault(el: etree._Element) -> SoapFault:
    """A SOAP 1.1 ``Fault`` element (``faultcode``/``faultstring`` are unqualified children)."""
    code = el.findtext("faultcode") or el.findtext(f"{{{SOAP_NS}}}faultcode") or ""
    text = el.findtext("faultstring") or el.findtext(f"{{{SOAP_NS}}}faultstring") or ""
    return SoapFault(code.strip(), text.strip())


# ---------------------------------------------------------------------------------------------- Inhoud parsers


def _adres(el: etree._Element, soort: str) -> Adres:
    return Adres(soort, _t(el, "NISCodeGemeente"), _t(el, "Postcode"), _period(el))  # type: ignore[arg-type]


def _gezinslid(el: etree._Element) -> Gezinslid:
    geboorte = _t(el, "Geboortedatum") or _t(el, "Geboorte/Datum")
    return Gezinslid(_t(el, "INSZ"), _t(el, "Positie/Code"), parse_date(geboorte, "Geboortedatum"), _period(el))


def _first_text(els: list[etree._Element], child: str) -> str | None:
    """``_t(parent, "X/child")`` over the ``X`` elements already picked out: the first ``child`` decides."""
    for el in els:
        c = el.find(child)
        if c is not None:
            return _t(c)
    return None


def _persoon(inhoud: etree._Element) -> Persoon:
    # One pass over Persoon's children instead of a path look-up per field: GeefPersoon is asked once per
    # candidate of a whole-city run. Same meaning as the paths: the first match of each counts.
    p = _require(inhoud.find("Persoon"), "Inhoud/Persoon")
    insz_el = adressen = ref_el = None
    geboorte: list[etree._Element] = []
    overlijden: list[etree._Element] = []
    gezinsleden: list[etree._Element] = []
    for c in p:
        tag = c.tag
        if tag == "INSZ":
            if insz_el is None:
                insz_el = c
        elif tag == "Geboorte":
            geboorte.append(c)
        elif tag == "Overlijden":
            overlijden.append(c)
        elif tag == "Adressen":
            if adressen is None:
                adressen = c
        elif tag == "Referentiepersoon":
            if ref_el is None:
                ref_el = c
        elif tag == "Gezinsleden":
            gezinsleden.extend(g for g in c if g.tag == "Gezinslid")
    insz = _t(insz_el)
    if insz is None:
        raise MalformedAnswer("answer lacks Persoon/INSZ")
    hoofd: list[Adres] = []
    contact: list[Adres] = []
    if adressen is not None:
        for a in adressen:
            name = _local_name(a)
            if name == "Hoofdverblijfplaats":
                hoofd.append(_adres(a, "hoofdverblijfplaats"))
            elif name == "ContactAdres":
                contact.append(_adres(a, "contactadres"))
    ref = None
    if ref_el is not None:
        ref = Referentiepersoon(_t(ref_el, "INSZ"), _t(ref_el, "Positie/Code"), _period(ref_el))
    return Persoon(
        insz=insz,
        geboortedatum=parse_date(_first_text(geboorte, "Datum"), "Geboorte/Datum"),
        overlijdensdatum=parse_date(_first_text(overlijden, "Datum"), "Overlijden/Datum"),
        hoofdverblijfplaatsen=tuple(hoofd),
        contactadressen=tuple(contact),
        gezinsleden=tuple(_gezinslid(g) for g in gezinsleden),
        referentiepersoon=ref,
    )


def _gezin(inhoud: etree._Element) -> Gezinssamenstelling:
    leden = _require(inhoud.find("Gezinsleden"), "Inhoud/Gezinsleden")
    return Gezinssamenstelling(tuple(_gezinslid(g) for g in leden.iterfind("Gezinslid")))


def _historiek_persoon(inhoud: etree._Element) -> HistoriekPersoon:
    h = _require(inhoud.find("HistoriekPersoon"), "Inhoud/HistoriekPersoon")
    insz = _t(h, "INSZ")
    if insz is None:
        raise MalformedAnswer("answer lacks HistoriekPersoon/INSZ")
    found = [(_period(a), a) for a in h.iterfind("HistoriekAdressen/HistoriekHoofdverblijfplaats/Hoofdverblijfplaats")]
    found.sort(key=lambda pa: earliest(pa[0].begin) if pa[0].begin is not None else dt.date.min)
    hoofd = []
    for n, (periode, a) in enumerate(found):
        if periode.end is None and n + 1 < len(found) and found[n + 1][0].begin is not None:
            periode = Period(periode.begin, found[n + 1][0].begin)  # it ran until the next one began
        hoofd.append(Adres("hoofdverblijfplaats", _t(a, "NISCodeGemeente"), _t(a, "Postcode"), periode))
    return HistoriekPersoon(
        insz=insz,
        geboortedatum=parse_date(_t(h, "HistoriekGeboorte/Geboorte/Datum"), "Geboorte/Datum"),
        overlijdensdatum=parse_date(_t(h, "HistoriekOverlijden/Overlijden/Datum"), "Overlijden/Datum"),
        hoofdverblijfplaatsen=tuple(hoofd),
    )


def _historiek_gezin(inhoud: etree._Element) -> HistoriekGezinssamenstelling:
    h = _require(inhoud.find("HistoriekGezinssamenstelling"), "Inhoud/HistoriekGezinssamenstelling")
    return HistoriekGezinssamenstelling(tuple(
        tuple(_gezinslid(g) for g in s.iterfind("Gezinsleden/Gezinslid"))
        for s in h.iterfind("Gezinssamenstelling")
    ))


_PERIOD_BEGIN = frozenset({"Begindatum", "Begin"})
_PERIOD_END = frozenset({"Einddatum", "Einde"})


def _statuten(persoon: etree._Element) -> SociaalStatuutAntwoord:
    # One pass over the children instead of path look-ups: the list service parses hundreds of thousands of
    # these per run, and this loop is several times faster than findtext/iterfind per field.
    insz: str | None = None
    out = []
    for child in persoon:
        tag = child.tag
        if tag == "INSZ":
            insz = (child.text or "").strip() or None
        elif tag == "SocialeStatuten":
            for s in child:
                if s.tag == "SociaalStatuut":
                    out.append(_statuut(s))
    if insz is None:
        raise MalformedAnswer("answer lacks Persoon/INSZ")
    return SociaalStatuutAntwoord(insz, tuple(out))


def _statuut(s: etree._Element) -> SociaalStatuutResultaat:
    naam: str | None = None
    code_text: str | None = None
    has_resultaat = False
    periodes: list[Period] = []
    for el in s:
        tag = el.tag
        if tag == "Naam":
            naam = (el.text or "").strip() or None
        elif tag == "Resultaat":
            has_resultaat = True
            if len(el):  # v3: Resultaat/Code; v2 (list): Resultaat text
                for c in el:
                    if c.tag == "Code":
                        code_text = (c.text or "").strip() or None
            else:
                code_text = (el.text or "").strip() or None
        elif tag == "Periodes":
            for per in el:
                if per.tag != "Periode":
                    continue
                begin = end = None
                for part in per:
                    if part.tag in _PERIOD_BEGIN:
                        begin = parse_date((part.text or "").strip() or None, part.tag)
                    elif part.tag in _PERIOD_END:
                        end = parse_date((part.text or "").strip() or None, part.tag)
                periodes.append(Period(begin, end))
    if naam is None or not has_resultaat:
        raise MalformedAnswer("SociaalStatuut without Naam or Resultaat")
    code = _int(code_text, "Resultaat")
    if code is None:
        raise MalformedAnswer("SociaalStatuut Resultaat without a code")
    return SociaalStatuutResultaat(naam, code, tuple(periodes))


def _sociaal_statuut(inhoud: etree._Element) -> SociaalStatuutAntwoord:
    return _statuten(_require(inhoud.find("Persoon"), "Inhoud/Persoon"))


def _sociaal_statuut_lijst(inhoud: etree._Element) -> SociaalStatuutLijst:
    personen = _require(inhoud.find("Personen"), "Inhoud/Personen")
    out = {}
    for p in personen.iterfind("Persoon"):
        a = _statuten(p)
        out[a.insz] = a
    return SociaalStatuutLijst(MappingProxyType(out))


_RESULT_SUFFIX = "Result"


def _dossier_handicap(inhoud: etree._Element) -> DossierHandicap:
    resp = inhoud.find("ConsultFilesByDateResponse")
    if resp is None:
        resp = _require(inhoud.find("ConsultFilesByPeriodResponse"), "Inhoud/ConsultFilesByDateResponse")
    bronnen: list[BronStatus] = []
    kaarten: list[SocialeKaart] = []
    erkenningen: list[Erkenning] = []
    rechten: list[Recht] = []
    results = resp.find("results")
    for r in (results if results is not None else ()):
        name = _local_name(r)
        if not name:
            continue
        bron = name[: -len(_RESULT_SUFFIX)] if name.endswith(_RESULT_SUFFIX) else name
        bronnen.append(BronStatus(bron, _t(r, "status/value"), _t(r, "status/code")))
        for f in r.iterfind("file"):
            for c in f.iterfind("socialCards/socialCard"):
                cat = _t(c, "cardCategory")
                if cat is None:
                    raise MalformedAnswer("socialCard without cardCategory")
                kaarten.append(SocialeKaart(bron, cat, _full_date(_t(c, "deliveryDate"), "deliveryDate"),
                                            _full_date(_t(c, "endDate"), "endDate")))
            for h in f.iterfind("handicapRecognitions/handicapRecognition"):
                details = h.find("handicapRecognitionDetails")
                flags = frozenset(
                    _local_name(x) for x in (details if details is not None else ()) if _bool(x.text)
                )
                erkenningen.append(Erkenning(
                    bron=bron,
                    wetgeving=_t(h, "legislation"),
                    beslissing=_t(h, "decisionStatus"),
                    datum_beslissing=_full_date(_t(h, "recognitionStatus/dateOfDecision"), "dateOfDecision"),
                    begin=_full_date(_t(h, "recognitionStatus/startDateRecognition"), "startDateRecognition"),
                    einde=_full_date(_t(h, "recognitionStatus/endDateRecognition"), "endDateRecognition"),
                    kenmerken=flags,
                    punten_zelfredzaamheid=_int(
                        _t(h, "resultRecognitionAdult/diminuationIndependence/totalPoints"), "totalPoints"),
                    punten_kind=_int(_t(h, "resultRecognitionChild/pillars/pillarsTotal"), "pillarsTotal"),
                ))
            for rr in f.iterfind("rights"):
                rechten.append(Recht(bron, _t(rr, "legislation"), _t(rr, "decisionStatus"),
                                     _child_period(rr.find("period"), "beginDate", "endDate")))
    return DossierHandicap(_t(resp, "status/value"), tuple(bronnen), tuple(kaarten), tuple(erkenningen),
                           tuple(rechten))


def _aanslagbiljet(inhoud: etree._Element) -> Aanslagbiljet:
    a = _require(inhoud.find("AanslagbiljetPersonenbelasting"), "Inhoud/AanslagbiljetPersonenbelasting")
    jaar = _int(_t(a, "Inkomensjaar"), "Inkomensjaar")
    if jaar is None:
        raise MalformedAnswer("answer lacks Inkomensjaar")
    items: dict[str, int] = {}
    for item in a.iterfind("Items/Item"):
        code = _t(item, "Code")
        waarde = _int(_t(item, "Waarde"), "Item/Waarde")
        if code is None or waarde is None:
            raise MalformedAnswer("Item without Code or Waarde")
        items[code] = waarde
    return Aanslagbiljet(jaar, _t(a, "Artikelnummer"), _t(a, "GevraagdePersoon/FiscaleStatus/Code"),
                         MappingProxyType(items))


def _leefloonbedragen(inhoud: etree._Element) -> Leefloonbedragen:
    lb = _require(inhoud.find("Leefloonbedragen"), "Inhoud/Leefloonbedragen")
    jaren = []
    for b in lb.iterfind("Leefloonbedrag"):
        jaar = _int(_t(b, "Jaar"), "Jaar")
        if jaar is None:
            raise MalformedAnswer("Leefloonbedrag without Jaar")
        jaarlijks = b.find("Tegemoetkoming/Jaarlijks")

        def paid(yearly: str, monthly: str, b: etree._Element = b,
                 jaarlijks: etree._Element | None = jaarlijks) -> bool:
            return (jaarlijks is not None and jaarlijks.find(yearly) is not None) or \
                b.find(f"Tegemoetkoming/Maandelijks/Maand/{monthly}") is not None

        maanden = [
            m.get("JaarMaand") or ""
            for m in b.iterfind("Tegemoetkoming/Maandelijks/Maand")
            if m.find("LeefloonPerPeriode") is not None or m.find("EquivalentLeefloonPerPeriode") is not None
        ]
        jaren.append(LeefloonJaar(
            jaar=jaar,
            uitbetaling=_t(b, "Uitbetaling"),
            leefloon=paid("Leefloon", "LeefloonPerPeriode"),
            equivalent_leefloon=paid("EquivalentLeefloon", "EquivalentLeefloonPerPeriode"),
            kinderbijslag=paid("Kinderbijslag", "KinderbijslagPerPeriode"),
            maanden_leefloon=tuple(m for m in maanden if m),
        ))
    return Leefloonbedragen(tuple(jaren))


def _resultaat(inhoud: etree._Element) -> RegistratieResultaat:
    r = _require(inhoud.find("Resultaat"), "Inhoud/Resultaat")
    code = _t(r) or ""
    return RegistratieResultaat(code == "1", code, r.get("Beschrijving"))


def _mutaties(inhoud: etree._Element) -> MutatieNotificaties:
    out = []
    for o in inhoud.iterfind("Onderwerpen/Onderwerp"):
        body = o.find("Inhoud")
        if body is None:
            continue  # an Onderwerp with only Uitzonderingen: nothing to act on
        pmn = body.find("PersoonMutatiesNotificaties")
        src = pmn if pmn is not None else body  # the official shape, or a flattened one (older simulators)
        insz = _t(src, "INSZ")
        if insz is None:
            raise MalformedAnswer("Onderwerp without INSZ")
        type_el = src.find("Type")
        type_code = _t(type_el, "Code") if type_el is not None and len(type_el) else _t(type_el)
        datum = _t(src, "DatumModificatie") or _t(src, "DatumCreatie")
        out.append(Mutatie(_t(o, "Referte"), insz, type_code, _t(src, "NieuwINSZ"), _t(src, "GeannuleerdINSZ"),
                           _full_date(datum, "DatumCreatie")))
    return MutatieNotificaties(tuple(out), _t(inhoud, "Ontvangstreferte"))


_LEZ_OTHER = (("BuitenlandseVoertuigen", "BuitenlandsVoertuig"), ("CorrectieEuronormen", "CorrectieEuronorm"),
              ("Roetfilters", "Roetfilter"))


def _lez(inhoud: etree._Element) -> LEZGegevens:
    g = _require(inhoud.find("LEZGegevens"), "Inhoud/LEZGegevens")
    vrij = tuple(
        LEZVrijstelling(_t(v, "Reden"), _child_period(v.find("Periode"), "Begin", "Einde"), _t(v, "Bron"),
                        _t(v, "Referte"))
        for v in g.iterfind("Vrijstellingen/Vrijstelling")
    )
    andere = tuple(
        LEZRegistratie(kind, _t(e, "Bron"), _t(e, "Referte"))
        for wrapper, kind in _LEZ_OTHER
        for e in g.iterfind(f"{wrapper}/{kind}")
    )
    return LEZGegevens(_t(g, "Nummerplaat") or "", _t(g, "LandISOCode") or "", vrij, andere)


_CONTENT: dict[str, Callable[[etree._Element], Any]] = {
    "GeefPersoon": _persoon,
    "GeefGezinssamenstelling": _gezin,
    "GeefHistoriekPersoon": _historiek_persoon,
    "GeefHistoriekGezinssamenstelling": _historiek_gezin,
    "GeefSociaalStatuut": _sociaal_statuut,
    "GeefSociaalStatuutVoorLijst": _sociaal_statuut_lijst,
    "GeefDossierHandicap": _dossier_handicap,
    "GeefAanslagbiljetPersonenbelasting": _aanslagbiljet,
    "GeefLeefloonbedragen": _leefloonbedragen,
    "RegistreerInschrijving": _resultaat,
    "RegistreerUitschrijving": _resultaat,
    "GeefPersoonMutatiesNotificaties": _mutaties,
    "RegistreerLEZGegevens": _resultaat,
    "GeefLEZGegevens": _lez,
    "VerwijderLEZGegevens": _resultaat,
}
_RESULT_SERVICES = frozenset({"RegistreerInschrijving", "RegistreerUitschrijving", "RegistreerLEZGegevens",
                              "VerwijderLEZGegevens"})


# ---------------------------------------------------------------------------------------------- entry point


def _service_root(root: etree._Element) -> etree._Element:
    """The Body child of an envelope, or the element itself when it is already a Body child."""
    if root.tag == _ENVELOPE:
        body = root.find(_BODY)
        if body is None:
            raise MalformedAnswer("SOAP envelope without Body")
        for child in body:
            if isinstance(child.tag, str):
                return child
        raise MalformedAnswer("SOAP Body is empty")
    return root


def parse_response(service: ServiceSpec | str, data: bytes | str | etree._Element) -> MagdaAnswer[Any]:
    """Parse one answer of ``service`` (spec or key) into a :class:`MagdaAnswer` with a typed value."""
    spec = service if isinstance(service, ServiceSpec) else SERVICES[service]
    root = data if isinstance(data, etree._Element) else parse_xml(data)
    el = _service_root(root)
    name = _local_name(el)
    if name == "Fault":
        fault = parse_fault(el)
        return MagdaAnswer(spec.key, OutcomeClass.FAULT, fault=fault)  # code: an Uitzondering's, there is none
    if name != spec.response_root:
        raise MalformedAnswer(f"expected {spec.response_root}, got {name or 'no element'}")
    # The namespace is not checked: only the local name. Two canned GeefPersoonMutatiesNotificaties answers
    # use http://magda.vlaanderen.be/persoon/soap/GeefPersoonMutatiesNotificaties/v02_00 instead of the
    # service namespace; the answer is otherwise sound, and the Context/Referte checks guard against mix-ups.
    repliek = el.find("Repliek")
    if repliek is None:
        _strip_namespaces(el)
        repliek = _require(el.find("Repliek"), f"{name}/Repliek")
    level2 = parse_uitzonderingen(repliek.find("Uitzonderingen"))
    message_ref = _t(repliek, "Context/Bericht/Ontvanger/Referte")
    register_date = _register_date(repliek)
    antwoord = repliek.find("Antwoorden/Antwoord")
    if antwoord is None:
        if not level2:
            raise MalformedAnswer(f"{name}: neither Antwoord nor Uitzonderingen")
        outcome, deciding = decide(level2, has_content=False)
        return MagdaAnswer(spec.key, outcome, None, level2, (), deciding.identificatie if deciding else None,
                           message_ref, None, register_date=register_date)
    level3 = parse_uitzonderingen(antwoord.find("Uitzonderingen"))
    inhoud = antwoord.find("Inhoud")
    value = _CONTENT[spec.name](inhoud) if inhoud is not None else None
    if value is None and not level2 and not level3:
        raise MalformedAnswer(f"{name}: Antwoord without Inhoud or Uitzonderingen")
    outcome, deciding = decide(level2 + level3, has_content=value is not None)
    code = deciding.identificatie if deciding is not None else None
    if (spec.name in _RESULT_SERVICES and outcome is OutcomeClass.OK and isinstance(value, RegistratieResultaat)
            and not value.geslaagd and deciding is None):
        # "Niet geslaagd" without any exception: refused for a reason MAGDA does not say. Nothing is known
        # to be registered, nothing may be concluded from it: flag it like a faulty record.
        return MagdaAnswer(spec.key, OutcomeClass.DATA_ERROR, value, level2, level3, None, message_ref,
                           _t(antwoord, "Referte"), detail=f"Resultaat {value.code or '?'}: niet geslaagd",
                           register_date=register_date)
    return MagdaAnswer(spec.key, outcome, value, level2, level3, code, message_ref, _t(antwoord, "Referte"),
                       register_date=register_date)


def _register_date(repliek: etree._Element) -> dt.date | None:
    """``Context/Bericht/Tijdstip/Datum`` of the answer (None when absent or not a full date: then nothing is
    concluded from it)."""
    try:
        d = parse_date(_t(repliek, "Context/Bericht/Tijdstip/Datum"), "Tijdstip/Datum")
    except MalformedAnswer:
        return None
    return d if isinstance(d, dt.date) else None


# ---------------------------------------------------------------------------------------------- REST


def parse_vehicle_registrations(payload: bytes | str | Mapping[str, Any]) -> tuple[VehicleRegistration, ...]:
    """Items of a Mobility ``/v1/mobility/registrations`` JSON answer: plate, status, titular."""
    if isinstance(payload, bytes | str):
        if not payload or not str(payload).strip():
            return ()
        try:
            doc = json.loads(payload)
        except ValueError:
            raise MalformedAnswer("registrations answer is not JSON") from None
    else:
        doc = payload
    if not isinstance(doc, Mapping):
        raise MalformedAnswer("registrations answer is not a JSON object")
    items = doc.get("items") or []
    if not isinstance(items, list):
        raise MalformedAnswer("registrations answer: items is not a list")
    out = []
    for item in items:
        try:
            lic = item.get("license") or {}
            plate = lic.get("plateNr")
            if not plate:
                raise MalformedAnswer("registration without license.plateNr")
            titular = item.get("titular") or {}
            natural = titular.get("type") == "P"
            nr = ((titular.get("person") or {}).get("nationalNr") or {}) if natural else {}
            insz = nr.get("identificator") if isinstance(nr, Mapping) else nr if isinstance(nr, str) else None
            out.append(VehicleRegistration(str(plate), (lic.get("status") or {}).get("code"),
                                           "natural" if natural else "legal", insz))
        except AttributeError:
            raise MalformedAnswer("registrations answer: unexpected item shape") from None
    return tuple(out)
