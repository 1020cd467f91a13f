"""The paper letter (and the eBox attachment): an A4 PDF of the same words as the e-mail.

The body is the plain-text rendering (:func:`proactief.notify.render.render`), so letter, e-mail and eBox can
never say different things. The PDF reads the text's plain conventions: a line underlined with ``=``/``-`` is a
heading, ``- `` starts a bullet, and a short question alone at the start of a paragraph ("Vragen over dit
voordeel?") is a subheading.

Fonts: the PDF core font Helvetica with the Windows-1252 encoding, so nothing is bundled and é, ë, € and the
en dash of the department names render and extract as text. A character outside Windows-1252 (a rare letter in
an institution name) is written without its accent rather than failing the letter.

The message id is printed in small print at the foot of every page and stored in the PDF keywords
(``message-id:<id>``): a resend of the same notice is the same letter and is recognisable as such. The creation
date is the notice's date, so rendering the same notice twice gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from fpdf import FPDF

from proactief.notify.model import Notice, RenderedNotice
from proactief.notify.render import format_date, render

__all__ = ["SENDER_LINES", "render_pdf", "message_id_keyword"]

SENDER_LINES = ("Botermarkt 1", "9000 Gent", "Gentinfo 09 210 10 10", "stad.gent")
"""Under "Stad Gent" in the sender block."""
_ENCODING = "windows-1252"
_KEYWORD_PREFIX = "message-id:"
_NO_DECOMPOSITION = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "ŀ": "l",
                                   "Ŀ": "L", "‐": "-", "‑": "-", "−": "-", "\u2009": " ", "\u202f": " "})
_LEFT = 20.0
_RIGHT = 20.0
_BODY_SIZE = 10.5
_LINE = 5.2
_GREY = (90, 90, 90)
_ACCENT = (31, 111, 178)


def message_id_keyword(message_id: str) -> str:
    """What the PDF keywords hold, so a reader (``LetterChannel``) can tell which message a file is."""
    return f"{_KEYWORD_PREFIX}{message_id}"


def _encodable(text: str) -> str:
    """``text`` with every character Windows-1252 cannot hold replaced by its unaccented form (or ``?``)."""
    out = []
    for ch in text:
        try:
            ch.encode(_ENCODING)
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch.translate(_NO_DECOMPOSITION))
                           if not unicodedata.combining(c))
            try:
                base.encode(_ENCODING)
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


_MONTHS = "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
_DATE = re.compile(rf"\b(\d{{1,2}}) ({_MONTHS}) (\d{{4}})\b")


def _pdf_text(text: str) -> str:
    """Keep an amount ("€ 42,00") and a date ("1 januari 2027") on one line: no-break spaces."""
    text = _DATE.sub("\\1\u00a0\\2\u00a0\\3", _encodable(text))
    return text.replace("€ ", "€\u00a0")


class _Letter(FPDF):
    def __init__(self, message_id: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = _ENCODING
        self._message_id = _encodable(message_id)
        self.set_margins(_LEFT, 15, _RIGHT)
        self.set_auto_page_break(auto=True, margin=22)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("helvetica", size=7)
        self.set_text_color(*_GREY)
        self.cell(0, 4, f"Referentie van dit bericht: {self._message_id}", align="L")
        self.set_x(_LEFT)
        self.cell(0, 4, f"Pagina {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _sender_block(pdf: _Letter) -> None:
    pdf.set_xy(_LEFT, 15)
    pdf.set_font("helvetica", "B", 16)
    pdf.set_text_color(*_ACCENT)
    pdf.cell(0, 8, "Stad Gent", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*_GREY)
    pdf.set_font("helvetica", size=9)
    for line in SENDER_LINES:
        pdf.cell(0, 4.4, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _address_block(pdf: _Letter, address_line: str, names: tuple[str, ...] = ()) -> None:
    """In the window of a Belgian right-window envelope: the addressee's name(s) (from the register extract at send
    time; else "Aan de bewoner"), street, postcode and municipality."""
    pdf.set_font("helvetica", size=11)
    pdf.set_xy(115, 50)
    people = [n for n in names if n.strip()][:2] or ["Aan de bewoner"]
    for line in [*people, *(p.strip() for p in address_line.split(",") if p.strip())]:
        pdf.set_x(115)
        pdf.cell(75, 5.5, _encodable(line), new_x="LEFT", new_y="NEXT")


def _is_underline(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= 3 and len(set(stripped)) == 1 and stripped[0] in "=-"


def _keep_room(pdf: _Letter, height: float) -> None:
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()


def _body(pdf: _Letter, text: str) -> None:
    lines = text.splitlines()
    width = pdf.w - _LEFT - _RIGHT
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        prev = lines[i - 1] if i > 0 else ""
        if line.strip() and _is_underline(nxt):
            _keep_room(pdf, 30)
            pdf.ln(2)
            pdf.set_font("helvetica", "B", 12 if nxt.strip()[0] == "-" else 13)
            pdf.set_text_color(*_ACCENT)
            pdf.multi_cell(width, 6.2, _pdf_text(line.strip()), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.set_text_color(0, 0, 0)
            i += 2
            continue
        if not line.strip():
            pdf.ln(_LINE * 0.6)
        elif line.startswith("- "):
            pdf.set_font("helvetica", size=_BODY_SIZE)
            pdf.set_x(_LEFT + 3)
            pdf.cell(4, _LINE, "\u2022")
            pdf.multi_cell(width - 7, _LINE, _pdf_text(line[2:]), new_x="LMARGIN", new_y="NEXT", align="L")
        elif line.endswith("?") and len(line) <= 70 and not prev.strip() and nxt.strip():
            _keep_room(pdf, 18)
            pdf.set_font("helvetica", "B", _BODY_SIZE)
            pdf.multi_cell(width, _LINE, _pdf_text(line), new_x="LMARGIN", new_y="NEXT", align="L")
        else:
            pdf.set_font("helvetica", size=_BODY_SIZE)
            pdf.multi_cell(width, _LINE, _pdf_text(line), new_x="LMARGIN", new_y="NEXT", align="L")
        i += 1


def render_pdf(notice: Notice, rendered: RenderedNotice | None = None) -> bytes:
    """The A4 letter for ``notice``: sender, address block (when the notice has an address), date, subject, body,
    and the message id in small print at the bottom of each page. Pass ``rendered`` to reuse a rendering."""
    rendered = rendered if rendered is not None else render(notice)
    pdf = _Letter(notice.message_id)
    pdf.set_title(_encodable(rendered.subject))
    pdf.set_author("Stad Gent")
    pdf.set_creator("Proactief Gent")
    pdf.set_keywords(message_id_keyword(notice.message_id))
    pdf.set_lang("nl-BE")
    pdf.set_creation_date(dt.datetime.combine(notice.sent_on, dt.time(12, 0), tzinfo=dt.UTC))
    pdf.add_page()
    _sender_block(pdf)
    if notice.address_line:
        _address_block(pdf, notice.address_line, notice.addressee_names)
    pdf.set_xy(_LEFT, 92)
    pdf.set_font("helvetica", size=_BODY_SIZE)
    pdf.cell(0, _LINE, f"Gent, {format_date(notice.sent_on)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 14)
    pdf.multi_cell(0, 7, _pdf_text(rendered.subject), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(3)
    _body(pdf, rendered.text)
    return bytes(pdf.output())
