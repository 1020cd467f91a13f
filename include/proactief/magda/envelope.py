"""SOAP 1.1 request envelopes for every service in :mod:`proactief.magda.services`, built with lxml.

Shape as a real MAGDA client sends it (``request-templates``): only the Body root is namespace-qualified,
its children are unqualified; ``Context/Bericht/Afzender`` says who asks and why; each message and each
question gets its own ``Referte`` (uuid4, 36 characters) so MAGDA's log and ours can be matched line by line.
Building is cheap (no template parsing, no validation); :func:`validate_request` checks a request against
the official XSD and is switched on in tests and by ``MagdaConfig.validate_requests``.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from proactief.magda.reference import schema_for
from proactief.magda.results import VrijstellingAanvraag
from proactief.magda.services import SERVICES, ServiceSpec
from proactief.magda.uitzondering import scrub

if TYPE_CHECKING:
    from proactief.magda.wssec import BodySigner

__all__ = [
    "SOAP_NS",
    "Afzender",
    "Request",
    "RequestInvalid",
    "new_referte",
    "validate_request",
    "geef_persoon",
    "geef_gezinssamenstelling",
    "geef_historiek_persoon",
    "geef_historiek_gezinssamenstelling",
    "geef_sociaal_statuut",
    "geef_sociaal_statuut_voor_lijst",
    "geef_dossier_handicap",
    "geef_aanslagbiljet",
    "geef_leefloonbedragen",
    "registreer_inschrijving",
    "registreer_uitschrijving",
    "geef_persoon_mutaties",
    "registreer_lez",
    "geef_lez_gegevens",
    "verwijder_lez",
    "HANDICAP_SOURCES",
    "HANDICAP_PARTS",
]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="' + SOAP_NS.encode()
         + b'"><soapenv:Header/><soapenv:Body>')
_TAIL = b"</soapenv:Body></soapenv:Envelope>"

HANDICAP_SOURCES = ("DGPH", "VSB", "IrisCare", "NicCin", "AVIQ", "DSL", "MDG")
"""``handicapAuthenticSources`` children, in XSD order."""
HANDICAP_PARTS = ("evolutionOfRequest", "handicapRecognitions", "rights", "socialCards")
"""``parts`` children, in XSD order."""

try:  # MAGDA timestamps are Belgian local time
    from zoneinfo import ZoneInfo

    _TZ: dt.tzinfo | None = ZoneInfo("Europe/Brussels")
except Exception:  # pragma: no cover - no tz database: local time of the machine
    _TZ = None


class RequestInvalid(ValueError):
    """A built request does not satisfy the official XSD: a client bug (message free of personal data)."""


_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))  # a forked task never repeats its parent


def new_referte() -> str:
    """A fresh ``Referte``: version-4 UUID text, 36 characters (the XSD maximum).

    From a generator seeded once per process (and again in every forked child) instead of ``uuid.uuid4()``: its
    ``os.urandom`` call per question released and re-took the GIL twice per SOAP call, which under a whole-city
    run's threads cost more than the rest of building the request. A Referte must be unique, not secret."""
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class Afzender:
    """Who asks (``Identificatie``), under which legal capacity (``Hoedanigheid``), for whom (``Gebruiker``)."""

    identificatie: str
    hoedanigheid: str
    gebruiker: str | None = None

    def __repr__(self) -> str:
        return f"Afzender({self.identificatie!r}, {self.hoedanigheid!r}, gebruiker={'set' if self.gebruiker else None})"


@dataclass(frozen=True, slots=True)
class Request:
    """One built request: the service's Body element plus the references and subjects it carries."""

    spec: ServiceSpec
    element: etree._Element
    message_ref: str
    """``Afzender/Referte`` (the list service has no Context: its ``Vraag/Referte``)."""
    question_ref: str
    subjects: tuple[str, ...] = ()
    """INSZ(s) the question is about (empty for mutation notifications and LEZ)."""

    def to_bytes(self, signer: BodySigner | None = None) -> bytes:
        """The complete SOAP 1.1 envelope, UTF-8; signed with a WS-Security header when ``signer`` is given."""
        if signer is None:
            return _HEAD + etree.tostring(self.element) + _TAIL
        return signer.envelope(self.element)

    def __repr__(self) -> str:
        return f"Request({self.spec.key}, message_ref={self.message_ref}, subjects={len(self.subjects)})"


