"""A small ledger about two people, for the citizen's access document.

Person ``ANNA`` (UiTPAS): four MAGDA consultations (GeefPersoon asked by a civil servant, a statute, a repertorium
inscription, the unsubscription of her objection), a real decision (eligible: resident, budgetbeheer at the OCMW)
and a trial decision, a grant passed on to UiTPAS, a combined letter that was sent, an objection and its
withdrawal, one call-centre lookup. Person ``BERT`` (onderwijskorting): a tax consultation, a decision and a grant;
none of it may appear in Anna's document. Advice JSON carries a value that must never be shown (``SECRET``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, insert

from proactief.ledger.audit import record_lookup
from proactief.ledger.models import (
    DecisionRow,
    GrantRow,
    MagdaConsultation,
    Notice,
    OptOutEvent,
    OutboxMessage,
    SchemeRun,
)
from tests.lifecycle.ledger_rows import make_insz

UTC = dt.UTC
ANNA = make_insz(7001)
BERT = make_insz(7002)
CIVIL_SERVANT = make_insz(7003)
SECRET = "23456.78"
"""An income figure smuggled into a decision's advice: the document must never show it."""
UITPAS = "uitpas-kansentarief"
SCHOOL = "onderwijskorting"
T0 = dt.datetime(2026, 10, 1, 4, tzinfo=UTC)
TRACE = [
    {"criterion": "ghent_resident", "label": "hoofdverblijfplaats in Gent op de peildatum",
     "source": "Rijksregister – GeefPersoon", "outcome": "true", "reason": "RESIDENT_GHENT", "kind": "criterion"},
    {"criterion": "statute.BIM_BVT", "label": "sociaal statuut BIM_BVT", "source": "KSZ – GeefSociaalStatuut",
     "outcome": "false", "reason": "NO_STATUTE_BIM_BVT", "kind": "criterion"},
    {"criterion": "budgetbeheer", "label": "budgetbegeleiding of budgetbeheer bij het OCMW",
     "source": "Stad Gent – OCMW budgetbeheer", "outcome": "true", "reason": "CITY_BUDGETBEHEER",
     "kind": "criterion"},
    {"criterion": "schuldbemiddeling", "label": "schuldbemiddeling bij het OCMW",
     "source": "Stad Gent – OCMW schuldbemiddeling", "outcome": "not_asked", "reason": None, "kind": "criterion"},
]


def _consultation(conn: Any, n: int, insz: str, service: str, *, purpose: str | None, hoedanigheid: str,
                  at: dt.datetime, gebruiker: str | None = None, outcome: str = "ok") -> None:
    ref = f"00000000-0000-0000-0000-{n:012d}"
    conn.execute(insert(MagdaConsultation).values(
        message_ref=ref, question_ref=ref, service=service, afnemer="gent.be/proactief", hoedanigheid=hoedanigheid,
        gebruiker=gebruiker, subject_insz=insz, requested_at=at, outcome=outcome, code="30001", purpose=purpose,
        duration_ms=12, retain_until=dt.date(2036, 10, 1)))


def _run(conn: Any, key: str, scheme: str, period: str, *, dry_run: bool = False) -> int:
    return int(conn.execute(insert(SchemeRun).values(
        scheme_id=scheme, rule_version="1", period=period, reference_date=T0.date(), external_id=f"{scheme}/{key}",
        dry_run=dry_run, selection="population", chunk_size=100, status="finished", started_at=T0,
        finished_at=T0, figures={}).returning(SchemeRun.id)).scalar_one())


def _decision(conn: Any, run_id: int, scheme: str, insz: str, decision: str, reasons: list[str], period: str,
              at: dt.datetime) -> int:
    advice = {"decision": decision, "reasons": reasons, "trace": TRACE, "amounts": {},
              "inputs": {"household_taxable_income": SECRET}, "grant_key": f"{scheme}-{insz}-{period}"}
    return int(conn.execute(insert(DecisionRow).values(
        run_id=run_id, scheme_id=scheme, period=period, reference_date=at.date(), insz=insz, decision=decision,
        tier=None, amount=None, reasons=reasons, rule_version="1", advice=advice, consultations=[], decided_at=at,
        retain_until=dt.date(2031, 12, 31)).returning(DecisionRow.id)).scalar_one())


