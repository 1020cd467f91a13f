"""Objections (GDPR Art. 21): record, withdraw, look up, and import the contact centre's intake file.

An objection takes effect at once and everywhere in one transaction: the current state (``opt_out``) is set,
the history (``opt_out_event``) grows by one row, pending notifications to the person are cancelled and what
runs had staged about them (MAGDA outcomes, run membership) is deleted. Every later step checks the state again
(see :mod:`proactief.lifecycle.runs`), so nothing is asked, granted or sent while the objection is active.

A new objection also unsubscribes the person from MAGDA's repertorium (``RegistreerUitschrijving``), once:
:func:`unsubscribe_objectors` (run by every opt-out intake, and by ``proactief optout add`` when MAGDA is configured)
sends it for each active objection not unsubscribed yet and notes when (``opt_out.unsubscribed_at``); a failed call
stays pending for the next intake. Runs never ask about an objector, subject or household member, so nothing
inscribes them again while the objection holds.

A withdrawal only flips the state back and records it: nothing is restarted; the next scheme run simply
includes the person again (and re-inscribes them when MAGDA asks for it). Nothing here logs or raises an INSZ.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from proactief.insz import InvalidINSZ, validate_insz
from proactief.ledger.models import (
    GrantRow,
    OptOut,
    OptOutEvent,
    OutboxMessage,
    Resident,
    RunSubject,
    StagedAdvice,
)

if TYPE_CHECKING:
    from proactief.magda.client import MagdaClient

__all__ = [
    "INTAKE_COLUMNS",
    "IntakeFileError",
    "MAX_LISTED_ERRORS",
    "import_objections",
    "is_opted_out",
    "opted_out_among",
    "opt_out_history",
    "record_objection",
    "unsubscribe_objectors",
    "withdraw_objection",
]

log = logging.getLogger("proactief.lifecycle.optout")

INTAKE_COLUMNS = ("insz", "action", "channel", "at")
"""Columns of the intake CSV the contact centre and the web form export (any order, no others)."""
LOCAL_TZ = ZoneInfo("Europe/Brussels")
"""An intake time without an offset is Ghent local time (that is what the contact centre's export writes)."""
MAX_LISTED_ERRORS = 100
"""Rejected lines listed in the result (all are counted and logged): keeps the result small enough for XCom."""
_IN_CHUNK = 5000
UNSUBSCRIBE_PURPOSE = "opt-out"
"""The purpose the repertorium unsubscription is asked (and audited) under: the afnemer's default Hoedanigheid."""
_CANCELLED_NOTE = "cancelled: the person objected (GDPR Art. 21)"


class IntakeFileError(ValueError):
    """The intake file as a whole cannot be read (missing/unknown columns, not UTF-8 text); names the file."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return _now()
    return at if at.tzinfo is not None else at.replace(tzinfo=LOCAL_TZ)


def _channel(channel: str) -> str:
    value = (channel or "").strip()
    if not value or len(value) > 20 or not value.isprintable():
        raise ValueError("channel: must be 1 to 20 printable characters (e.g. web, contact-centre, letter)")
    return value


def _insz(insz: str) -> str:
    return validate_insz(insz)  # InvalidINSZ (a ValueError) whose message never holds the value


def _upsert_active(conn: Connection, insz: str, at: dt.datetime, channel: str) -> None:
    """Set the objection active; an objection that is already active keeps when and how it started."""
    values = {"insz": insz, "active": True, "since": at, "channel": channel}
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        stmt = (postgresql if dialect == "postgresql" else sqlite).insert(OptOut).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=[OptOut.insz], set_={
            "active": True,
            "since": case((OptOut.active.is_(True), OptOut.since), else_=stmt.excluded.since),
            "channel": case((OptOut.active.is_(True), OptOut.channel), else_=stmt.excluded.channel),
            # Taken up again after a withdrawal: a new objection, to be unsubscribed again.
            "unsubscribed_at": case((OptOut.active.is_(True), OptOut.unsubscribed_at), else_=None),
        }))
        return
    current = conn.execute(select(OptOut.active).where(OptOut.insz == insz).with_for_update()).scalar_one_or_none()
    if current is None:
        conn.execute(insert(OptOut).values(**values))
    elif not current:
        conn.execute(update(OptOut).where(OptOut.insz == insz).values(active=True, since=at, channel=channel,
                                                                      unsubscribed_at=None))


def _event(conn: Connection, insz: str, action: Literal["object", "withdraw"], at: dt.datetime, channel: str,
           recorded_by: str | None, note: str | None) -> None:
    conn.execute(insert(OptOutEvent).values(insz=insz, action=action, at=at, channel=channel,
                                            recorded_by=recorded_by[:80] if recorded_by else None, note=note))


def _object(conn: Connection, insz: str, at: dt.datetime, channel: str, recorded_by: str | None,
            note: str | None) -> dict[str, int]:
    _upsert_active(conn, insz, at, channel)
    _event(conn, insz, "object", at, channel, recorded_by, note)
    cancelled = conn.execute(
        update(OutboxMessage)
        .where(OutboxMessage.kind == "notify", OutboxMessage.status == "pending",
               OutboxMessage.grant_id.in_(select(GrantRow.id).where(GrantRow.insz == insz)))
        .values(status="cancelled", last_error=_CANCELLED_NOTE)
    ).rowcount or 0
    staged = conn.execute(delete(StagedAdvice).where(StagedAdvice.insz == insz)).rowcount or 0
    subjects = conn.execute(delete(RunSubject).where(RunSubject.insz == insz)).rowcount or 0
    return {"cancelled_notifications": int(cancelled), "staged_deleted": int(staged),
            "run_subjects_deleted": int(subjects)}


def _withdraw(conn: Connection, insz: str, at: dt.datetime, channel: str, recorded_by: str | None,
              note: str | None) -> None:
    conn.execute(update(OptOut).where(OptOut.insz == insz).values(active=False))
    _event(conn, insz, "withdraw", at, channel, recorded_by, note)


def record_objection(engine: Engine, insz: str, *, channel: str, at: dt.datetime | None = None,
                     recorded_by: str | None = None, note: str | None = None) -> None:
    """Record that the person objects, in one transaction with everything that must stop because of it.

    Recording an objection that is already active keeps one active row (its original start) and adds an event.
    ``at`` defaults to now; a naive ``at`` is Ghent local time.
    """
    insz, channel, when = _insz(insz), _channel(channel), _aware(at)
    with engine.begin() as conn:
        effects = _object(conn, insz, when, channel, recorded_by, note)
    log.info("objection recorded via %s: %d pending notification(s) cancelled, %d staged outcome(s) and %d run "
             "subject row(s) deleted", channel, effects["cancelled_notifications"], effects["staged_deleted"],
             effects["run_subjects_deleted"])


def withdraw_objection(engine: Engine, insz: str, *, channel: str, at: dt.datetime | None = None,
                       recorded_by: str | None = None, note: str | None = None) -> None:
    """Record that the person withdrew their objection: the state becomes inactive, the history grows.

    Nothing is restarted (cancelled notices stay cancelled); the next run includes the person again.
    Withdrawing without an objection on file only adds the event (the contact centre's record is kept).
    """
    insz, channel, when = _insz(insz), _channel(channel), _aware(at)
    with engine.begin() as conn:
        _withdraw(conn, insz, when, channel, recorded_by, note)
    log.info("objection withdrawn via %s", channel)


def is_opted_out(engine: Engine | Connection, insz: str) -> bool:
    """True while the person has an active objection."""
    insz = _insz(insz)
    stmt = select(OptOut.active).where(OptOut.insz == insz, OptOut.active.is_(True))
    if isinstance(engine, Connection):
        return engine.execute(stmt).first() is not None
    with engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def _parts(items: Iterable[str], size: int) -> Iterator[list[str]]:
    part: list[str] = []
    for item in items:
        part.append(item)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part


def opted_out_among(engine_or_connection: Engine | Connection, insz_iterable: Iterable[str]) -> set[str]:
    """Who among these persons has an active objection: one indexed ``IN`` query per 5,000 persons.

    Given a connection it reads inside the caller's transaction (so a grant and its opt-out check commit
    together); given an engine it opens a short read of its own.
    """
    people = list(dict.fromkeys(insz_iterable))
    if not people:
        return set()

    def read(conn: Connection) -> set[str]:
        found: set[str] = set()
        for part in _parts(people, _IN_CHUNK):
            found.update(conn.execute(select(OptOut.insz).where(OptOut.active.is_(True),
                                                                OptOut.insz.in_(part))).scalars())
        return found

    if isinstance(engine_or_connection, Connection):
        return read(engine_or_connection)
    with engine_or_connection.connect() as conn:
        return read(conn)


def unsubscribe_objectors(engine: Engine, client: MagdaClient) -> dict[str, int]:
    """Tell MAGDA's repertorium to stop following every person with an active objection that was not
    unsubscribed yet (``Repertorium.RegistreerUitschrijving``, one question per person, audited like every call).

    Done (``unsubscribed_at`` set, and the resident no longer counted as registered) when MAGDA confirms, or answers
    that it had no inscription (40003: nothing to stop). A transient answer or a data error leaves the objection
    pending: the next call (the next intake) tries again. Configuration errors and SOAP faults raise. Returns
    ``{"pending", "unsubscribed", "not_inscribed", "failed"}``.
    """
    from proactief.magda.audit import OutcomeClass

    with engine.connect() as conn:
        pending = list(conn.execute(select(OptOut.insz).where(OptOut.active.is_(True), OptOut.unsubscribed_at.is_(None))
                                    .order_by(OptOut.since, OptOut.insz)).scalars())
    counts = {"pending": len(pending), "unsubscribed": 0, "not_inscribed": 0, "failed": 0}
    if not pending:
        return counts
    done = {OutcomeClass.OK: "unsubscribed", OutcomeClass.DEFINITIVE: "unsubscribed",
            OutcomeClass.NEEDS_INSCRIPTION: "not_inscribed"}
    for insz, answer in client.for_each(pending, lambda i: client.registreer_uitschrijving(
            i, purpose=UNSUBSCRIBE_PURPOSE)):
        outcome = done.get(answer.outcome)
        if outcome is None:
            counts["failed"] += 1
            continue
        with engine.begin() as conn:
            conn.execute(update(OptOut).where(OptOut.insz == insz, OptOut.active.is_(True),
                                              OptOut.unsubscribed_at.is_(None)).values(unsubscribed_at=_now()))
            conn.execute(update(Resident).where(Resident.insz == insz).values(repertorium_registered=False))
        counts[outcome] += 1
    log.log(logging.WARNING if counts["failed"] else logging.INFO,
            "repertorium unsubscription of %(pending)d objector(s): %(unsubscribed)d unsubscribed, %(not_inscribed)d "
            "had no inscription, %(failed)d failed (tried again at the next intake)", counts)
    return counts


def opt_out_history(engine: Engine, insz: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The person's current state (``None`` if never recorded) and their history, oldest first (CLI, access
    requests). The returned values hold no INSZ."""
    insz = _insz(insz)
    with engine.connect() as conn:
        row = conn.execute(select(OptOut.active, OptOut.since, OptOut.channel).where(OptOut.insz == insz)).first()
        events = conn.execute(select(OptOutEvent.action, OptOutEvent.at, OptOutEvent.channel,
                                     OptOutEvent.recorded_by, OptOutEvent.note)
                              .where(OptOutEvent.insz == insz).order_by(OptOutEvent.at, OptOutEvent.id)).all()
    state = None if row is None else {"active": bool(row.active), "since": row.since, "channel": row.channel}
    return state, [{"action": e.action, "at": e.at, "channel": e.channel, "recorded_by": e.recorded_by,
                    "note": e.note} for e in events]


# ------------------------------------------------------------------------------------------ intake file


def _parse_at(value: str) -> dt.datetime:
    if not value:
        raise ValueError("column at: empty (when the person objected or withdrew)")
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
        return _aware(dt.datetime.fromisoformat(value))
    except ValueError:
        raise ValueError("column at: not an ISO date or date-time (YYYY-MM-DD[THH:MM[:SS][+01:00]])") from None


def _already_recorded(conn: Connection, insz: str, action: str, at: dt.datetime, channel: str) -> bool:
    return conn.execute(select(OptOutEvent.id).where(
        OptOutEvent.insz == insz, OptOutEvent.action == action, OptOutEvent.at == at,
        OptOutEvent.channel == channel).limit(1)).first() is not None


def import_objections(engine: Engine, path: Path | str, *, recorded_by: str | None = "intake-file"
                      ) -> dict[str, Any]:
    """Apply an intake CSV (``insz,action,channel,at``; action ``object`` or ``withdraw``) in file order.

    Each valid line is applied in its own transaction, exactly like :func:`record_objection` /
    :func:`withdraw_objection`; a line already applied (same person, action, time and channel) is skipped, so a
    re-run of the same file changes nothing (``unchanged``). Invalid lines are rejected and listed in ``errors``
    (the first ``MAX_LISTED_ERRORS``) with their line number and reason, never their content. A file that
    cannot be read at all (wrong columns, not UTF-8) raises :class:`IntakeFileError`. The file itself is neither
    moved nor changed (that is the caller's job).
    """
    path = Path(path)
    counts = {"recorded": 0, "withdrawn": 0, "rejected": 0, "unchanged": 0}
    errors: list[str] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in INTAKE_COLUMNS if c not in header]
            unknown = [h for h in header if h not in INTAKE_COLUMNS]
            if missing or unknown or len(set(header)) != len(header):
                raise IntakeFileError(f"{path}, line 1: expected the columns {','.join(INTAKE_COLUMNS)} "
                                      f"(missing: {', '.join(missing) or '-'}; unknown: {', '.join(unknown) or '-'})")
            for fields in reader:
                line = reader.line_num
                if not fields or not any(f.strip() for f in fields):
                    continue
                try:
                    if len(fields) != len(header):
                        raise ValueError(f"expected {len(header)} fields, found {len(fields)}")
                    row = {h: v.strip() for h, v in zip(header, fields, strict=True)}
                    try:
                        insz = validate_insz(row["insz"])
                    except InvalidINSZ as exc:
                        raise ValueError(f"column insz: {exc}") from None
                    action = row["action"].lower()
                    if action not in ("object", "withdraw"):
                        raise ValueError("column action: must be object or withdraw")
                    try:
                        channel = _channel(row["channel"])
                    except ValueError as exc:
                        raise ValueError(f"column {exc}") from None
                    at = _parse_at(row["at"])
                except ValueError as exc:
                    counts["rejected"] += 1
                    if len(errors) < MAX_LISTED_ERRORS:
                        errors.append(f"line {line}: {exc}")
                    log.warning("%s, line %d rejected: %s", path.name, line, exc)
                    continue
                with engine.begin() as conn:
                    if _already_recorded(conn, insz, action, at, channel):
                        counts["unchanged"] += 1
                        continue
                    if action == "object":
                        _object(conn, insz, at, channel, recorded_by, None)
                        counts["recorded"] += 1
                    else:
                        _withdraw(conn, insz, at, channel, recorded_by, None)
                        counts["withdrawn"] += 1
    except UnicodeDecodeError:
        raise IntakeFileError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise IntakeFileError(f"{path}: not valid CSV ({exc})") from None
    log.info("intake %s: %d objection(s) recorded, %d withdrawn, %d unchanged, %d line(s) rejected", path.name,
             counts["recorded"], counts["withdrawn"], counts["unchanged"], counts["rejected"])
    return {**counts, "errors": errors}
