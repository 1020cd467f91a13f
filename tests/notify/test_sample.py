"""``python -m proactief.notify.sample OUTDIR`` writes the sample letter (PDF and PNG) and the sample e-mail."""

from __future__ import annotations

from PIL import Image

from proactief.notify.sample import SAMPLE_INSZ, main


def test_sample_writes_letter_pdf_png_and_email_text(tmp_path, capsys):
    assert main([str(tmp_path)]) == 0
    pdf, png, txt = (tmp_path / n for n in ("sample-letter.pdf", "sample-letter.png", "sample-email.txt"))
    assert pdf.read_bytes().startswith(b"%PDF-")
    with Image.open(png) as image:
        width, height = image.size
    assert image.format == "PNG" and 1.3 < height / width < 1.5, "an A4 page"
    mail = txt.read_text(encoding="utf-8")
    assert mail.startswith("Onderwerp: Wat de stad u toekent: kansentarief op uw UiTPAS en waardebon")
    assert "€ 84,00" in mail and "80% korting" in mail
    assert SAMPLE_INSZ not in mail and SAMPLE_INSZ.encode() not in pdf.read_bytes()
    assert str(pdf) in capsys.readouterr().out
