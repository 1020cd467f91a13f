"""A sample of what a citizen receives, for review by the city (communication team, DPO, scheme owners).

``python -m proactief.notify.sample OUTDIR`` writes, for one fictitious household (UiTPAS kansentarief and the
IVAGO voucher in one combined notice, on a fixed synthetic date):

* ``OUTDIR/sample-letter.pdf``: the letter as the print service gets it;
* ``OUTDIR/sample-letter.png``: its first page as an image (for a README or a review without a PDF viewer);
* ``OUTDIR/sample-email.txt``: the e-mail's subject and plain-text body.

Everything is made up: the address does not exist and the INSZ is a MAGDA test number (it is not printed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

from proactief.notify.model import BenefitLine, Notice
from proactief.notify.pdf import render_pdf
from proactief.notify.render import render

__all__ = ["main", "sample_notice", "write_samples"]

SAMPLE_DATE = dt.date(2027, 1, 4)
SAMPLE_INSZ = "85673012367"
"""A MAGDA test (TST) number: month + 60; valid check digits; never appears in the output."""


def sample_notice(channel: str = "letter") -> Notice:
    """The fictitious notice the samples show: UiTPAS kansentarief and the IVAGO voucher for 2027."""
    registry = "Rijksregister – GeefPersoon"
    social = "Kruispuntbank van de Sociale Zekerheid – GeefSociaalStatuut"
    return Notice(
        message_id="notify.sample.0f3a9c2e71b4@proactief.gent",
        channel=channel,  # type: ignore[arg-type]
        insz=SAMPLE_INSZ,
        email="bewoner@example.org",
        address_line="Voorbeeldstraat 12 bus 3, 9000 Gent",
        sent_on=SAMPLE_DATE,
        benefits=(
            BenefitLine(scheme_id="uitpas-kansentarief", tier=None, period="2027-01",
                        valid_from=dt.date(2027, 1, 1), valid_until=dt.date(2027, 12, 31),
                        percentages={"korting": Decimal("80")}, sources=(registry, social)),
            BenefitLine(scheme_id="ivago-tegemoetkoming", tier=None, period="2027",
                        valid_from=dt.date(2027, 1, 1), valid_until=dt.date(2027, 12, 31),
                        amounts={"waardebon": Decimal("84.00"), "inzamelkrediet": Decimal("42.00")},
                        sources=(registry, social)),
        ),
    )


def write_samples(outdir: Path) -> list[Path]:
    """Write the three sample files into ``outdir``; returns their paths."""
    import pypdfium2 as pdfium

    outdir.mkdir(parents=True, exist_ok=True)
    letter = sample_notice("letter")
    pdf = render_pdf(letter)
    pdf_path = outdir / "sample-letter.pdf"
    pdf_path.write_bytes(pdf)

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=1.5).to_pil()  # 108 dpi: readable, small enough for a repository
    finally:
        doc.close()
    png_path = outdir / "sample-letter.png"
    image.save(png_path, format="PNG", optimize=True)

    mail = render(sample_notice("email"))
    txt_path = outdir / "sample-email.txt"
    txt_path.write_text(f"Onderwerp: {mail.subject}\n\n{mail.text}", encoding="utf-8")
    return [pdf_path, png_path, txt_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proactief.notify.sample", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="directory to write the sample files into")
    args = parser.parse_args(argv)
    for path in write_samples(args.outdir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
