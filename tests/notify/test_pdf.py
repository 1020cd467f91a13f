"""The letter: an A4 PDF whose extractable text holds the key facts and the message id (so a resend shows)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from proactief.notify.pdf import message_id_keyword, render_pdf
from tests.notify.notices import INSZ, INSZ_DOTTED, PLATE, SCHOOL, ivago, lez, notice, on_channel, onderwijs, uitpas


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join("\n".join(page.extract_text() for page in reader.pages).split())  # also folds no-break spaces


@pytest.fixture(scope="module")
def letter() -> tuple[object, bytes]:
    n = on_channel(notice(uitpas(), ivago(), onderwijs("leefloon"), lez()), "letter")
    return n, render_pdf(n)


def test_letter_is_an_a4_pdf(letter):
    _, data = letter
    reader = PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert data.startswith(b"%PDF-")
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)


def test_letter_text_holds_amount_dates_plate_school_and_message_id(letter):
    n, data = letter
    text = pdf_text(data)
    for fact in ("€ 42,00", "€ 21,00", "1 januari 2027", "31 december 2027", "31 augustus 2027", PLATE, SCHOOL,
                 "gratis (100% korting)", "Wat de stad u toekent"):
        assert fact in text, fact
    assert n.message_id in text


def test_letter_has_sender_address_block_and_date(letter):
    _, data = letter
    first = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    for line in ("Stad Gent", "Botermarkt 1", "9000 Gent", "Aan de bewoner", "Kerkstraat 12 bus 3",
                 "Gent, 15 januari 2027", "Beste Gentenaar"):
        assert line in first, line


def test_dutch_accents_and_dashes_render_as_text(letter):
    text = pdf_text(letter[1])
    assert "één waardebon" in text
    assert "Financiën" in text
    assert "Stad Gent – Dienst Cultuur" in text


def test_message_id_is_on_every_page_and_in_the_keywords(letter):
    n, data = letter
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    for page in reader.pages:
        assert f"Referentie van dit bericht: {n.message_id}" in page.extract_text()
    assert reader.metadata["/Keywords"] == message_id_keyword(n.message_id)


def test_letter_never_shows_the_insz(letter):
    text = pdf_text(letter[1])
    assert INSZ not in text and INSZ_DOTTED not in text
    assert INSZ.encode() not in letter[1]


def test_same_notice_gives_the_same_bytes():
    n = on_channel(notice(uitpas()), "letter")
    assert render_pdf(n) == render_pdf(n)


def test_ebox_pdf_without_address_has_no_address_block():
    from dataclasses import replace

    n = replace(on_channel(notice(uitpas()), "ebox"), address_line=None)
    assert "Aan de bewoner" not in pdf_text(render_pdf(n))


def test_characters_outside_windows_1252_lose_their_accent_instead_of_failing_the_letter():
    n = on_channel(notice(onderwijs(institution="Basisschool Łódź Ő")), "letter")
    assert "Basisschool Lódz O" in pdf_text(render_pdf(n))
