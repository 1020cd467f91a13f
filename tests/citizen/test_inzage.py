"""The citizen's access document: everything the city did with one person's data in plain Dutch (consultations,
reads of the city's own files, decisions with reasons, grants, letters, objections, staff lookups), never a raw
MAGDA value nor another person's data; making it is itself written to the consultation log."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select

from proactief.citizen import EXPORT_SERVICE, export_and_audit, gather, render_html, render_pdf
from proactief.citizen.inzage import STAFF_UNNAMED, subject_of_lookup
from proactief.citizen.sources import service_name
from proactief.insz import InvalidINSZ
from proactief.ledger.models import MagdaConsultation
from proactief.magda.services import SERVICES
from tests.citizen.ledger_data import ANNA, BERT, CIVIL_SERVANT, SECRET, build

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(ledger: Engine) -> Engine:
    build(ledger)
    return ledger


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_every_magda_consultation_with_source_scheme_legal_ground_and_afnemer(engine: Engine) -> None:
    doc = gather(engine, ANNA)
    assert [c.source for c in doc.consultations] == [
        "MAGDA-repertorium – inschrijving (zodat wijzigingen aan ons gemeld worden)",
        "Rijksregister – persoonsgegevens (adres, gezin)",
        "Kruispuntbank van de Sociale Zekerheid – sociaal statuut",
        "MAGDA-repertorium – uitschrijving (geen meldingen meer)"]
    person = doc.consultations[1]
    assert person.scheme == "UiTPAS Gent met kansentarief"
    assert person.legal_grounds[0] == "Reglement UiTPAS Gent (kansentarief), Stad Gent"
    assert person.department == "Stad Gent – Dienst Cultuur, team UiTPAS Gent"
    assert person.afnemer == "Stad Gent (gent.be/proactief)"
    assert person.used_for == ("hoofdverblijfplaats in Gent op de peildatum",)
    assert doc.consultations[2].outcome == "geen gegevens gevonden"
    assert doc.consultations[3].legal_grounds == (
        "Algemene verordening gegevensbescherming (AVG), artikel 21: recht van bezwaar",)
    assert doc.consultations[0].scheme.startswith("Opvolgen wie in Gent woont")


def test_reads_of_the_city_files_decisions_grants_letters_and_objections(engine: Engine) -> None:
    doc = gather(engine, ANNA)
    assert [(r.source, r.what) for r in doc.city_reads] == [
        ("Stad Gent – bevolkingsregister (uittreksel van de stad)", "om te bepalen wie de regeling nagaat"),
        ("Stad Gent – OCMW budgetbeheer", "nagegaan: budgetbegeleiding of budgetbeheer bij het OCMW"),
        ("Stad Gent – bevolkingsregister (uittreksel van de stad)", "uw adres, om u de brief te sturen"),
        ("Stad Gent – bevolkingsregister (uittreksel van de stad)", "om te bepalen wie de regeling nagaat"),
        ("Stad Gent – OCMW budgetbeheer", "nagegaan: budgetbegeleiding of budgetbeheer bij het OCMW"),
    ]  # schuldbemiddeling was not asked: not a read
    real, trial = doc.decisions
    assert (real.label, real.period, real.trial) == ("U hebt recht", "2026-10", False)
    assert real.reasons == ("Woont in Gent op de peildatum.",
                            "Krijgt budgetbegeleiding of budgetbeheer bij het OCMW Gent.")
    assert real.sources == ("Rijksregister – persoonsgegevens (adres, gezin)",
                            "Kruispuntbank van de Sociale Zekerheid – sociaal statuut", "Stad Gent – OCMW budgetbeheer")
    assert "Stad Gent – OCMW schuldbemiddeling" not in real.sources  # not asked
    assert trial.trial
    (grant,) = doc.grants
    assert (grant.scheme, grant.status) == ("UiTPAS Gent met kansentarief", "toegekend en doorgegeven")
    assert grant.passed_on == ("Doorgegeven aan UiTPAS Gent op 01/10/2026",)
    (letter,) = doc.letters
    assert (letter.channel, letter.status, letter.schemes) == ("brief", "verstuurd", ("UiTPAS Gent met kansentarief",))
    assert [o.action.split(":")[0] for o in doc.objections] == ["Bezwaar gemaakt", "Bezwaar ingetrokken"]
    assert doc.objections[0].channel == "contactcenter" and doc.objections[0].recorded_by == STAFF_UNNAMED
    (look,) = doc.staff_views
    assert look.who == STAFF_UNNAMED and "UiTPAS Gent met kansentarief" in look.what


@pytest.mark.parametrize("fmt", ["html", "pdf"])
def test_the_document_holds_no_raw_value_no_other_person_and_no_staff_name(engine: Engine, fmt: str) -> None:
    doc = gather(engine, ANNA)
    text = render_html(doc) if fmt == "html" else _pdf_text(render_pdf(doc))
    for section in ("Wie vroeg uw gegevens op bij de overheid?", "Welke gegevens van de stad zelf gebruikten we?",
                    "Welke beslissingen namen we?", "Wat kende de stad u toe?", "Welke berichten stuurden we u?",
                    "Uw bezwaren", "Welke medewerkers van de stad bekeken uw gegevens?"):
        assert section in text
    assert "Woont in Gent op de peildatum." in text and "Rijksregister – persoonsgegevens" in text
    assert "••.••.••-" + ANNA[6:9] in text.replace("\n", "")
    for forbidden in (ANNA, BERT, CIVIL_SERVANT, SECRET, "23456", "passholder", "Korting op schoolkosten",
                      "aanslagbiljet", "an.callcenter", "jan.balie", "30001", "ipdc"):
        assert forbidden not in text, forbidden


def test_staff_names_only_when_asked(engine: Engine) -> None:
    doc = gather(engine, ANNA, staff_names=True)
    assert doc.staff_views[0].who == "medewerker an.callcenter"
    assert "medewerker an.callcenter" in render_html(doc)
    assert "naam op aanvraag" not in render_html(doc)


def test_html_is_autoescaped(engine: Engine) -> None:
    doc = gather(engine, ANNA, staff_names=True)
    from dataclasses import replace

    from proactief.citizen.inzage import StaffView

    doc = replace(doc, staff_views=(StaffView(doc.made_at, "<script>alert(1)</script>", "x"),))
    html = render_html(doc)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_export_is_audited_before_the_document_is_returned(engine: Engine) -> None:
    export_and_audit(engine, ANNA, by="dpo.gent", output="pdf")
    with engine.connect() as conn:
        rows = conn.execute(select(MagdaConsultation.subject_insz, MagdaConsultation.service,
                                   MagdaConsultation.consulted_by, MagdaConsultation.outcome)
                            .where(MagdaConsultation.service == EXPORT_SERVICE)).all()
    assert rows == [(ANNA, "Proactief.Burger.Inzage", "dpo.gent", "pdf")]
    again = gather(engine, ANNA)  # the export is listed next time, and is not a MAGDA consultation
    assert [v.what for v in again.staff_views][-1] == "Maakte dit overzicht van uw gegevens (inzage)"
    assert len(again.consultations) == 4


def test_an_invalid_insz_is_refused_before_anything_is_read_or_logged(engine: Engine) -> None:
    with pytest.raises(InvalidINSZ, match="check digits"):
        export_and_audit(engine, ANNA[:-1] + str((int(ANNA[-1]) + 1) % 10), by="dpo.gent", output="html")
    with pytest.raises(ValueError, match="staff account"):
        export_and_audit(engine, ANNA, by="  ", output="html")
    with engine.connect() as conn:
        assert conn.execute(select(MagdaConsultation.id)
                            .where(MagdaConsultation.service == EXPORT_SERVICE)).all() == []


def test_a_person_with_nothing_on_file_gets_a_document_that_says_so(engine: Engine) -> None:
    from tests.lifecycle.ledger_rows import make_insz

    html = render_html(gather(engine, make_insz(7099)))
    assert "Er werden geen gegevens over u opgevraagd bij de overheid." in html
    assert "Er is geen beslissing over u." in html and "U maakte geen bezwaar." in html


def test_the_dashboard_lookup_reference_names_the_person_only_for_the_same_user(engine: Engine) -> None:
    with engine.connect() as conn:
        ref = conn.execute(select(MagdaConsultation.message_ref)
                           .where(MagdaConsultation.consulted_by == "an.callcenter")).scalar_one()
    import datetime as dt

    soon = dt.datetime(2026, 10, 31, 4, 30, tzinfo=dt.UTC)
    assert subject_of_lookup(engine, ref, consulted_by="an.callcenter", now=soon) == ANNA
    assert subject_of_lookup(engine, ref, consulted_by="someone.else", now=soon) is None
    assert subject_of_lookup(engine, ref, consulted_by="an.callcenter", now=soon + dt.timedelta(hours=2)) is None
    assert subject_of_lookup(engine, "00000000-0000-0000-0000-000000000001", consulted_by="an.callcenter",
                             now=soon) is None  # a MAGDA consultation, not a lookup


def test_every_magda_service_has_a_plain_dutch_name() -> None:
    for key, spec in SERVICES.items():
        assert service_name(key) != key, key
        assert spec.name not in service_name(key), key
    assert service_name("Persoon.GeefPersoon-02.02").startswith("Rijksregister – persoonsgegevens")
    assert service_name("Mobiliteit.Registrations-REST-v1").startswith("Dienst Inschrijvingen Voertuigen")
