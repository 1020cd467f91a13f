"""The wire format: SOAP 1.1 envelopes, MAGDA Context, Uitzonderingen, built as strings.

Everything the simulator synthesises is assembled from small string pieces (not element trees): it is the
cheapest way to produce thousands of answers a second, and the tests validate every shape against the
official response XSDs so the speed does not cost correctness.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape as _escape
from xml.sax.saxutils import quoteattr

from lxml import etree

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PLATFORM_ID = "vip.vlaanderen.be"
PLATFORM_NAME = "MagdaGateway"

_ENVELOPE_HEAD = f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Header/><soapenv:Body>'
_ENVELOPE_TAIL = "</soapenv:Body></soapenv:Envelope>"

# A parser that never fetches or expands anything: requests come from outside.
REQUEST_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def esc(value: object) -> str:
    return _escape(str(value))


def attr(value: object) -> str:
    return quoteattr(str(value))


def envelope(body_xml: str) -> bytes:
    return (_ENVELOPE_HEAD + body_xml + _ENVELOPE_TAIL).encode("utf-8")


def soap_fault(message: str, code: str = "soapenv:Client") -> bytes:
    """A SOAP 1.1 Fault (level 1): the request could not be accepted at all."""
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{esc(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def now_parts(now: datetime | None = None) -> tuple[str, str]:
    """MAGDA Tijdstip: ``YYYY-MM-DD`` and ``HH:MM:SS.mmm`` (local time, as the platform sends it)."""
    now = now or datetime.now()
    return now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def plain_xml(el: etree._Element) -> str:
    """Re-serialise an unqualified element subtree without inherited namespace declarations."""
    tag = etree.QName(el).localname
    attrs = "".join(f" {etree.QName(k).localname}={attr(v)}" for k, v in el.attrib.items())
    inner = esc(el.text) if el.text and len(el) == 0 else ""
    for child in el:
        if isinstance(child.tag, str):
            inner += plain_xml(child)
    return f"<{tag}{attrs}>{inner}</{tag}>"


@dataclass(frozen=True, slots=True)
class Uitzondering:
    """One MAGDA Uitzondering; rendered with the current time."""

    code: str
    diagnose: str
    type: str = "FOUT"
    oorsprong: str = "MAGDA"
    omstandigheid: str | None = None
    annotaties: tuple[tuple[str, str], ...] = ()

    def xml(self, datum: str, tijd: str) -> str:
        extra = f"<Omstandigheid>{esc(self.omstandigheid)}</Omstandigheid>" if self.omstandigheid else ""
        if self.annotaties:
            extra += "<Annotaties>" + "".join(
                f"<Annotatie><Naam>{esc(n)}</Naam><Waarde>{esc(w)}</Waarde></Annotatie>" for n, w in self.annotaties
            ) + "</Annotaties>"
        return (
            f"<Uitzondering><Identificatie>{self.code}</Identificatie><Oorsprong>{self.oorsprong}</Oorsprong>"
            f"<Type>{self.type}</Type><Tijdstip><Datum>{datum}</Datum><Tijd>{tijd}</Tijd></Tijdstip>"
            f"<Diagnose>{esc(self.diagnose)}</Diagnose>{extra}</Uitzondering>"
        )


def uitzonderingen(items: list[Uitzondering] | tuple[Uitzondering, ...], datum: str, tijd: str) -> str:
    return "<Uitzonderingen>" + "".join(u.xml(datum, tijd) for u in items) + "</Uitzonderingen>"


# The codes the simulator produces itself (diagnoses as the platform words them).
U_NO_ACCESS = Uitzondering("13001", "Geen toegang: de afnemer is niet gemachtigd voor deze dienst")
U_BAD_INSZ = Uitzondering("20002", "Ongeldig INSZ: de structuur of het controlegetal klopt niet")
U_NOT_REGISTERED = Uitzondering("40003", "Geen inschrijving in het repertorium voor dit INSZ")
U_ALREADY_REGISTERED = Uitzondering("40143", "Inschrijving bestaat reeds", type="WAARSCHUWING")
U_BUSY = Uitzondering("99996", "Te veel gelijktijdige bevragingen")
U_NO_SOURCE_ANSWER = Uitzondering("60006", "Geen antwoord van bron ontvangen")
U_NOTHING_PENDING = Uitzondering("30016", "Geen verdere gegevens beschikbaar")
U_BAD_RECEIPT = Uitzondering("30014", "Ongeldige ontvangstreferte")
U_NO_DATA = Uitzondering("30001", "Geen gegevens gevonden voor de vraag")
U_NO_INCOME_YEAR = Uitzondering(
    "45008", "Het gevraagde inkomensjaar bestaat niet", type="INFORMATIE",
    omstandigheid="Geen gegevens beschikbaar voor meegeleverd inkomstenjaar",
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asked: the request's Context (absent for the list service) and its Vraag/Referte."""

    naam: str
    versie: str
    afzender: tuple[tuple[str, str], ...]
    """The caller's ``Afzender`` children in order, as (tag, text)."""
    vraag_referte: str

    @property
    def afnemer(self) -> str:
        for tag, text in self.afzender:
            if tag == "Identificatie":
                return text
        return ""

    def get(self, tag: str) -> str:
        for t, text in self.afzender:
            if t == tag:
                return text
        return ""


def context_xml(naam: str, versie: str, caller: Caller | None, datum: str, tijd: str) -> str:
    """Repliek/Context: the platform as Afzender, the caller's Afzender echoed as Ontvanger."""
    ontvanger = ""
    if caller is not None and caller.afzender:
        ontvanger = "<Ontvanger>" + "".join(f"<{t}>{esc(v)}</{t}>" for t, v in caller.afzender) + "</Ontvanger>"
    return (
        f"<Context><Naam>{naam}</Naam><Versie>{versie}</Versie><Bericht><Type>ANTWOORD</Type>"
        f"<Tijdstip><Datum>{datum}</Datum><Tijd>{tijd}</Tijd></Tijdstip>"
        f"<Afzender><Identificatie>{PLATFORM_ID}</Identificatie><Naam>{PLATFORM_NAME}</Naam>"
        f"<Referte>{uuid.uuid4()}</Referte></Afzender>{ontvanger}</Bericht></Context>"
    )


def response_xml(root: str, namespace: str, repliek_inner: str) -> str:
    return f'<web:{root} xmlns:web="{namespace}"><Repliek>{repliek_inner}</Repliek></web:{root}>'
