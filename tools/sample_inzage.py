"""Write the sample citizen access document (``docs/sample-inzage.html`` and ``.pdf``) for review by the city.

``python tools/sample_inzage.py [OUTDIR]`` (default ``docs/``). Everything is made up: one fictitious resident with
UiTPAS kansentarief, on fixed synthetic dates; the INSZ is a MAGDA test (TST) number and is shown masked only. No
database is needed: the document is built from :class:`proactief.citizen.inzage.Inzage` directly, with the same
words :func:`proactief.citizen.gather` uses for ledger rows (source names, purposes, reasons).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from proactief.citizen import render_html, render_pdf
from proactief.citizen.inzage import (
    STAFF_UNNAMED,
    CaseworkEntry,
    CityRead,
    ConsultationEntry,
    DecisionEntry,
    GrantEntry,
    Inzage,
    LetterEntry,
    ObjectionEntry,
    StaffView,
    mask_insz,
)
from proactief.citizen.sources import CITY_SOURCES, purpose_of, service_name, source_words, used_for
from proactief.dashboard.lookup import reason_text

SAMPLE_INSZ = "85673012367"
"""A MAGDA test (TST) number (month + 60), as in proactief.notify.sample; printed masked only."""
UITPAS = "uitpas-kansentarief"


def _at(day: int, month: int, hour: int = 5, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def _consultation(key: str, when: dt.datetime, purpose: str | None, hoedanigheid: str,
                  outcome: str = "antwoord ontvangen") -> ConsultationEntry:
    p = purpose_of(purpose, hoedanigheid)
    return ConsultationEntry(when, service_name(key), p.title, p.legal_grounds, "Stad Gent (gent.be/proactief)",
                             p.department, used_for(key, p.scheme_id), outcome, purpose)


def sample() -> Inzage:
    """The fictitious resident's document."""
    title = purpose_of(UITPAS, None).title
    reasons = tuple(reason_text(c) for c in ("RESIDENT_GHENT", "STATUTE_BIM_BVT"))
    sources = tuple(source_words(s) for s in ("Rijksregister – GeefPersoon", "KSZ – GeefSociaalStatuut"))
    return Inzage(
        made_at=_at(14, 1, 9, 30, year=2027), insz_masked=mask_insz(SAMPLE_INSZ), opted_out_since=None,
        consultations=(
            _consultation("Repertorium.RegistreerInschrijving-02.01", _at(28, 9, 22), None, "1300"),
            _consultation("Persoon.GeefPersoon-02.02", _at(1, 10, 4, 2), UITPAS, "ipdc2045"),
            _consultation("SocZek.GeefSociaalStatuut-03.00", _at(1, 10, 4, 3), UITPAS, "ipdc2045"),
            _consultation("Persoon.GeefPersoon-02.02", _at(1, 12, 5, 2), UITPAS, "ipdc2045"),
            _consultation("SocZek.GeefSociaalStatuut-03.00", _at(1, 12, 5, 3), UITPAS, "ipdc2045"),
        ),
        city_reads=(
            CityRead(_at(1, 10, 4, 10), CITY_SOURCES["residents"], "om te bepalen wie de regeling nagaat", title),
            CityRead(_at(2, 10, 8), CITY_SOURCES["residents"], "uw adres, om u de brief te sturen", title),
            CityRead(_at(1, 12, 5, 10), CITY_SOURCES["residents"], "om te bepalen wie de regeling nagaat", title),
        ),
        decisions=(
            DecisionEntry(_at(1, 10, 4, 10), title, "2026-10", "eligible", "U hebt recht", reasons, False, sources),
            DecisionEntry(_at(1, 12, 5, 10), title, "2026-12", "eligible", "U hebt recht", reasons, False, sources),
        ),
        grants=(
            GrantEntry(title, "2026-10", "toegekend en doorgegeven", dt.date(2026, 10, 1), dt.date(2026, 12, 31),
                       _at(1, 10, 4, 11), ("Doorgegeven aan UiTPAS Gent op 01/10/2026",)),
            GrantEntry(title, "2027", "toegekend en doorgegeven", dt.date(2027, 1, 1), dt.date(2027, 12, 31),
                       _at(1, 12, 5, 11), ("Doorgegeven aan UiTPAS Gent op 01/12/2026",)),
        ),
        letters=(
            LetterEntry(_at(1, 10, 4, 12), "brief", "verstuurd", _at(2, 10, 8), (title,)),
            LetterEntry(_at(1, 12, 5, 12), "e-mail", "verstuurd", _at(1, 12, 7), (title,)),
        ),
        objections=(
            ObjectionEntry(_at(10, 11, 10), "Bezwaar gemaakt: de stad vraagt niets meer op over u en kent niets "
                           "automatisch toe", "contactcenter", STAFF_UNNAMED),
            ObjectionEntry(_at(20, 11, 14), "Bezwaar ingetrokken", "website", None),
        ),
        casework=(
            CaseworkEntry(_at(3, 11, 9), title, "Bezwaar tegen een beslissing, ontvangen op 03/11/2026 via telefoon",
                          "beslist", STAFF_UNNAMED),
            CaseworkEntry(_at(6, 11, 15), title, "Toegekend door een dossierbehandelaar (periode 2026-11). Reden: "
                          "U woont sinds oktober in Gent. Rechtsgrond: Reglement UiTPAS Gent, artikel 3", "geldt",
                          STAFF_UNNAMED),
        ),
        staff_views=(
            StaffView(_at(10, 11, 9, 55), STAFF_UNNAMED,
                      f"Bekeek uw beslissing over {title} in het dashboard van de stad"),
            StaffView(_at(14, 1, 9, 30, year=2027), STAFF_UNNAMED, "Maakte dit overzicht van uw gegevens (inzage)"),
        ),
    )


def write(outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    doc = sample()
    html, pdf = outdir / "sample-inzage.html", outdir / "sample-inzage.pdf"
    html.write_text(render_html(doc), encoding="utf-8")
    pdf.write_bytes(render_pdf(doc))
    return [html, pdf]


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs"):
        print(path)
