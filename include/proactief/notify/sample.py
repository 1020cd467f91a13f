"""A sample of what a citizen receives, for review by the city (communication team, DPO, scheme owners).

``python -m proactief.notify.sample OUTDIR`` writes, for one fictitious household (UiTPAS kansentarief and the
IVAGO voucher in one combined notice, on a fixed synthetic date):

* ``OUTDIR/sample-letter.pdf``: the letter as the print service gets it;
* ``OUTDIR/sample-letter.png``: its first page as an image (for a README or a review without a PDF viewer);
* ``OUTDIR/sample-email.txt``: the e-mail's subject and plain-text body;
* ``OUTDIR/sample-letter-wacht-op-pas.png`` and ``OUTDIR/sample-email-wacht-op-pas.txt``: the same household
  without a UiTPAS yet, "uw kansentarief staat klaar" with how to get the pass (PDF too);
* ``OUTDIR/sample-letter-gezin.png`` and ``OUTDIR/sample-email-gezin.txt``: a family's onderwijskorting, one message
  to the parents listing both children and their schools (PDF too).

Everything is made up: the names and the address do not exist and the INSZ is a MAGDA test number (it is not
printed). The names stand for what the register extract gives at send time ("Beste <voornaam> <naam>").
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from proactief.notify.model import BenefitLine, CardInfo, Notice
from proactief.notify.pdf import render_pdf
from proactief.notify.render import render

__all__ = ["main", "sample_notice", "sample_notice_family", "sample_notice_without_pass", "write_samples"]

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
        addressee_names=("An Voorbeeld",),
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


def sample_notice_without_pass(channel: str = "letter") -> Notice:
    """The same household without a UiTPAS yet: the kansentarief waits for the pass ("wacht op pas"). The texts and
    the price are the scheme's (``grant.awaiting_card`` and its parameters on the sample date)."""
    from proactief.schemes import load_scheme

    scheme = load_scheme("uitpas-kansentarief")
    terms = scheme.grant.awaiting_card_terms(lambda name: scheme.parameter(name, SAMPLE_DATE)) or {}
    notice = sample_notice(channel)
    card = CardInfo(where=terms.get("where"), bring=terms.get("bring"),
                    price=Decimal(terms["price"]) if "price" in terms else None,
                    fetch_by=SAMPLE_DATE + dt.timedelta(days=int(terms.get("wait_days", 180))))
    uitpas, *rest = notice.benefits
    return replace(notice, message_id="notify.sample.7d41b0c95e2a@proactief.gent",
                   benefits=(replace(uitpas, card=card), *rest))


def sample_notice_family(channel: str = "letter") -> Notice:
    """A family's onderwijskorting (income tier "laag", school year 2026-2027): one message to the parents of the
    household, greeting both, with a block per child naming the child and its school."""
    registry = "Rijksregister – GeefPersoon"
    sources = (registry, "Kruispuntbank van de Sociale Zekerheid – GeefSociaalStatuut",
               "FOD Financiën – GeefAanslagbiljetPersonenbelasting",
               "Stad Gent – inschrijvingen stedelijke scholen en opvang")

    def child(name: str, school: str) -> BenefitLine:
        return BenefitLine(scheme_id="onderwijskorting", tier="inkomen-laag", period="2026-2027",
                           valid_from=dt.date(2026, 9, 1), valid_until=dt.date(2027, 8, 31),
                           percentages={"opvang": Decimal("50"), "maaltijden": Decimal("25")},
                           institution_name=school, sources=sources, beneficiary_name=name)

    return Notice(
        message_id="notify.sample.3b8e51d0c6a7@proactief.gent",
        channel=channel,  # type: ignore[arg-type]
        insz=SAMPLE_INSZ,
        email="ouders@example.org",
        address_line="Voorbeeldstraat 12 bus 3, 9000 Gent",
        sent_on=dt.date(2026, 9, 14),
        addressee_names=("An Voorbeeld", "Bart Voorbeeld"),
        benefits=(child("Lotte Voorbeeld", "Stedelijke Basisschool De Vlieger"),
                  child("Milan Voorbeeld", "Stedelijke Kleuterschool Het Speelhof")),
    )


def _letter(notice: Notice, outdir: Path, stem: str) -> list[Path]:
    import pypdfium2 as pdfium

    pdf = render_pdf(notice)
    pdf_path = outdir / f"{stem}.pdf"
    pdf_path.write_bytes(pdf)
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=1.5).to_pil()  # 108 dpi: readable, small enough for a repository
    finally:
        doc.close()
    png_path = outdir / f"{stem}.png"
    image.save(png_path, format="PNG", optimize=True)
    return [pdf_path, png_path]


def write_samples(outdir: Path) -> list[Path]:
    """Write the sample files into ``outdir``; returns their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    pdf_path, png_path = _letter(sample_notice("letter"), outdir, "sample-letter")

    mail = render(sample_notice("email"))
    txt_path = outdir / "sample-email.txt"
    txt_path.write_text(f"Onderwerp: {mail.subject}\n\n{mail.text}", encoding="utf-8")
    waiting = _letter(sample_notice_without_pass("letter"), outdir, "sample-letter-wacht-op-pas")
    mail = render(sample_notice_without_pass("email"))
    waiting_txt = outdir / "sample-email-wacht-op-pas.txt"
    waiting_txt.write_text(f"Onderwerp: {mail.subject}\n\n{mail.text}", encoding="utf-8")
    family = _letter(sample_notice_family("letter"), outdir, "sample-letter-gezin")
    mail = render(sample_notice_family("email"))
    family_txt = outdir / "sample-email-gezin.txt"
    family_txt.write_text(f"Onderwerp: {mail.subject}\n\n{mail.text}", encoding="utf-8")
    return [pdf_path, png_path, txt_path, *waiting, waiting_txt, *family, family_txt]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proactief.notify.sample", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="directory to write the sample files into")
    args = parser.parse_args(argv)
    for path in write_samples(args.outdir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
