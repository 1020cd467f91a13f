"""The citizen's access document as HTML (Jinja2, autoescaped) and as an A4 PDF (fpdf2), from one list of sections.

Both formats are built from :func:`sections`, so they can never say different things. Times are Ghent local
time. The PDF uses the letters' conventions (:mod:`proactief.notify.pdf`): Helvetica in Windows-1252, the city's
sender block, a fixed creation date (the document's own time), so the same document gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from proactief.citizen.inzage import Inzage

__all__ = ["Section", "render_html", "render_pdf", "sections"]

TEMPLATES = Path(__file__).parent / "templates"
LOCAL_TZ = ZoneInfo("Europe/Brussels")
TITLE = "Wat deed de stad Gent met uw gegevens?"
INTRO = (
    "U vroeg welke gegevens de stad Gent over u opvroeg en gebruikte. Dit overzicht toont wie uw gegevens opvroeg "
    "bij de overheid (via MAGDA, het gegevensplatform van de Vlaamse overheid), welke gegevens van de stad zelf we "
    "gebruikten, welke beslissingen we namen en waarom, wat we u toekenden en welke berichten we u stuurden. "
    "De inhoud van de opgevraagde gegevens (bijvoorbeeld een inkomen) staat hier niet in: die bewaren we niet."
)
CONTACT = (
    "Vragen over dit overzicht, of wilt u weten welke medewerker uw gegevens bekeek? Bel Gentinfo op 09 210 10 10 "
    "en vraag naar de functionaris voor gegevensbescherming van Stad Gent. Bent u het niet eens met hoe we uw "
    "gegevens gebruiken, dan kunt u een klacht indienen bij de Vlaamse Toezichtcommissie."
)


@dataclass(frozen=True)
class Section:
    """One part of the document: a heading, a sentence, a table (each cell may hold several lines)."""

    id: str
    title: str
    intro: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return _when(value)[:10]
    return value.strftime("%d/%m/%Y")


def _lines(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def sections(doc: Inzage) -> list[Section]:
    """The document's content, in reading order."""
    out = [
        Section("raadplegingen", "Wie vroeg uw gegevens op bij de overheid?",
                "Elke vraag over u aan MAGDA: wanneer, bij welke bron, voor welke regeling en op welke rechtsgrond, "
                "en welke dienst van de stad ze stelde. We bewaren deze lijst tien jaar.",
                ("Wanneer", "Bron", "Waarvoor", "Rechtsgrond", "Gevraagd door", "Resultaat"),
                tuple((_when(c.when), c.source,
                       _lines(c.scheme, ("Nagegaan: " + ", ".join(c.used_for)) if c.used_for else None),
                       "\n".join(c.legal_grounds),
                       _lines(c.afnemer, f"voor {c.department}" if c.department else None), c.outcome)
                      for c in doc.consultations),
                "Er werden geen gegevens over u opgevraagd bij de overheid."),
        Section("stadsgegevens", "Welke gegevens van de stad zelf gebruikten we?",
                "De stad gebruikt ook haar eigen bestanden: het uittreksel van het bevolkingsregister, de gegevens "
                "van het OCMW en de inschrijvingen in stedelijke scholen en kinderopvang.",
                ("Wanneer", "Bestand van de stad", "Waarvoor", "Regeling"),
                tuple((_when(r.when), r.source, r.what, r.scheme) for r in doc.city_reads),
                "We gebruikten geen eigen bestanden van de stad over u."),
        Section("beslissingen", "Welke beslissingen namen we?",
                "Elke beslissing over u, met de redenen. Een proefrun is een test: daarbij werd niets toegekend "
                "of verstuurd.",
                ("Datum", "Regeling", "Periode", "Beslissing", "Waarom", "Gebruikte bronnen"),
                tuple((_when(d.decided_at), d.scheme, d.period,
                       d.label + (" (proefrun, niets toegekend)" if d.trial else ""),
                       "\n".join(d.reasons) or "Geen reden bewaard.", "\n".join(d.sources) or "–")
                      for d in doc.decisions),
                "Er is geen beslissing over u."),
        Section("toekenningen", "Wat kende de stad u toe?",
                "De voordelen die u kreeg, en aan welk systeem we ze doorgaven.",
                ("Toegekend op", "Regeling", "Periode", "Geldig", "Status", "Opvolging"),
                tuple((_day(g.granted_at), g.scheme, g.period,
                       f"van {_day(g.valid_from)}" + (f" tot {_day(g.valid_until)}" if g.valid_until else ""),
                       g.status, "\n".join(g.passed_on) or "–") for g in doc.grants),
                "De stad kende u (nog) niets toe."),
        Section("berichten", "Welke berichten stuurden we u?",
                "Brieven, e-mails en berichten in uw eBox over uw voordelen.",
                ("Gemaakt op", "Kanaal", "Status", "Verstuurd op", "Over"),
                tuple((_when(n.created_at), n.channel, n.status, _when(n.sent_at) if n.sent_at else "–",
                       "\n".join(n.schemes) or "–") for n in doc.letters),
                "We stuurden u geen berichten."),
        Section("bezwaren", "Uw bezwaren",
                "Als u bezwaar maakt tegen het opvragen van uw gegevens, vragen we niets meer op, kennen we niets "
                "automatisch toe en sturen we geen berichten." + (
                    f" Uw bezwaar geldt sinds {_day(doc.opted_out_since)}." if doc.opted_out_since else ""),
                ("Datum", "Wat", "Via", "Genoteerd door"),
                tuple((_when(o.at), o.action, o.channel, o.recorded_by or "–") for o in doc.objections),
                "U maakte geen bezwaar."),
        Section("bezwaren-beslissing", "Uw bezwaren tegen een beslissing",
                "Was u het niet eens met een beslissing? Dan bekijkt een dossierbehandelaar van de stad uw dossier "
                "zelf. Een toekenning door een dossierbehandelaar kijkt een tweede medewerker na. Zo'n beslissing "
                "geldt: de automatische controle verandert er niets aan.",
                ("Datum", "Regeling", "Wat", "Status", "Door"),
                tuple((_when(c.at), c.scheme, c.what, c.status, c.by) for c in doc.casework),
                "U maakte geen bezwaar tegen een beslissing."),
        Section("medewerkers", "Welke medewerkers van de stad bekeken uw gegevens?",
                "Een medewerker van het callcenter of van de dienst kan uw beslissing bekijken om uw vraag te "
                "beantwoorden. Ook dat bewaren we." + ("" if doc.staff_names else
                                                       " De naam van de medewerker krijgt u op aanvraag."),
                ("Wanneer", "Wie", "Wat"),
                tuple((_when(v.when), v.who, v.what) for v in doc.staff_views),
                "Geen medewerker bekeek uw gegevens."),
    ]
    return out


