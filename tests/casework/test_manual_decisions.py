"""A case worker's decision by hand prevails over later automatic runs (issue 17.3), on PostgreSQL.

- A manual grant (confirmed by a second person) is neither revoked (LEZ) nor granted again, and the citizen gets no
  second letter, while its window runs.
- A manual refusal is not overturned by a later run that finds the person eligible on the same facts; when a fact
  it rested on changed, the run does not grant either but sends the decision back to the case worker.
- A bezwaar gets its deadline (30 days) and a late one is recorded, flagged; four eyes on a grant; the decision
  letter is queued once and sent once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from proactief.casework import (
    CaseworkError,
    NotAllowed,
    confirm_manual_decision,
    dispatch_decision_letters,
    list_casework,
    record_bezwaar,
    record_manual_decision,
    withdraw_bezwaar,
)
from proactief.delivery import Delivered
from proactief.ledger.models import Bezwaar, DecisionRow, GrantRow, ManualDecision, Notice, OutboxMessage, SchemeRun
from proactief.notify.model import Notice as NoticeData
from proactief.notify.model import RenderedNotice
from tests.casework.runs import LEZ, UITPAS, count, resident, run, trace
from tests.lifecycle.ledger_rows import make_insz

JAN, MAR, APR = dt.date(2026, 1, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)
MON1, MON2 = dt.date(2026, 11, 2), dt.date(2026, 11, 9)


@dataclass
class Sent:
    name: str
    log: list[tuple[NoticeData, RenderedNotice]] = field(default_factory=list)

    def send(self, notice: NoticeData, rendered: RenderedNotice) -> Delivered:
        self.log.append((notice, rendered))
        return Delivered(reference=f"{self.name}-{len(self.log)}")


def _decision_of(engine: Engine, run_id: int, insz: str) -> DecisionRow:
    with engine.connect() as conn:
        return conn.execute(select(DecisionRow.__table__).where(DecisionRow.run_id == run_id,
                                                                DecisionRow.insz == insz)).one()


def _figures(engine: Engine, run_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(SchemeRun.figures).where(SchemeRun.id == run_id)).scalar_one())


def _manual_kansentarief(ledger: Engine, n: int, channel: str, recorded_by: str) -> tuple[str, Any, Any]:
    """A resident refused in March objects; the case worker grants the kansentarief by hand (not yet confirmed).
    Returns the person, the bezwaar and the manual decision."""
    person = make_insz(n)
    resident(ledger, person)
    run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="false"))})
    bezwaar = record_bezwaar(ledger, insz=person, scheme_id=UITPAS, channel=channel, received_on=MAR,
                             recorded_by=recorded_by)
    md = record_manual_decision(ledger, insz=person, scheme_id=UITPAS, outcome="grant", bezwaar_id=bezwaar.id,
                                reason="U woont sinds februari in Gent.", legal_ground="Reglement UiTPAS art. 3",
                                decided_by="dossier.an", valid_until=dt.date(2026, 12, 31))
    return person, bezwaar, md


# ------------------------------------------------------------------------------------------ bezwaar


def test_a_bezwaar_gets_a_deadline_of_30_days_and_a_late_one_is_recorded_flagged(ledger: Engine) -> None:
    person = make_insz(11)
    first = run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="false"))})
    decided_on = _decision_of(ledger, first, person).decided_at.date()

    in_time = record_bezwaar(ledger, insz=person, scheme_id=UITPAS, channel="phone", received_on=decided_on,
                             recorded_by="gentinfo.an")
    late = record_bezwaar(ledger, insz=person, scheme_id=UITPAS, channel="letter", recorded_by="gentinfo.an",
                          received_on=dt.date(2026, 3, 31), decision_date=dt.date(2026, 3, 1))

    assert in_time.deadline == decided_on + dt.timedelta(days=30) and not in_time.late
    assert late.deadline == dt.date(2026, 3, 31) and not late.late, "the 30th day is still in time"
    later = record_bezwaar(ledger, insz=person, scheme_id=UITPAS, channel="counter", recorded_by="balie.bo",
                           received_on=dt.date(2026, 4, 1), decision_date=dt.date(2026, 3, 1))
    assert later.late and later.status == "open", "recorded all the same, flagged late"
    with ledger.connect() as conn:
        rows = conn.execute(select(Bezwaar.decision_id, Bezwaar.recorded_by, Bezwaar.late).order_by(Bezwaar.id)).all()
    assert [r.late for r in rows] == [False, False, True]
    assert {r.decision_id for r in rows} == {_decision_of(ledger, first, person).id}
    withdraw_bezwaar(ledger, in_time.id, by="gentinfo.an")
    assert [i.id for i in list_casework(ledger, open_only=True) if i.kind == "bezwaar"] == [late.id, later.id]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"insz": "12345678901"}, "not a valid INSZ"),
    ({"scheme_id": "no-such-scheme"}, "unknown scheme"),
    ({"channel": "fax"}, "unknown channel"),
    ({"recorded_by": " "}, "say who you are"),
])
def test_a_bad_bezwaar_is_refused_with_one_line_and_nothing_is_written(ledger: Engine, kwargs: dict,
                                                                       message: str) -> None:
    args = {"insz": make_insz(12), "scheme_id": UITPAS, "channel": "phone", "received_on": MAR,
            "recorded_by": "gentinfo.an", **kwargs}
    with pytest.raises(CaseworkError, match=message) as info:
        record_bezwaar(ledger, **args)
    assert "\n" not in str(info.value) and make_insz(12) not in str(info.value)
    assert count(ledger, Bezwaar) == 0


def test_a_user_who_may_not_edit_the_scheme_cannot_record_or_decide(ledger: Engine) -> None:
    person = make_insz(13)
    run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="false"))})
    with pytest.raises(NotAllowed):
        record_bezwaar(ledger, insz=person, scheme_id=UITPAS, channel="phone", received_on=MAR,
                       recorded_by="an", may_edit={LEZ})
    with pytest.raises(NotAllowed):
        record_manual_decision(ledger, insz=person, scheme_id=UITPAS, outcome="refuse", reason="r",
                               legal_ground="g", decided_by="an", may_edit=())


# ------------------------------------------------------------------------------------------ four eyes


def test_a_manual_grant_takes_effect_only_when_a_second_person_confirms_it(ledger: Engine) -> None:
    person, bezwaar, md = _manual_kansentarief(ledger, 21, "counter", "balie.bo")
    assert md.status == "pending_confirmation"
    assert count(ledger, GrantRow) == 0, "no grant before the second person confirms"

    with pytest.raises(CaseworkError, match="four eyes"):
        confirm_manual_decision(ledger, md.id, confirmed_by=" Dossier.An ")
    confirmed = confirm_manual_decision(ledger, md.id, confirmed_by="dossier.bart")
    with pytest.raises(CaseworkError, match="nothing to confirm"):
        confirm_manual_decision(ledger, md.id, confirmed_by="dossier.bart")

    assert confirmed.status == "in_force" and confirmed.confirmed_by == "dossier.bart"
    with ledger.connect() as conn:
        g = conn.execute(select(GrantRow.__table__)).one()
        outbox = conn.execute(select(OutboxMessage.kind, OutboxMessage.channel)).all()
        b_status = conn.execute(select(Bezwaar.status).where(Bezwaar.id == bezwaar.id)).scalar_one()
    assert (g.insz, g.valid_until, g.status, g.terms["manual_decision"]) == (person, dt.date(2026, 12, 31),
                                                                            "granted", md.id)
    assert [(o.kind, o.channel) for o in outbox] == [("grant", "uitpas")], "the downstream order, as the grant step"
    assert b_status == "decided"


def test_a_manual_refusal_is_in_force_at_once(ledger: Engine) -> None:
    person = make_insz(22)
    run(ledger, UITPAS, MAR, {person: ("eligible", trace(resident_ghent="true"))})
    md = record_manual_decision(ledger, insz=person, scheme_id=UITPAS, outcome="refuse", reason="r",
                                legal_ground="g", decided_by="dossier.an")
    assert md.status == "in_force" and md.letter_status == "pending"


# ------------------------------------------------------------------------------------------ later runs


def test_a_later_run_neither_revokes_nor_regrants_a_manual_lez_exemption(ledger: Engine) -> None:
    person, plate = make_insz(31), "1ABC123"
    resident(ledger, person)
    run(ledger, LEZ, MON1, {person: ("not_eligible", trace(has_parking_card="false"))})
    md = record_manual_decision(ledger, insz=person, scheme_id=LEZ, outcome="grant", reason="Kaart getoond.",
                                legal_ground="LEZ-reglement art. 7", decided_by="dossier.an",
                                valid_until=dt.date(2027, 11, 1), identity={"vehicle_plate": plate})
    confirm_manual_decision(ledger, md.id, confirmed_by="dossier.bart")
    assert count(ledger, GrantRow) == 1

    second = run(ledger, LEZ, MON2, {person: ("not_eligible", trace(has_parking_card="false"))})

    assert count(ledger, OutboxMessage, OutboxMessage.kind == "revoke") == 0, "no revoke order"
    assert count(ledger, OutboxMessage, OutboxMessage.kind == "notify_stop") == 0, "no 'stops' letter"
    assert count(ledger, GrantRow) == 1
    decision = _decision_of(ledger, second, person)
    assert decision.reasons == ["MANUAL_DECISION_IN_FORCE"] and decision.advice["manual_decision"] == md.id
    assert decision.advice["automatic"]["decision"] == "not_eligible"
    figures = _figures(ledger, second)
    assert figures["grant"]["manual_decision_in_force"] == 1 and figures["grant"]["revoked"] == 0


def test_a_later_eligible_run_adds_no_grant_and_no_second_letter_to_a_manual_grant(ledger: Engine) -> None:
    person = make_insz(32)
    resident(ledger, person)
    run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="false"))})
    md = record_manual_decision(ledger, insz=person, scheme_id=UITPAS, outcome="grant", reason="r",
                                legal_ground="g", decided_by="dossier.an", valid_until=dt.date(2026, 12, 31))
    confirm_manual_decision(ledger, md.id, confirmed_by="dossier.bart")

    later = run(ledger, UITPAS, APR, {person: ("eligible", trace(resident_ghent="true"))})

    assert count(ledger, GrantRow) == 1
    assert count(ledger, OutboxMessage, OutboxMessage.kind.like("notify%")) == 0, \
        "the bezwaar letter tells it; no second (automatic) letter"
    assert _figures(ledger, later)["grant"]["manual_decision_in_force"] == 1


def test_a_later_run_does_not_overturn_a_manual_refusal_on_the_same_facts(ledger: Engine) -> None:
    person = make_insz(41)
    resident(ledger, person)
    run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="true", has_statute="false"))})
    record_manual_decision(ledger, insz=person, scheme_id=UITPAS, outcome="refuse",
                           reason="U woont niet op het adres in het register.", legal_ground="Reglement art. 2",
                           decided_by="dossier.an")

    # Eligible by another route (a criterion the refusal did not rest on): no fact it rested on changed.
    later = run(ledger, UITPAS, APR, {person: ("eligible", trace(resident_ghent="true", income_low="true"))})

    assert count(ledger, GrantRow) == 0, "no grant against the manual refusal"
    assert count(ledger, OutboxMessage) == 0
    decision = _decision_of(ledger, later, person)
    assert decision.decision == "not_eligible" and decision.reasons == ["MANUAL_DECISION_IN_FORCE"]
    assert _figures(ledger, later)["manual_decisions"] == {"prevailed": 1, "back_to_case_worker": 0}
    assert list_casework(ledger, back_only=True) == []


def test_a_changed_fact_sends_a_manual_refusal_back_to_the_case_worker_without_granting(ledger: Engine) -> None:
    person, other = make_insz(42), make_insz(43)
    resident(ledger, person)
    run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="true", has_statute="false")),
                              other: ("not_eligible", trace(resident_ghent="false"))})
    md = record_manual_decision(ledger, insz=person, scheme_id=UITPAS, outcome="refuse", reason="r",
                                legal_ground="g", decided_by="dossier.an")

    later = run(ledger, UITPAS, APR, {person: ("eligible", trace(resident_ghent="true", has_statute="true")),
                                      other: ("eligible", trace(resident_ghent="true"))})

    with ledger.connect() as conn:
        grantees = set(conn.execute(select(GrantRow.insz)).scalars())
        status, back_run = conn.execute(select(ManualDecision.status, ManualDecision.back_run_id)
                                        .where(ManualDecision.id == md.id)).one()
    assert grantees == {other}, "the person with the manual refusal is not granted; others are"
    assert (status, back_run) == ("back_to_case_worker", later)
    assert _figures(ledger, later)["manual_decisions"] == {"prevailed": 1, "back_to_case_worker": 1}
    assert _decision_of(ledger, later, person).advice["automatic"]["changed_criteria"] == ["has_statute"]
    assert [i.id for i in list_casework(ledger, back_only=True)] == [md.id]

    again = run(ledger, UITPAS, dt.date(2026, 5, 1), {person: ("eligible", trace(has_statute="true"))})
    assert count(ledger, GrantRow) == 1, "still waits for the case worker"
    assert _figures(ledger, again)["manual_decisions"] == {"prevailed": 1, "back_to_case_worker": 0}

    from proactief.dashboard.render import dashboard_page

    page = dashboard_page(ledger, [UITPAS], user="operator", plots=False)
    assert 'data-figure="back_to_case_worker">1<' in page, "the operators see it on the dashboard"


# ------------------------------------------------------------------------------------------ letter


def test_the_decision_letter_is_queued_once_and_sent_once(ledger: Engine) -> None:
    person, bezwaar, md = _manual_kansentarief(ledger, 51, "email", "gentinfo.an")
    channels = {"email": Sent("email"), "letter": Sent("letter"), "ebox": Sent("ebox")}
    assert dispatch_decision_letters(ledger, channels) == {}, "nothing before the confirmation"
    confirm_manual_decision(ledger, md.id, confirmed_by="dossier.bart")
    assert dispatch_decision_letters(ledger, channels) == {}, "not before UiTPAS has the grant"
    with ledger.begin() as conn:  # what dispatch_grants records once the UiTPAS API took it
        conn.execute(update(GrantRow).values(status="delivered"))

    assert dispatch_decision_letters(ledger, channels) == {"sent": 1}
    assert dispatch_decision_letters(ledger, channels) == {}, "a second dispatch sends nothing"
    run(ledger, UITPAS, APR, {person: ("eligible", trace(resident_ghent="true"))})
    assert dispatch_decision_letters(ledger, channels) == {}

    ((notice, rendered),) = channels["email"].log
    assert rendered.subject.startswith("Beslissing over uw bezwaar")
    assert "U woont sinds februari in Gent." in rendered.text and "Reglement UiTPAS art. 3" in rendered.text
    assert "31 december 2026" in rendered.text and person not in rendered.text + rendered.html
    with ledger.connect() as conn:
        sent = conn.execute(select(Notice.message_id, Notice.status, Notice.insz)).all()
    assert [(n.message_id, n.status, n.insz) for n in sent] == [(notice.message_id, "sent", person)]


def test_a_manual_kansentarief_for_someone_without_a_pass_is_told_at_once_with_how_to_get_one(
        ledger: Engine) -> None:
    """UiTPAS has no pass for the person ("wacht op pas"): the grant waits for the card, and the letter on the
    objection goes at once, saying where to get the pass, as the automatic letter does; it used to wait for a
    delivery that only a pass brings."""
    from proactief.lifecycle.outbox import WAITING_CARD

    person, bezwaar, md = _manual_kansentarief(ledger, 55, "counter", "balie.bo")
    confirm_manual_decision(ledger, md.id, confirmed_by="dossier.bart")
    with ledger.begin() as conn:  # what dispatch_grants records when the UiTPAS API knows no pass for the person
        terms = conn.execute(select(GrantRow.terms)).scalar_one()
        conn.execute(update(OutboxMessage).where(OutboxMessage.kind == "grant").values(status=WAITING_CARD))
    assert terms["awaiting_card"]["wait_days"] > 0, "the manual grant waits for a card as the grant step's do"

    channels = {"email": Sent("email"), "letter": Sent("letter"), "ebox": Sent("ebox")}
    assert dispatch_decision_letters(ledger, channels) == {"sent": 1}
    assert dispatch_decision_letters(ledger, channels) == {}
    ((_notice, rendered),) = [x for c in channels.values() for x in c.log]
    assert "U hebt nog geen pas" in rendered.text and "Haal uw pas uiterlijk op" in rendered.text
    assert "U hebt nog geen pas" in rendered.html and "identiteitskaart" in rendered.text
    assert "U hoeft daarvoor niets te doen" not in rendered.text
    with ledger.connect() as conn:
        assert conn.execute(select(GrantRow.status)).scalar_one() == "granted", "the grant still waits for the card"


def test_the_access_document_lists_the_bezwaar_the_manual_decision_and_its_letter(ledger: Engine) -> None:
    from proactief.citizen import render_html
    from proactief.citizen.inzage import gather

    person = make_insz(52)
    resident(ledger, person)
    run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="false"))})
    bezwaar = record_bezwaar(ledger, insz=person, scheme_id=UITPAS, channel="counter", received_on=MAR,
                             recorded_by="balie.bo")
    record_manual_decision(ledger, insz=person, scheme_id=UITPAS, outcome="refuse", bezwaar_id=bezwaar.id,
                           reason="U woont niet in Gent.", legal_ground="Reglement UiTPAS art. 2",
                           decided_by="dossier.an")
    dispatch_decision_letters(ledger, {"email": Sent("email")})

    doc = gather(ledger, person)
    html = render_html(doc)

    assert [c.status for c in doc.casework] == ["beslist", "geldt"]
    assert "ontvangen op 01/03/2026 via balie" in doc.casework[0].what
    assert "Geweigerd door een dossierbehandelaar" in doc.casework[1].what
    assert "dossier.an" not in html, "staff unnamed by default"
    assert any("Beslissing over uw bezwaar" in s for letter in doc.letters for s in letter.schemes)
    assert person not in html


def test_retention_keeps_a_manual_decision_that_still_prevails_and_deletes_the_rest(ledger: Engine) -> None:
    from sqlalchemy import update as sql_update

    from proactief.lifecycle import apply_retention

    person, other = make_insz(61), make_insz(62)
    run(ledger, UITPAS, MAR, {person: ("not_eligible", trace(resident_ghent="false")),
                              other: ("not_eligible", trace(resident_ghent="false"))})
    for p in (person, other):
        b = record_bezwaar(ledger, insz=p, scheme_id=UITPAS, channel="phone", received_on=MAR, recorded_by="an")
        record_manual_decision(ledger, insz=p, scheme_id=UITPAS, outcome="refuse", reason="r", legal_ground="g",
                               decided_by="an", bezwaar_id=b.id)
    with ledger.begin() as conn:
        conn.execute(sql_update(ManualDecision).where(ManualDecision.insz == other).values(status="superseded"))
        conn.execute(sql_update(ManualDecision).values(retain_until=dt.date(2031, 3, 1)))
        conn.execute(sql_update(Bezwaar).values(retain_until=dt.date(2031, 3, 1)))

    deleted = apply_retention(ledger, dt.date(2031, 3, 2))

    assert (deleted["manual_decision"], deleted["bezwaar"]) == (1, 1)
    with ledger.connect() as conn:
        assert list(conn.execute(select(ManualDecision.insz)).scalars()) == [person], "the refusal for good stays"


def test_the_deadline_runs_from_the_date_the_decision_letter_was_sent(ledger: Engine) -> None:
    from proactief.lifecycle.outbox import dispatch_notices
    from proactief.notify.render import render

    person = make_insz(71)
    resident(ledger, person)
    run(ledger, UITPAS, MAR, {person: ("eligible", trace(resident_ghent="true"))})
    with ledger.begin() as conn:
        conn.execute(update(GrantRow).values(status="delivered"))
    dispatch_notices(ledger, {"email": Sent("email")}, render, now=lambda: dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))

    b = record_bezwaar(ledger, insz=person, scheme_id=UITPAS, channel="web", received_on=dt.date(2026, 4, 6),
                       recorded_by="web")

    assert (b.deadline, b.late) == (dt.date(2026, 4, 4), True)
