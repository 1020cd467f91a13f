"""The call centre's lookup: one person's latest decision explained in plain Dutch, and every lookup audited as a
consultation with the staff account that looked (also in ``proactief db audit``)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from proactief.cli import app as cli
from proactief.dashboard import explain, lookup_and_audit
from proactief.dashboard.lookup import reason_text
from proactief.insz import InvalidINSZ
from proactief.ledger.audit import LOOKUP_SERVICE
from proactief.ledger.models import GrantRow, MagdaConsultation, OutboxMessage
from tests.dashboard.ledger_data import IVAGO, UITPAS, Ledger, person

pytestmark = pytest.mark.integration


def _audit_rows(engine: Engine) -> list[MagdaConsultation]:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        rows = list(session.scalars(select(MagdaConsultation).order_by(MagdaConsultation.id)))
        session.expunge_all()
        return rows


def test_an_eligible_person_granted_and_notified(engine: Engine, data: Ledger) -> None:
    e = explain(engine, person(1), UITPAS)
    assert (e.outcome, e.decision, e.period) == ("found", "eligible", "2026-10")
    assert e.headline.startswith("Deze persoon heeft recht op UiTPAS Gent met kansentarief")
    assert e.reasons == ("Woont in Gent op de peildatum.", "Heeft een verhoogde tegemoetkoming van het ziekenfonds.")
    assert e.benefit == ("korting: 80 %",)
    assert e.grant_status is not None and "Het wordt nog doorgegeven aan UiTPAS" in e.grant_status
    assert e.notice_status == "Bericht verstuurd per e-mail op 01/10/2026."
    assert [(c.label, c.answer) for c in e.checks] == [
        ("hoofdverblijfplaats in Gent op de peildatum", "ja"),
        ("sociaal statuut: een verhoogde tegemoetkoming van het ziekenfonds", "ja")]


def test_pending_notice_cancelled_grant_and_household_reason(engine: Engine, data: Ledger) -> None:
    two = explain(engine, person(2), UITPAS)
    assert "Iemand in het gezin heeft een verhoogde tegemoetkoming van het ziekenfonds." in two.reasons
    assert two.notice_status == "Bericht per e-mail staat klaar en wordt binnenkort verstuurd."
    three = explain(engine, person(3), UITPAS)
    assert three.grant_status == "Niet doorgegeven: de persoon maakte bezwaar voor het doorgegeven werd."


def test_not_eligible_undetermined_and_opted_out(engine: Engine, data: Ledger) -> None:
    five = explain(engine, person(5), UITPAS)
    assert five.decision == "not_eligible" and "Heeft geen verhoogde tegemoetkoming" in five.reasons[1]
    assert five.grant_status is None
    six = explain(engine, person(6), UITPAS)
    assert six.decision == "undetermined" and "tijdelijk niet" in six.reasons[0]
    four = explain(engine, person(4), UITPAS)
    assert four.outcome == "opted_out" and four.opted_out_since is not None
    assert four.headline.startswith("Deze persoon maakte bezwaar (opt-out) op 15/11/2026.")
    assert four.decision == "not_eligible"  # the decision stays on file: it is the city's proof


def test_the_latest_real_decision_wins_over_a_dry_run(engine: Engine, data: Ledger) -> None:
    e = explain(engine, person(11), UITPAS)
    assert e.period == "2026-11" and not e.dry_run
    assert e.grant_status == "Toegekend en doorgegeven aan UiTPAS."  # found through the grant key (run c)
    dry = explain(engine, person(21), UITPAS)
    assert dry.dry_run and dry.headline.endswith("Dit was een proefrun: er is niets toegekend.")


def test_nobody_known_and_scheme_kept_apart(engine: Engine, data: Ledger) -> None:
    assert explain(engine, person(99), UITPAS).outcome == "no_decision"
    assert explain(engine, person(5), IVAGO).outcome == "no_decision"
    with pytest.raises(InvalidINSZ):
        explain(engine, "12345678901", UITPAS)


def test_a_lookup_is_audited_with_who_looked_and_no_insz_in_the_log(
        engine: Engine, data: Ledger, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    e = lookup_and_audit(engine, person(1), UITPAS, consulted_by="an.callcenter")
    assert e.outcome == "found"
    [row] = _audit_rows(engine)
    assert (row.service, row.subject_insz, row.purpose, row.outcome, row.consulted_by) == (
        LOOKUP_SERVICE, person(1), "callcenter", "found", "an.callcenter")
    assert row.hoedanigheid == "ipdc2045" and row.gebruiker is None
    assert row.retain_until.year == row.requested_at.year + 10
    assert person(1) not in caplog.text
    lookup_and_audit(engine, person(99), UITPAS, consulted_by="an.callcenter")
    assert [r.outcome for r in _audit_rows(engine)] == ["found", "no_decision"]


def test_an_invalid_insz_is_neither_looked_up_nor_audited(engine: Engine, data: Ledger) -> None:
    with pytest.raises(InvalidINSZ):
        lookup_and_audit(engine, "85073003329", UITPAS, consulted_by="an.callcenter")
    assert _audit_rows(engine) == []


def test_db_audit_shows_who_looked(engine: Engine, data: Ledger, pg_url: str) -> None:
    lookup_and_audit(engine, person(1), UITPAS, consulted_by="an.callcenter")
    out = CliRunner().invoke(cli, ["db", "audit", "--insz", person(1), "--db-url", pg_url, "--json"])
    assert out.exit_code == 0, out.output
    [record] = [json.loads(line) for line in out.output.splitlines()]
    assert (record["service"], record["consulted_by"], record["purpose"]) == (LOOKUP_SERVICE, "an.callcenter",
                                                                            "callcenter")
    table = CliRunner().invoke(cli, ["db", "audit", "--insz", person(1), "--db-url", pg_url])
    assert "an.callcenter" in table.output and "1 consultation(s)" in table.output


def test_reason_codes_in_plain_dutch() -> None:
    assert reason_text("NO_STATUTE_LIVING_WAGES_PCSA_HELP_IN_HOUSEHOLD") == (
        "Niemand in het gezin heeft een leefloon of gelijkaardige hulp van het OCMW.")
    assert reason_text("CITY_BUDGETBEHEER_IN_HOUSEHOLD") == (
        "In het gezin: krijgt budgetbegeleiding of budgetbeheer bij het OCMW Gent.")
    assert reason_text("TIER_LEEFLOON", {"TIER_LEEFLOON": "Leefloon in het gezin"}) == (
        "Valt in de groep: Leefloon in het gezin.")
    assert "SOMETHING_NEW" in reason_text("SOMETHING_NEW")
    assert reason_text("HOUSEHOLD_MEMBER_OBJECTED") == (
        "Een gezinslid heeft bezwaar gemaakt tegen het opvragen van gegevens: vraag het voordeel aan aan de balie.")


def test_trace_labels_name_the_statute_in_words() -> None:
    from proactief.dashboard.lookup import _label

    assert _label("sociaal statuut BIM_BVT_IN_FAMILY (een lid van het gezin)") == (
        "sociaal statuut: een verhoogde tegemoetkoming via een gezinslid (een lid van het gezin)")


def test_undetermined_by_a_household_objection_says_to_apply_at_the_counter_not_to_wait(
        engine: Engine, data: Ledger) -> None:
    from tests.dashboard.ledger_data import insert_decision

    trace = [{"criterion": "ghent_resident", "label": "hoofdverblijfplaats in Gent op de peildatum",
              "source": "Rijksregister – GeefPersoon", "outcome": "true", "reason": "RESIDENT_GHENT",
              "kind": "criterion"},
             {"criterion": "statute.BIM_BVT@household", "label": "sociaal statuut BIM_BVT in het gezin",
              "source": "KSZ – GeefSociaalStatuut", "outcome": "unknown", "reason": "HOUSEHOLD_MEMBER_OBJECTED",
              "kind": "criterion"}]
    insert_decision(engine, data.runs["a"], 7, "undetermined", reasons=["HOUSEHOLD_MEMBER_OBJECTED"], trace=trace)
    seven = explain(engine, person(7), UITPAS)
    assert seven.decision == "undetermined"
    assert "bezwaar" in seven.headline and "aan de balie" in seven.headline
    assert "volgende run" not in seven.headline  # a retry does not help while the objection stands
    assert [c.answer for c in seven.checks] == ["ja", "onbekend (bezwaar van een gezinslid)"]
    six = explain(engine, person(6), UITPAS)  # a MAGDA gap still says it is temporary
    assert "volgende run" in six.headline


def test_a_grant_waiting_for_a_pass_and_an_expired_one_are_said_so(engine: Engine, data: Ledger) -> None:
    at = dt.datetime(2026, 10, 1, 4, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for n, status in ((1, "waiting_card"), (2, "expired")):
            conn.execute(insert(OutboxMessage).values(
                grant_id=data.grants[n], kind="grant", channel="uitpas", status=status, attempts=0,
                message_id=f"grant.uitpas.{n}@test", created_at=at))
        conn.execute(update(GrantRow).where(GrantRow.id == data.grants[2]).values(status="expired"))

    one, two = explain(engine, person(1), UITPAS), explain(engine, person(2), UITPAS)

    assert one.grant_status is not None and "heeft nog geen pas" in one.grant_status
    assert "wacht op de pas tot 30/03/2027" in one.grant_status  # granted 1 October + 180 days
    assert two.grant_status is not None and two.grant_status.startswith("Toegekend, maar vervallen")
