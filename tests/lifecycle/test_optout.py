"""Objections on the real ledger (PostgreSQL): one transaction stops everything pending for the person, the
history is kept, a withdrawal restarts nothing, the intake file is applied line by line without leaking INSZ."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from proactief.insz import InvalidINSZ
from proactief.ledger.audit import LedgerAuditSink
from proactief.ledger.models import MagdaConsultation, OptOut, OptOutEvent, RunSubject, StagedAdvice
from proactief.lifecycle.optout import (
    IntakeFileError,
    import_objections,
    is_opted_out,
    opt_out_history,
    opted_out_among,
    record_objection,
    unsubscribe_objectors,
    withdraw_objection,
)
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.lifecycle.ledger_rows import add_grant, add_outbox, add_run, count, make_insz, many_insz, outbox_status

pytestmark = pytest.mark.integration

A, B = make_insz(1), make_insz(2)


def test_recording_twice_keeps_one_active_row_with_its_first_start_and_two_events(ledger: Engine) -> None:
    first = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    record_objection(ledger, A, channel="web", at=first, recorded_by="webform")
    record_objection(ledger, A, channel="contact-centre", recorded_by="agent-7", note="called again")
    with ledger.connect() as conn:
        rows = conn.execute(select(OptOut)).all()
        events = conn.execute(select(OptOutEvent.action, OptOutEvent.channel, OptOutEvent.recorded_by,
                                     OptOutEvent.note).order_by(OptOutEvent.id)).all()
    assert len(rows) == 1 and rows[0].active and rows[0].since == first and rows[0].channel == "web"
    assert [tuple(e) for e in events] == [("object", "web", "webform", None),
                                          ("object", "contact-centre", "agent-7", "called again")]
    assert is_opted_out(ledger, A) and not is_opted_out(ledger, B)


def test_an_objection_cancels_pending_notices_and_deletes_staging_of_that_person_only(ledger: Engine) -> None:
    run = add_run(ledger)
    with ledger.begin() as conn:
        for person in (A, B):
            conn.execute(insert(RunSubject).values(run_id=run, insz=person, chunk=0))
            conn.execute(insert(StagedAdvice).values(run_id=run, insz=person, outcome="eligible", transient=False,
                                                     advice={}, staged_at=dt.datetime.now(dt.UTC)))
    grant_a, grant_b = add_grant(ledger, A, key="a/2026"), add_grant(ledger, B, key="b/2026")
    a_email = add_outbox(ledger, grant_a, kind="notify", channel="email")
    a_letter_sent = add_outbox(ledger, grant_a, kind="notify", channel="letter", status="sent")
    a_grant = add_outbox(ledger, grant_a, kind="grant", channel="uitpas")
    b_email = add_outbox(ledger, grant_b, kind="notify", channel="email")

    record_objection(ledger, A, channel="letter")

    status = outbox_status(ledger)
    assert status[a_email] == "cancelled"
    assert status[a_letter_sent] == "sent"  # what went out cannot be unsent
    assert status[a_grant] == "pending"  # the benefit itself is not withdrawn by an objection to processing
    assert status[b_email] == "pending"
    assert count(ledger, StagedAdvice, StagedAdvice.insz == A) == 0
    assert count(ledger, RunSubject, RunSubject.insz == A) == 0
    assert count(ledger, StagedAdvice, StagedAdvice.insz == B) == 1
    assert count(ledger, RunSubject, RunSubject.insz == B) == 1


def test_a_withdrawal_flips_the_state_keeps_the_history_and_restarts_nothing(ledger: Engine) -> None:
    grant = add_grant(ledger, A, key="a/2026")
    notice = add_outbox(ledger, grant, kind="notify", channel="email")
    record_objection(ledger, A, channel="web", at=dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC))
    withdraw_objection(ledger, A, channel="counter", at=dt.datetime(2026, 11, 20, 14, tzinfo=dt.UTC),
                       recorded_by="loket-3")
    assert not is_opted_out(ledger, A)
    assert outbox_status(ledger)[notice] == "cancelled"
    state, history = opt_out_history(ledger, A)
    assert state is not None and state["active"] is False
    assert [(h["action"], h["channel"], h["at"].day) for h in history] == [("object", "web", 1),
                                                                           ("withdraw", "counter", 20)]
    # objecting again starts a new objection from the new moment
    again = dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC)
    record_objection(ledger, A, channel="email", at=again)
    state, _ = opt_out_history(ledger, A)
    assert state == {"active": True, "since": again, "channel": "email"}


def test_opted_out_among_finds_the_few_objectors_in_thousands(ledger: Engine) -> None:
    people = many_insz(12_000)
    objectors = {people[5], people[6_001], people[11_999]}
    for p in objectors:
        record_objection(ledger, p, channel="web")
    withdraw_objection(ledger, people[6_001], channel="web")
    expected = objectors - {people[6_001]}
    assert opted_out_among(ledger, people) == expected
    assert opted_out_among(ledger, iter(people)) == expected  # any iterable, read once
    with ledger.begin() as conn:
        assert opted_out_among(conn, people[:10]) == {people[5]}
    assert opted_out_among(ledger, []) == set()


@pytest.mark.parametrize("bad", ["12345678901", "8501010012", "abc"])
def test_a_malformed_insz_is_refused_without_echoing_it(ledger: Engine, bad: str) -> None:
    with pytest.raises(InvalidINSZ) as err:
        record_objection(ledger, bad, channel="web")
    assert bad not in str(err.value)
    assert count(ledger, OptOutEvent) == 0


def test_an_empty_or_overlong_channel_is_refused(ledger: Engine) -> None:
    for channel in ("", "x" * 21):
        with pytest.raises(ValueError, match="channel"):
            record_objection(ledger, A, channel=channel)
    assert count(ledger, OptOut) == 0


def test_the_intake_file_is_applied_line_by_line_and_bad_lines_are_named_by_number(ledger: Engine,
                                                                                  tmp_path: Path) -> None:
    c, d = make_insz(3), make_insz(4)
    bad_insz = A[:-1] + str((int(A[-1]) + 1) % 10)
    path = tmp_path / "intake-2026-11-28.csv"
    path.write_text(
        "insz,action,channel,at\n"
        f"{A},object,web,2026-11-27T10:15:00+01:00\n"
        f"{B},object,contact-centre,2026-11-27\n"
        f"{bad_insz},object,web,2026-11-27\n"
        f"{c},unsubscribe,web,2026-11-27\n"
        f"{d},object,web,yesterday\n"
        f"{c},object,web\n"
        "\n"
        f"{B},withdraw,contact-centre,2026-11-28T09:00:00\n",
        encoding="utf-8")
    before = path.read_bytes()

    result = import_objections(ledger, path)

    assert {k: result[k] for k in ("recorded", "withdrawn", "rejected", "unchanged")} == {
        "recorded": 2, "withdrawn": 1, "rejected": 4, "unchanged": 0}
    assert [e.split(":")[0] for e in result["errors"]] == ["line 4", "line 5", "line 6", "line 7"]
    assert "check digits" in result["errors"][0] and "action" in result["errors"][1]
    assert "column at" in result["errors"][2] and "fields" in result["errors"][3]
    for person in (A, B, bad_insz, c, d):
        assert all(person not in e for e in result["errors"])
    assert is_opted_out(ledger, A) and not is_opted_out(ledger, B)
    assert not is_opted_out(ledger, c) and not is_opted_out(ledger, d)
    state, history = opt_out_history(ledger, A)
    assert state is not None and state["since"] == dt.datetime(2026, 11, 27, 9, 15, tzinfo=dt.UTC)
    assert history[0]["recorded_by"] == "intake-file"
    assert path.read_bytes() == before  # moving the file is the caller's job

    again = import_objections(ledger, path)  # a retried task changes nothing
    assert (again["recorded"], again["withdrawn"], again["unchanged"]) == (0, 0, 3)
    assert count(ledger, OptOutEvent) == 3


def test_an_intake_file_with_other_columns_is_refused_as_a_whole(ledger: Engine, tmp_path: Path) -> None:
    path = tmp_path / "intake.csv"
    path.write_text(f"insz,action,when\n{A},object,2026-11-27\n", encoding="utf-8")
    with pytest.raises(IntakeFileError, match="line 1") as err:
        import_objections(ledger, path)
    assert A not in str(err.value)
    assert count(ledger, OptOutEvent) == 0


# ------------------------------------------------------------------------------------------ repertorium

AFNEMER = "gent.be/proactief"
UNSUBSCRIBE = "Repertorium.RegistreerUitschrijving-02.01"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=5) as running:
        yield running


def unsubscribe(ledger: Engine, sim: RunningSimulator) -> dict[str, int]:
    config = MagdaConfig(base_url=sim.base_url, identificatie=AFNEMER, backoff_base=0.0, backoff_cap=0.0)
    with MagdaClient(config, LedgerAuditSink(ledger)) as client:
        return unsubscribe_objectors(ledger, client)


def unsubscriptions(ledger: Engine, insz: str) -> list[str]:
    with ledger.connect() as conn:
        return list(conn.execute(select(MagdaConsultation.outcome).where(
            MagdaConsultation.subject_insz == insz, MagdaConsultation.service == UNSUBSCRIBE)
            .order_by(MagdaConsultation.id)).scalars())


def inscribed(sim: RunningSimulator) -> int:
    return int(sim.admin("GET", "state")["repertorium"]["afnemers"].get(AFNEMER, 0))


def test_an_objection_unsubscribes_the_person_from_the_repertorium_once(ledger: Engine,
                                                                       sim: RunningSimulator) -> None:
    c, d = make_insz(31), make_insz(32)
    sim.admin("POST", "reset")
    sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": [c, d]})
    record_objection(ledger, c, channel="web")

    first = unsubscribe(ledger, sim)
    assert first == {"pending": 1, "unsubscribed": 1, "not_inscribed": 0, "failed": 0}
    assert inscribed(sim) == 1  # only the other person is still followed
    # A retried intake, or the same objection recorded again, unsubscribes nothing twice.
    record_objection(ledger, c, channel="contact-centre")
    assert unsubscribe(ledger, sim)["pending"] == 0
    assert unsubscriptions(ledger, c) == ["ok"]
    assert unsubscriptions(ledger, d) == []
    # Withdrawn and taken up again: a new objection, unsubscribed again (MAGDA had no inscription left: done).
    withdraw_objection(ledger, c, channel="web")
    record_objection(ledger, c, channel="web")
    assert unsubscribe(ledger, sim) == {"pending": 1, "unsubscribed": 0, "not_inscribed": 1, "failed": 0}
    assert len(unsubscriptions(ledger, c)) == 2


def test_an_unsubscription_magda_could_not_take_is_tried_again_at_the_next_intake(ledger: Engine,
                                                                                  sim: RunningSimulator) -> None:
    e = make_insz(33)
    sim.admin("POST", "reset")
    sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": [e]})
    record_objection(ledger, e, channel="web")
    sim.admin("POST", "faults", {"insz": {e: "99996"}})
    try:
        assert unsubscribe(ledger, sim)["failed"] == 1
    finally:
        sim.admin("POST", "faults", {"insz": {}})
    with ledger.connect() as conn:
        assert conn.execute(select(OptOut.unsubscribed_at).where(OptOut.insz == e)).scalar_one() is None
    assert unsubscribe(ledger, sim)["unsubscribed"] == 1
    assert inscribed(sim) == 0
    assert unsubscriptions(ledger, e)[-1] == "ok"
