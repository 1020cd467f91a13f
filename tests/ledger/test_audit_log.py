"""Every consultation lands in the audit log, is retrievable per citizen, and expires after 10 years."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from proactief.ledger import make_engine, upgrade
from proactief.ledger.audit import LedgerAuditSink, consultations_about, purge_expired_consultations
from proactief.magda.audit import Consultation, OutcomeClass

SUBJECT = "84640438954"
OTHER = "86710585636"


def _consultation(subject: str | None, when: datetime, outcome: OutcomeClass = OutcomeClass.OK) -> Consultation:
    return Consultation(
        message_ref=str(uuid.uuid4()),
        question_ref=str(uuid.uuid4()),
        service="SocZek.GeefSociaalStatuut-03.00",
        afnemer="gent.be/proactief",
        hoedanigheid="ipdc2858",
        subject=subject,
        requested_at=when,
        outcome=outcome,
        purpose="uitpas-kansentarief",
        duration_ms=12,
    )


@pytest.fixture
def engine(pg_url: str):  # type: ignore[no-untyped-def]
    upgrade(pg_url)
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


def test_recorded_consultations_are_found_per_subject(engine) -> None:  # type: ignore[no-untyped-def]
    sink = LedgerAuditSink(engine)
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    sink.record([_consultation(SUBJECT, now), _consultation(OTHER, now), _consultation(SUBJECT, now)])
    rows = consultations_about(engine, SUBJECT)
    assert len(rows) == 2
    assert {r.subject_insz for r in rows} == {SUBJECT}
    assert rows[0].hoedanigheid == "ipdc2858"
    assert rows[0].outcome == "ok"
    assert rows[0].retain_until == date(2036, 11, 28)


def test_the_same_question_is_not_logged_twice(engine) -> None:  # type: ignore[no-untyped-def]
    """The failed write fails its caller, and the sink keeps working for the next one."""
    sink = LedgerAuditSink(engine)
    c = _consultation(SUBJECT, datetime(2026, 11, 28, tzinfo=UTC))
    sink.record([c])
    with pytest.raises(IntegrityError):
        sink.record([c])
    sink.record([_consultation(OTHER, datetime(2026, 11, 28, tzinfo=UTC))])
    assert len(consultations_about(engine, OTHER)) == 1


def test_a_list_question_logs_one_row_per_person(engine) -> None:  # type: ignore[no-untyped-def]
    sink = LedgerAuditSink(engine)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    base = _consultation(None, when)
    rows = [
        Consultation(**{**{f: getattr(base, f) for f in base.__slots__}, "subject": s})  # type: ignore[attr-defined]
        for s in (SUBJECT, OTHER)
    ]
    sink.record(rows)
    assert len(consultations_about(engine, SUBJECT)) == 1
    assert len(consultations_about(engine, OTHER)) == 1


def test_purge_removes_only_what_is_past_ten_years(engine) -> None:  # type: ignore[no-untyped-def]
    sink = LedgerAuditSink(engine)
    sink.record(
        [
            _consultation(SUBJECT, datetime(2015, 6, 1, tzinfo=UTC)),
            _consultation(SUBJECT, datetime(2020, 2, 29, tzinfo=UTC)),
        ]
    )
    assert purge_expired_consultations(engine, date(2026, 11, 28)) == 1
    remaining = consultations_about(engine, SUBJECT)
    assert [r.retain_until for r in remaining] == [date(2030, 2, 28)]


def test_concurrent_callers_share_commits_and_each_returns_only_once_its_rows_are_committed(engine) -> None:  # type: ignore[no-untyped-def]
    """Group commit: 16 threads × 25 single calls land as 400 rows in fewer transactions than calls, and
    when ``record`` returns, a fresh connection already sees that caller's row."""
    import threading

    from sqlalchemy import event, func, select

    from proactief.ledger.models import MagdaConsultation

    commits: list[int] = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    sink = LedgerAuditSink(engine)
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    unseen: list[str] = []

    def caller() -> None:
        for _ in range(25):
            c = _consultation(SUBJECT, now)
            sink.record([c])
            with engine.connect() as conn:
                if conn.execute(select(func.count()).where(MagdaConsultation.question_ref == c.question_ref)
                                ).scalar_one() != 1:
                    unseen.append(c.question_ref)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not unseen
    assert len(consultations_about(engine, SUBJECT)) == 400
    assert len(commits) < 400



