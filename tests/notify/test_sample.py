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
    # A family's onderwijskorting: one message to both parents by name, a block per child with its school.
    family = (tmp_path / "sample-email-gezin.txt").read_text(encoding="utf-8")
    assert "\n\nBeste An Voorbeeld en Bart Voorbeeld\n" in family
    assert "Uw kind Lotte Voorbeeld krijgt korting op de kosten van Stedelijke Basisschool De Vlieger." in family
    assert "Uw kind Milan Voorbeeld krijgt korting op de kosten van Stedelijke Kleuterschool Het Speelhof." in family
    assert (tmp_path / "sample-letter-gezin.png").is_file() and SAMPLE_INSZ not in family


def test_the_samples_in_docs_are_what_the_templates_write_now(tmp_path):
    """docs/ shows what a citizen gets today (the e-mail texts; the PNGs are written by the same run)."""
    from pathlib import Path

    main([str(tmp_path)])
    docs = Path(__file__).resolve().parents[2] / "docs"
    for name in ("sample-email.txt", "sample-email-wacht-op-pas.txt", "sample-email-gezin.txt"):
        assert (docs / name).read_text(encoding="utf-8") == (tmp_path / name).read_text(encoding="utf-8"), name