# ---------------------------------------------------------------------------------------------- helpers


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _now_parts(now: dt.datetime | None) -> tuple[str, str]:
    if now is None:
        now = dt.datetime.now(_TZ)
    return now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def _iso(d: dt.date) -> str:
    return d.isoformat()


def _start(spec: ServiceSpec, afzender: Afzender | None, now: dt.datetime | None,
           message_ref: str | None) -> tuple[etree._Element, etree._Element, str]:
    """Root element, its ``Verzoek`` (with Context when the service has one), and the message Referte."""
    root = etree.Element(f"{{{spec.namespace}}}{spec.name}", nsmap={"web": spec.namespace})
    verzoek = etree.SubElement(root, "Verzoek")
    ref = message_ref or new_referte()
    if spec.has_context:
        if afzender is None:
            raise ValueError(f"{spec.key} needs an Afzender")
        ctx = _sub(verzoek, "Context")
        _sub(ctx, "Naam", spec.name)
        _sub(ctx, "Versie", spec.version)
        bericht = _sub(ctx, "Bericht")
        _sub(bericht, "Type", "VRAAG")
        tijdstip = _sub(bericht, "Tijdstip")
        datum, tijd = _now_parts(now)
        _sub(tijdstip, "Datum", datum)
        _sub(tijdstip, "Tijd", tijd)
        afz = _sub(bericht, "Afzender")
        _sub(afz, "Identificatie", afzender.identificatie)
        _sub(afz, "Referte", ref)
        _sub(afz, "Hoedanigheid", afzender.hoedanigheid)
        if afzender.gebruiker:
            _sub(afz, "Gebruiker", afzender.gebruiker)
    return root, verzoek, ref


def _vraag(verzoek: etree._Element, question_ref: str | None) -> tuple[etree._Element, str]:
    vraag = _sub(_sub(verzoek, "Vragen"), "Vraag")
    qref = question_ref or new_referte()
    _sub(vraag, "Referte", qref)
    return vraag, qref


def _periode(parent: etree._Element, tag: str, begin: dt.date | None, einde: dt.date | None,
             names: tuple[str, str] = ("Begin", "Einde")) -> None:
    if begin is None and einde is None:
        return
    p = _sub(parent, tag)
    if begin is not None:
        _sub(p, names[0], _iso(begin))
    if einde is not None:
        _sub(p, names[1], _iso(einde))


def _subjects(parent: etree._Element, tag: str, afzender: Afzender, insz: Sequence[str],
              begin: dt.date | None, einde: dt.date | None, identificatie: str | None,
              hoedanigheid: str | None) -> None:
    body = _sub(parent, tag)
    _sub(body, "Identificatie", identificatie or afzender.identificatie)
    _sub(body, "Hoedanigheid", hoedanigheid or afzender.hoedanigheid)
    subj = _sub(body, "BetrokkenSubject")
    _sub(subj, "Type", "PERS")
    lijst = _sub(subj, "Subjecten")
    for i in insz:
        s = _sub(lijst, "Subject")
        _sub(s, "Type", "PERS")
        _sub(s, "Sleutel", i)
    _periode(body, "Periode", begin, einde)


def _req(spec: ServiceSpec, root: etree._Element, ref: str, qref: str, subjects: tuple[str, ...]) -> Request:
    return Request(spec, root, ref, qref, subjects)


_S = SERVICES


# ---------------------------------------------------------------------------------------------- persons