def _column_values(c: Consultation) -> tuple[object, ...]:
    return (c.message_ref, c.question_ref, c.service, c.afnemer, c.hoedanigheid, c.gebruiker, c.subject,
            c.requested_at, c.outcome.value, c.code, c.purpose, c.duration_ms)


@pytest.mark.parametrize("driver", ["postgresql+psycopg2", "postgresql+psycopg", "sqlite"])
def test_a_burst_of_list_and_single_questions_is_one_row_per_question_and_subject_with_every_value_kept(
        pg_url: str, tmp_path, caplog: pytest.LogCaptureFixture, driver: str) -> None:  # type: ignore[no-untyped-def]
    """The bulk write (``COPY`` on PostgreSQL under either driver, an INSERT on SQLite) of concurrent callers: a
    list question about 300 persons and 40 single questions arrive as exactly one row per question and subject,
    each column as the client gave it — text with a tab, a newline, a backslash and non-ASCII included, NULLs
    NULL, the time to the microsecond — and the SQL logging at DEBUG shows no INSZ."""
    import logging
    import threading

    from sqlalchemy import select

    from proactief.ledger.models import MagdaConsultation

    url = f"sqlite:///{tmp_path}/ledger.sqlite" if driver == "sqlite" else driver + pg_url.split("://", 1)[1]
    url = url if driver == "sqlite" else url.replace(driver, driver + "://", 1)
    upgrade(url)
    engine = make_engine(url)
    when = datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=UTC)
    people = [f"{n:09d}" for n in range(300)]
    people = [p + f"{97 - int(p) % 97:02d}" for p in people]
    message, question = str(uuid.uuid4()), str(uuid.uuid4())
    listed = [Consultation(message, question, "SocZek.GeefSociaalStatuutVoorLijst-02.00", "gent.be/proactief",
                           "ipdc2858", p, when, OutcomeClass.OK if n % 7 else OutcomeClass.DEFINITIVE,
                           None, None if n % 7 else "30001", "uitpas\tkansen\\tarief\né", 41) for n, p in
              enumerate(people)]
    singles = [_consultation(p, when, OutcomeClass.TRANSIENT) for p in people[:40]]
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    sink = LedgerAuditSink(engine)
    try:
        threads = [threading.Thread(target=sink.record, args=([c],)) for c in singles]
        threads.append(threading.Thread(target=sink.record, args=(listed,)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    with engine.connect() as conn:
        rows = conn.execute(select(MagdaConsultation.__table__)).all()
    engine.dispose()
    got = sorted((r.message_ref, r.question_ref, r.service, r.afnemer, r.hoedanigheid, r.gebruiker, r.subject_insz,
                  r.requested_at.replace(tzinfo=UTC), r.outcome, r.code, r.purpose, r.duration_ms) for r in rows)
    assert got == sorted(_column_values(c) for c in [*listed, *singles])
    assert {r.retain_until for r in rows} == {date(2036, 11, 28)}
    assert {r.consulted_by for r in rows} == {None}
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert not [p for p in people if p in logged]


class _CloseFails:
    """A real ledger connection whose ``close`` raises, as closing one a failed write broke can."""

    def __init__(self, conn) -> None:  # type: ignore[no-untyped-def]
        self._conn = conn

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._conn, name)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()
        raise RuntimeError("connection already closed")


class _Engine:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self._engine = engine

    def connect(self):  # type: ignore[no-untyped-def]
        return _CloseFails(self._engine.connect())


def test_a_failed_close_after_a_failed_write_leaves_no_caller_waiting(engine) -> None:  # type: ignore[no-untyped-def]
    """The write's own error reaches its caller, and the next caller writes instead of waiting for ever on a
    writer's turn that nobody holds any more."""
    import threading

    sink = LedgerAuditSink(_Engine(engine))  # type: ignore[arg-type]
    c = _consultation(SUBJECT, datetime(2026, 11, 28, tzinfo=UTC))
    LedgerAuditSink(engine).record([c])
    with pytest.raises(IntegrityError):
        sink.record([c])  # the duplicate fails the write; closing its connection fails too
    outcome: list[object] = []
    later = threading.Thread(target=lambda: outcome.append(sink.record([_consultation(OTHER, datetime.now(UTC))])),
                             daemon=True)
    later.start()
    later.join(10)
    assert not later.is_alive(), "the next caller waits for a writer that is gone"
    assert outcome == [None]
    assert len(consultations_about(engine, OTHER)) == 1