@cache
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html", "j2")),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(doc: Inzage) -> str:
    """One self-contained HTML page (inline style, no scripts, no external resources)."""
    return str(_env().get_template("inzage.html.j2").render(
        title=TITLE, intro=INTRO, contact=CONTACT, doc=doc, made=_when(doc.made_at), sections=sections(doc)))


# ------------------------------------------------------------------------------------------ PDF

_LEFT = 20.0
_GREY = (90, 90, 90)
_ACCENT = (31, 111, 178)
_SIZE = 9.5
_LINE = 4.6


def _pdf_class() -> Any:
    from fpdf import FPDF

    from proactief.notify.pdf import _encodable

    class _Document(FPDF):  # type: ignore[misc]
        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("helvetica", size=7)
            self.set_text_color(*_GREY)
            self.cell(0, 4, _encodable(f"Stad Gent – overzicht van uw gegevens – {self.made}"), align="L")
            self.set_x(_LEFT)
            self.cell(0, 4, f"Pagina {self.page_no()}/{{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    return _Document


def render_pdf(doc: Inzage) -> bytes:
    """The same document on A4: per section its heading and sentence, then one block per row (the first cells
    in bold, the others as "Kop: waarde" lines)."""
    from proactief.notify.pdf import SENDER_LINES, _encodable

    def text(value: str) -> str:
        return _encodable(value)

    pdf = _pdf_class()(orientation="portrait", unit="mm", format="A4")
    pdf.made = _when(doc.made_at)
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_margins(_LEFT, 15, _LEFT)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.set_title(TITLE)
    pdf.set_author("Stad Gent")
    pdf.set_creator("Proactief Gent")
    pdf.set_lang("nl-BE")
    made = doc.made_at if doc.made_at.tzinfo is not None else doc.made_at.replace(tzinfo=dt.UTC)
    pdf.set_creation_date(made)
    pdf.add_page()
    width = pdf.w - 2 * _LEFT
    pdf.set_font("helvetica", "B", 16)
    pdf.set_text_color(*_ACCENT)
    pdf.cell(0, 8, "Stad Gent", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*_GREY)
    pdf.set_font("helvetica", size=9)
    for line in SENDER_LINES:
        pdf.cell(0, 4.4, text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(6)
    pdf.set_font("helvetica", "B", 15)
    pdf.multi_cell(width, 7, text(TITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=_SIZE)
    pdf.multi_cell(width, _LINE, text(f"Overzicht gemaakt op {_when(doc.made_at)} voor de persoon met "
                                      f"rijksregisternummer {doc.insz_masked}."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.multi_cell(width, _LINE, text(INTRO), new_x="LMARGIN", new_y="NEXT")
    for section in sections(doc):
        if pdf.get_y() + 30 > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(4)
        pdf.set_font("helvetica", "B", 12)
        pdf.set_text_color(*_ACCENT)
        pdf.multi_cell(width, 6, text(section.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("helvetica", size=_SIZE)
        pdf.multi_cell(width, _LINE, text(section.intro), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
        if not section.rows:
            pdf.set_font("helvetica", "I", _SIZE)
            pdf.multi_cell(width, _LINE, text(section.empty), new_x="LMARGIN", new_y="NEXT")
            continue
        for row in section.rows:
            _row(pdf, width, section.headers, row, text)
    pdf.ln(4)
    pdf.set_font("helvetica", size=_SIZE)
    pdf.multi_cell(width, _LINE, text(CONTACT), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _row(pdf: Any, width: float, headers: Sequence[str], row: Sequence[str], text: Any) -> None:
    if pdf.get_y() + 14 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.set_draw_color(217, 222, 228)
    pdf.line(_LEFT, pdf.get_y(), _LEFT + width, pdf.get_y())
    pdf.ln(1)
    pdf.set_font("helvetica", "B", _SIZE)
    pdf.multi_cell(width, _LINE, text(f"{row[0]} – {row[1]}".replace("\n", "; ")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=_SIZE)
    for header, cell in zip(headers[2:], row[2:], strict=True):
        values = [v for v in cell.split("\n") if v]
        if not values:
            continue
        pdf.set_x(_LEFT + 3)
        pdf.multi_cell(width - 3, _LINE, text(f"{header}: {values[0]}"), new_x="LMARGIN", new_y="NEXT")
        for more in values[1:]:
            pdf.set_x(_LEFT + 3 + 4)
            pdf.multi_cell(width - 7, _LINE, text(more), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
