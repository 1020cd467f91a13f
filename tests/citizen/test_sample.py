"""The sample access document in docs/ is what tools/sample_inzage.py makes today, and shows no INSZ."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from proactief.citizen import render_html, render_pdf
from tools.sample_inzage import SAMPLE_INSZ, sample

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_sample_in_docs_is_current_and_shows_no_insz() -> None:
    doc = sample()
    html, pdf = render_html(doc), render_pdf(doc)
    assert (DOCS / "sample-inzage.html").read_text(encoding="utf-8") == html, "run tools/sample_inzage.py"
    assert (DOCS / "sample-inzage.pdf").read_bytes() == pdf, "run tools/sample_inzage.py"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for shown in (html, text):
        assert SAMPLE_INSZ not in shown and "UiTPAS Gent met kansentarief" in shown