def geef_persoon(afzender: Afzender, insz: str, *, bron: str = "RR", taal: str = "nl",
                 now: dt.datetime | None = None, message_ref: str | None = None,
                 question_ref: str | None = None) -> Request:
    """GeefPersoon-02.02 for one INSZ (no optional KSZ parts: ask only what the purpose needs)."""
    spec = _S["Persoon.GeefPersoon-02.02"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    inhoud = _sub(vraag, "Inhoud")
    _sub(_sub(inhoud, "Criteria"), "INSZ", insz)
    _sub(inhoud, "Bron", bron)
    _sub(inhoud, "Taal", taal)
    return _req(spec, root, ref, qref, (insz,))


def geef_gezinssamenstelling(afzender: Afzender, insz: str, *, taal: str = "nl", now: dt.datetime | None = None,
                             message_ref: str | None = None, question_ref: str | None = None) -> Request:
    """GeefGezinssamenstelling-02.02 for one INSZ."""
    spec = _S["Persoon.GeefGezinssamenstelling-02.02"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    inhoud = _sub(vraag, "Inhoud")
    _sub(_sub(inhoud, "Criteria"), "INSZ", insz)
    _sub(inhoud, "Taal", taal)
    return _req(spec, root, ref, qref, (insz,))


def _historiek(key: str, afzender: Afzender, insz: str, vanaf: dt.date | None, bron: str | None, taal: str,
               now: dt.datetime | None, message_ref: str | None, question_ref: str | None) -> Request:
    spec = _S[key]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    inhoud = _sub(vraag, "Inhoud")
    crit = _sub(inhoud, "Criteria")
    _sub(crit, "INSZ", insz)
    _sub(crit, "Datum", _iso(vanaf or _HISTORY_FROM)).set("Op", "0")
    if bron is not None:
        _sub(inhoud, "Bron", bron)
    _sub(inhoud, "Taal", taal)
    return _req(spec, root, ref, qref, (insz,))


_HISTORY_FROM = dt.date(1900, 1, 1)
"""``Criteria/Datum`` of a history question when no start is given: the whole history (as the template asks)."""


def geef_historiek_persoon(afzender: Afzender, insz: str, vanaf: dt.date | None = None, *, bron: str = "RR",
                           taal: str = "nl", now: dt.datetime | None = None, message_ref: str | None = None,
                           question_ref: str | None = None) -> Request:
    """GeefHistoriekPersoon-02.02 for one INSZ: its history (main residences …) from ``vanaf``."""
    return _historiek("Persoon.GeefHistoriekPersoon-02.02", afzender, insz, vanaf, bron, taal, now, message_ref,
                      question_ref)


def geef_historiek_gezinssamenstelling(afzender: Afzender, insz: str, vanaf: dt.date | None = None, *,
                                       taal: str = "nl", now: dt.datetime | None = None,
                                       message_ref: str | None = None, question_ref: str | None = None) -> Request:
    """GeefHistoriekGezinssamenstelling-02.02 for one INSZ: the households it was part of from ``vanaf``."""
    return _historiek("Persoon.GeefHistoriekGezinssamenstelling-02.02", afzender, insz, vanaf, None, taal, now,
                      message_ref, question_ref)


def _check_statuten(statuten: Sequence[str]) -> None:
    if not 1 <= len(statuten) <= 8:
        raise ValueError("ask 1 to 8 social statutes per question (XSD maximum 8)")


def _sociale_statuten(crit: etree._Element, statuten: Sequence[str],
                      datum: dt.date | tuple[dt.date, dt.date | None], period_names: tuple[str, str] | None) -> None:
    """``SocialeStatuten``: each statute asked on a date or over a period (v3 and the list service share it)."""
    lijst = _sub(crit, "SocialeStatuten")
    for naam in statuten:
        s = _sub(lijst, "SociaalStatuut")
        _sub(s, "Naam", naam)
        d = _sub(s, "Datum")
        if not isinstance(datum, tuple):
            _sub(d, "Datum", _iso(datum))
        elif period_names is None:
            _periode(d, "Periode", datum[0], datum[1])
        else:
            _periode(d, "Periode", datum[0], datum[1], period_names)


def geef_sociaal_statuut(afzender: Afzender, insz: str, statuten: Sequence[str],
                         datum: dt.date | tuple[dt.date, dt.date | None], *, now: dt.datetime | None = None,
                         message_ref: str | None = None, question_ref: str | None = None) -> Request:
    """GeefSociaalStatuut-03.00: the named statutes on a date, or over a period ``(begin, end)``."""
    _check_statuten(statuten)
    spec = _S["SocZek.GeefSociaalStatuut-03.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    crit = _sub(_sub(vraag, "Inhoud"), "Criteria")
    _sub(crit, "INSZ", insz)
    _sociale_statuten(crit, statuten, datum, ("Begindatum", "Einddatum"))
    return _req(spec, root, ref, qref, (insz,))


def geef_sociaal_statuut_voor_lijst(insz: Sequence[str], statuten: Sequence[str],
                                    datum: dt.date | tuple[dt.date, dt.date | None], *, operatie: str = "GEEF",
                                    question_ref: str | None = None) -> Request:
    """GeefSociaalStatuutVoorLijst-02.00: many persons in one question; the Verzoek carries no Context."""
    _check_statuten(statuten)
    if not insz:
        raise ValueError("the list needs at least one INSZ")
    spec = _S["SocZek.GeefSociaalStatuutVoorLijst-02.00"]
    root, verzoek, _ref = _start(spec, None, None, None)
    vraag, qref = _vraag(verzoek, question_ref)
    crit = _sub(_sub(vraag, "Inhoud"), "Criteria")
    _sub(crit, "Operatie", operatie)
    _sociale_statuten(crit, statuten, datum, None)
    personen = _sub(crit, "Personen")
    for i in insz:
        _sub(personen, "Persoon", i)
    return _req(spec, root, qref, qref, tuple(insz))


def geef_dossier_handicap(afzender: Afzender, insz: str, reference_date: dt.date, *,
                          sources: Sequence[str] = ("DGPH",),
                          parts: Sequence[str] = ("handicapRecognitions", "socialCards"),
                          now: dt.datetime | None = None, message_ref: str | None = None,
                          question_ref: str | None = None) -> Request:
    """GeefDossierHandicap-03.00 (KSZ ConsultFilesByDateCriteria): ``ssin`` + ``referenceDate``.

    By default only the DG Personen met een handicap source and only recognitions and social cards: the
    parts the rules read (no payment rights, no request history).
    """
    unknown = [s for s in (*sources, *parts) if s not in HANDICAP_SOURCES + HANDICAP_PARTS]
    if unknown:
        raise ValueError(f"unknown handicap source/part: {', '.join(unknown)}")
    spec = _S["SocZek.GeefDossierHandicap-03.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    crit = _sub(_sub(vraag, "Criteria"), "ConsultFilesByDateCriteria")
    _sub(crit, "ssin", insz)
    src = _sub(crit, "handicapAuthenticSources")
    for name in HANDICAP_SOURCES:
        if name in sources:
            _sub(src, name, "true")
    _sub(crit, "referenceDate", _iso(reference_date))
    prt = _sub(crit, "parts")
    for name in HANDICAP_PARTS:
        if name in parts:
            _sub(prt, name, "true")
    return _req(spec, root, ref, qref, (insz,))


def geef_aanslagbiljet(afzender: Afzender, insz: str, inkomensjaar: int, *,
                       ipcal_codes: Sequence[str] | None = None, bron: str = "FODFIN", taal: str = "nl",
                       now: dt.datetime | None = None, message_ref: str | None = None,
                       question_ref: str | None = None) -> Request:
    """GeefAanslagbiljetPersonenbelasting-02.00 for one income year; ``ipcal_codes`` limits the items asked."""
    spec = _S["Inkomen.GeefAanslagbiljetPersonenbelasting-02.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    inhoud = _sub(vraag, "Inhoud")
    crit = _sub(inhoud, "Criteria")
    _sub(crit, "INSZ", insz)
    _sub(crit, "Inkomensjaar", f"{inkomensjaar:04d}")
    if ipcal_codes:
        codes = _sub(crit, "IPCALCodes")
        for c in ipcal_codes:
            _sub(codes, "IPCALCode", c)
    _sub(inhoud, "Bron", bron)
    _sub(inhoud, "Taal", taal)
    return _req(spec, root, ref, qref, (insz,))


def geef_leefloonbedragen(afzender: Afzender, insz: str, jaar: int, *, huidig: bool | None = None,
                          aantal_jaar_terug: int | None = None, now: dt.datetime | None = None,
                          message_ref: str | None = None, question_ref: str | None = None) -> Request:
    """GeefLeefloonbedragen-02.00: a year, optionally 2 or 3 years back."""
    if aantal_jaar_terug not in (None, 2, 3):
        raise ValueError("aantal_jaar_terug: 2 or 3 (XSD)")
    spec = _S["SocZek.GeefLeefloonbedragen-02.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    crit = _sub(_sub(vraag, "Inhoud"), "Criteria")
    _sub(crit, "INSZ", insz)
    j = _sub(crit, "Jaar", f"{jaar:04d}")
    if huidig is not None:
        j.set("Huidig", "1" if huidig else "0")
    if aantal_jaar_terug is not None:
        _sub(crit, "AantalJaarTerug", str(aantal_jaar_terug))
    return _req(spec, root, ref, qref, (insz,))


# ---------------------------------------------------------------------------------------------- repertorium


def registreer_inschrijving(afzender: Afzender, insz: Sequence[str], begin: dt.date, einde: dt.date | None = None,
                            *, identificatie: str | None = None, hoedanigheid: str | None = None,
                            now: dt.datetime | None = None, message_ref: str | None = None,
                            question_ref: str | None = None) -> Request:
    """Repertorium.RegistreerInschrijving-02.01: subject type PERS, one or more INSZ, a period.

    The inscription is made for the asking afnemer and Hoedanigheid unless told otherwise: MAGDA answers
    40003 to questions under a Hoedanigheid the person is not inscribed for.
    """
    if not insz:
        raise ValueError("at least one INSZ to register")
    spec = _S["Repertorium.RegistreerInschrijving-02.01"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    _subjects(_sub(vraag, "Inhoud"), "Inschrijving", afzender, insz, begin, einde, identificatie, hoedanigheid)
    return _req(spec, root, ref, qref, tuple(insz))


def registreer_uitschrijving(afzender: Afzender, insz: Sequence[str], begin: dt.date | None = None,
                             einde: dt.date | None = None, *, identificatie: str | None = None,
                             hoedanigheid: str | None = None, now: dt.datetime | None = None,
                             message_ref: str | None = None, question_ref: str | None = None) -> Request:
    """Repertorium.RegistreerUitschrijving-02.01: end the inscription of one or more INSZ."""
    if not insz:
        raise ValueError("at least one INSZ to unregister")
    spec = _S["Repertorium.RegistreerUitschrijving-02.01"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    _subjects(_sub(vraag, "Inhoud"), "Uitschrijving", afzender, insz, begin, einde, identificatie, hoedanigheid)
    return _req(spec, root, ref, qref, tuple(insz))


def geef_persoon_mutaties(afzender: Afzender, ontvangstreferte: str | None = None, *,
                          identificatie: str | None = None, hoedanigheid: str | None = None,
                          now: dt.datetime | None = None, message_ref: str | None = None,
                          question_ref: str | None = None) -> Request:
    """Persoon.GeefPersoonMutatiesNotificaties-02.00: the next batch; ``ontvangstreferte`` acknowledges the last."""
    spec = _S["Persoon.GeefPersoonMutatiesNotificaties-02.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    inhoud = _sub(vraag, "Inhoud")
    _sub(inhoud, "Identificatie", identificatie or afzender.identificatie)
    _sub(inhoud, "Hoedanigheid", hoedanigheid or afzender.hoedanigheid)
    if ontvangstreferte:
        _sub(inhoud, "Ontvangstreferte", ontvangstreferte)
    return _req(spec, root, ref, qref, ())


# ---------------------------------------------------------------------------------------------- LEZ


def _lez_head(parent: etree._Element, tag: str, bron: str, nummerplaat: str, land: str) -> etree._Element:
    if not nummerplaat or len(nummerplaat) > 10:
        raise ValueError("nummerplaat: 1 to 10 characters")
    if len(land) != 2:
        raise ValueError("land: a two-letter ISO code such as BE")
    el = _sub(parent, tag)
    _sub(el, "Bron", bron)
    _sub(el, "Nummerplaat", nummerplaat)
    _sub(el, "LandISOCode", land)
    return el


def registreer_lez(afzender: Afzender, nummerplaat: str, vrijstellingen: Sequence[VrijstellingAanvraag], *,
                   bron: str, land: str = "BE", now: dt.datetime | None = None, message_ref: str | None = None,
                   question_ref: str | None = None) -> Request:
    """Milieu.RegistreerLEZGegevens-02.00: register exemptions (reason + period) for a plate."""
    if not vrijstellingen:
        raise ValueError("at least one exemption to register")
    spec = _S["Milieu.RegistreerLEZGegevens-02.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    lez = _lez_head(_sub(vraag, "Inhoud"), "LEZGegevens", bron, nummerplaat, land)
    lijst = _sub(lez, "Vrijstellingen")
    for v in vrijstellingen:
        el = _sub(lijst, "Vrijstelling")
        _sub(el, "Reden", v.reden)
        _periode(el, "Periode", v.begin, v.einde)
    return _req(spec, root, ref, qref, ())


def geef_lez_gegevens(afzender: Afzender, nummerplaat: str, *, bron: str, land: str = "BE",
                      now: dt.datetime | None = None, message_ref: str | None = None,
                      question_ref: str | None = None) -> Request:
    """Milieu.GeefLEZGegevens-02.00: read back what is registered for a plate."""
    spec = _S["Milieu.GeefLEZGegevens-02.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    _lez_head(_sub(vraag, "Inhoud"), "Criteria", bron, nummerplaat, land)
    return _req(spec, root, ref, qref, ())


def verwijder_lez(afzender: Afzender, nummerplaat: str, *, bron: str, referten: Sequence[str] = (),
                  land: str = "BE", now: dt.datetime | None = None, message_ref: str | None = None,
                  question_ref: str | None = None) -> Request:
    """Milieu.VerwijderLEZGegevens-02.00: remove exemptions by their ``Referte`` (none named: all of ``bron``)."""
    spec = _S["Milieu.VerwijderLEZGegevens-02.00"]
    root, verzoek, ref = _start(spec, afzender, now, message_ref)
    vraag, qref = _vraag(verzoek, question_ref)
    lez = _lez_head(_sub(vraag, "Inhoud"), "LEZGegevens", bron, nummerplaat, land)
    if referten:
        lijst = _sub(lez, "Vrijstellingen")
        for r in referten:
            _sub(_sub(lijst, "Vrijstelling"), "Referte", r)
    return _req(spec, root, ref, qref, ())


# ---------------------------------------------------------------------------------------------- validation

_VALIDATE_LOCK = threading.Lock()  # an XMLSchema object is not safe to use from two threads at once


def validate_request(request: Request) -> None:
    """Check the Body element against the service's official request XSD; raise :class:`RequestInvalid`.

    The error text keeps element names and rule, not values (a value may be an INSZ).
    """
    schema = schema_for(request.spec.request_xsd)
    with _VALIDATE_LOCK:
        if schema.validate(request.element):
            return
        err = schema.error_log.last_error
    detail = scrub(err.message) if err is not None else "unknown error"
    raise RequestInvalid(f"{request.spec.key} request does not satisfy {request.spec.name}.xsd: {detail}")