def _grant(conn: Any, run_id: int, decision_id: int, scheme: str, insz: str, period: str, system: str) -> int:
    return int(conn.execute(insert(GrantRow).values(
        scheme_id=scheme, grant_key=f"{scheme}-{insz}-{period}", insz=insz, period=period, run_id=run_id,
        decision_id=decision_id, system=system, valid_from=T0.date(), valid_until=dt.date(2026, 12, 31),
        terms={"secret": SECRET}, status="delivered", granted_at=T0,
        retain_until=dt.date(2031, 12, 31)).returning(GrantRow.id)).scalar_one())


def build(engine: Engine) -> None:
    """Write the ledger of the module docstring."""
    with engine.begin() as conn:
        _consultation(conn, 1, ANNA, "Persoon.GeefPersoon-02.02", purpose=UITPAS, hoedanigheid="ipdc2045",
                      at=T0 - dt.timedelta(minutes=30), gebruiker=CIVIL_SERVANT)
        _consultation(conn, 2, ANNA, "SocZek.GeefSociaalStatuut-03.00", purpose=UITPAS, hoedanigheid="ipdc2045",
                      at=T0 - dt.timedelta(minutes=29), outcome="definitive")
        _consultation(conn, 3, ANNA, "Repertorium.RegistreerInschrijving-02.01", purpose=None, hoedanigheid="1300",
                      at=T0 - dt.timedelta(days=3))
        _consultation(conn, 4, ANNA, "Repertorium.RegistreerUitschrijving-02.01", purpose="opt-out",
                      hoedanigheid="1300", at=T0 + dt.timedelta(days=20))
        _consultation(conn, 5, BERT, "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00", purpose=SCHOOL,
                      hoedanigheid="ipdc94", at=T0)
        real = _run(conn, "real", UITPAS, "2026-10")
        trial = _run(conn, "trial", UITPAS, "2026-12", dry_run=True)
        school = _run(conn, "school", SCHOOL, "2026-2027")
        d = _decision(conn, real, UITPAS, ANNA, "eligible", ["RESIDENT_GHENT", "CITY_BUDGETBEHEER"], "2026-10", T0)
        _decision(conn, trial, UITPAS, ANNA, "eligible", ["RESIDENT_GHENT", "CITY_BUDGETBEHEER"], "2026-12",
                  T0 + dt.timedelta(days=61))
        grant = _grant(conn, real, d, UITPAS, ANNA, "2026-10", "uitpas")
        db = _decision(conn, school, SCHOOL, BERT, "eligible", ["ENROLLED_CITY_SCHOOL_OR_CARE"], "2026-2027", T0)
        _grant(conn, school, db, SCHOOL, BERT, "2026-2027", "school-billing")
        notice = int(conn.execute(insert(Notice).values(
            message_id="notice.test.1@proactief.gent", insz=ANNA, channel="letter", status="sent", attempts=1,
            created_at=T0 + dt.timedelta(hours=1), sent_at=T0 + dt.timedelta(hours=2)).returning(Notice.id))
            .scalar_one())
        conn.execute(insert(OutboxMessage), [
            {"grant_id": grant, "kind": "grant", "channel": "uitpas", "status": "sent", "attempts": 1,
             "message_id": "grant.uitpas.1@test", "created_at": T0, "sent_at": T0 + dt.timedelta(minutes=5),
             "reference": "passholder-SECRET", "notice_id": None},
            {"grant_id": grant, "kind": "notify", "channel": "letter", "status": "sent", "attempts": 1,
             "message_id": "notify.letter.1@test", "created_at": T0, "sent_at": T0 + dt.timedelta(hours=2),
             "reference": None, "notice_id": notice},
        ])
        conn.execute(insert(OptOutEvent), [
            {"insz": ANNA, "action": "object", "at": T0 + dt.timedelta(days=20), "channel": "contact-centre",
             "recorded_by": "jan.balie", "note": f"note with {SECRET}"},
            {"insz": ANNA, "action": "withdraw", "at": T0 + dt.timedelta(days=40), "channel": "web",
             "recorded_by": None, "note": None},
        ])
    record_lookup(engine, subject_insz=ANNA, consulted_by="an.callcenter", outcome="found", hoedanigheid="ipdc2045",
                  at=T0 + dt.timedelta(days=30))
