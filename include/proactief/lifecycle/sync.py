"""Population sync: the city's register extract and its OCMW and enrolment files into the ledger, and the MAGDA
repertorium kept in step with who lives in Ghent.

Import (:func:`import_city_data`) is all or nothing: every file is read and checked completely (the strict
population readers stop at the first bad line, naming file and line) before one transaction replaces the
tables, so a broken delivery leaves yesterday's data in place. On PostgreSQL the rows go in with ``COPY``
(270,000 residents in a few seconds); elsewhere with batched inserts.

Who left the extract is not deleted by the import: the row gets ``left_at`` and stops being city data. The
repertorium sync (:func:`sync_repertorium`) then deregisters those persons at MAGDA (so MAGDA stops sending us
their mutations) and only then deletes them; a person who left and never was registered is simply deleted.
The same sync registers everyone not yet registered. Persons with an active objection are not registered (and
are deregistered if they were): registering is itself processing their data; after a withdrawal the next sync
registers them again.

Each resident's district (``resident.district``) comes from the extract's optional ``wijk`` column; an extract
without it leaves every district empty (unknown), it does not keep an earlier import's. The name
(``resident.first_name``, ``resident.last_name``, optional columns ``first_name``, ``last_name``) the same way: it is
read only when a message is sent, to address it by name.

A missing ``ocmw.csv`` or ``enrolments.csv`` means that data set was not delivered this time: its previous
content stays and the import reports ``None`` for it (an empty table = never delivered; see
:mod:`proactief.lifecycle.citydata`). A missing ``residents.csv`` is an error: there is nothing to sync.

Each delivered file's as-of date and sha256 are recorded in the same transaction (``source_as_of``; the
stale-source alarm of :mod:`proactief.freshness` judges them). The as-of comes from, in this order: the caller's
``as_of`` (``proactief optout sync --as-of``), the folder's ``manifest.json`` (``{"as_of": "2026-11-01"}``, as the
city's delivery and the synthetic generator write it), else the file's modification time (its UTC date). A file
not delivered records nothing, so its last as-of ages until the alarm goes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from proactief.citydata import iter_enrolments, iter_ocmw, iter_residents
from proactief.ledger.models import Enrolment, OcmwPeriod, OptOut, Resident

if TYPE_CHECKING:
    from proactief.magda.config import MagdaConfig

__all__ = ["REPERTORIUM_BATCH", "import_city_data", "sync_repertorium"]

log = logging.getLogger("proactief.lifecycle.sync")

REPERTORIUM_BATCH = 500
"""Persons per RegistreerInschrijving / RegistreerUitschrijving message."""
_INSERT_BATCH = 5000
_RESIDENT_COLUMNS = ("insz", "household_id", "reference_person", "position", "address_kind", "postcode",
                     "nis_code", "since", "email", "address_line", "district", "first_name", "last_name")
_OCMW_COLUMNS = ("insz", "kind", "begin", "end")
_ENROLMENT_COLUMNS = ("insz", "institution_id", "institution_name", "kind", "school_year")
_NULL = "\\N"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _as_of(folder: Path, path: Path, given: dt.date | None) -> tuple[dt.date, str]:
    """A delivered file's as-of date and where it came from (``option``, ``manifest``, ``mtime``)."""
    if given is not None:
        return given, "option"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            raw = json.loads(manifest.read_text(encoding="utf-8")).get("as_of")
            if raw is not None:
                return dt.date.fromisoformat(str(raw)), "manifest"
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"{manifest}: 'as_of' must be an ISO date (YYYY-MM-DD): {type(exc).__name__}") from None
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date(), "mtime"


def _cell(value: object) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _spool(rows: Iterable[Any], columns: Sequence[str]) -> tuple[IO[str], int]:
    """Read (and so validate) every row into a compact CSV spool, ready for COPY; returns it and the count."""
    spool: IO[str] = tempfile.SpooledTemporaryFile(max_size=64 << 20, mode="w+", encoding="utf-8", newline="")
    writer = csv.writer(spool, lineterminator="\n")
    n = 0
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in columns])
        n += 1
    spool.seek(0)
    return spool, n


def _records(spool: IO[str], columns: Sequence[str], convert: dict[str, Callable[[str], Any]]
             ) -> Iterator[list[dict[str, Any]]]:
    """The spooled rows back as dicts for an executemany insert, in batches (the non-PostgreSQL path)."""
    spool.seek(0)
    batch: list[dict[str, Any]] = []
    for fields in csv.reader(spool):
        record = {}
        for c, v in zip(columns, fields, strict=True):
            record[c] = None if v == _NULL else convert.get(c, str)(v)
        batch.append(record)
        if len(batch) >= _INSERT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


_CONVERT: dict[str, Callable[[str], Any]] = {
    "reference_person": lambda v: v == "true",
    "since": dt.date.fromisoformat,
    "begin": dt.date.fromisoformat,
    "end": dt.date.fromisoformat,
}


def _copy(conn: Connection, table: str, columns: Sequence[str], spool: IO[str]) -> None:
    """``COPY … FROM STDIN`` inside the connection's open transaction (psycopg2 or psycopg 3: SQLAlchemy 2.1
    maps a plain ``postgresql://`` URL to psycopg 3)."""
    spool.seek(0)
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if hasattr(cursor, "copy_expert"):
            cursor.copy_expert(sql, spool)
        else:
            with cursor.copy(sql) as copy:
                while block := spool.read(1 << 16):
                    copy.write(block)
    finally:
        cursor.close()


def import_city_data(engine: Engine, folder: Path | str, *, as_of: dt.date | None = None) -> dict[str, Any]:
    """Replace the ledger's city data with the files in ``folder``; returns counts only.

    ``{"residents", "joined", "left", "ocmw", "enrolments", "snapshot", "as_of"}``: ``as_of`` maps each delivered
    file to its recorded as-of date (``as_of`` given here wins over ``manifest.json`` and the files' times);
    ``joined`` = persons not in the previous extract, ``left`` = persons of the previous extract missing now
    (marked, deregistered later);
    ``ocmw`` / ``enrolments`` are ``None`` when that file was not delivered (previous content kept).
    Raises :class:`~proactief.citydata.PopulationFileError` (file and line, no personal data) on any bad row,
    changing nothing, ``FileNotFoundError`` when ``residents.csv`` is missing, and ``ValueError`` when
    ``manifest.json`` has an ``as_of`` that is not a date.
    """
    folder = Path(folder)
    residents_path = folder / "residents.csv"
    if not residents_path.is_file():
        raise FileNotFoundError(f"residents.csv was not delivered: {residents_path}")
    from proactief.freshness import record_import, source_of_file

    delivered = [residents_path, *(p for p in (folder / "ocmw.csv", folder / "enrolments.csv") if p.is_file())]
    stamps = {p.name: (*_as_of(folder, p, as_of), _digest(p)) for p in delivered}
    snapshot = stamps["residents.csv"][2][:16]
    spools: list[IO[str]] = []
    try:
        residents, n_residents = _spool(iter_residents(residents_path), _RESIDENT_COLUMNS)
        spools.append(residents)
        ocmw = enrolments = None
        n_ocmw = n_enrolments = None
        if (folder / "ocmw.csv").is_file():
            ocmw, n_ocmw = _spool(iter_ocmw(folder / "ocmw.csv"), _OCMW_COLUMNS)
            spools.append(ocmw)
        if (folder / "enrolments.csv").is_file():
            enrolments, n_enrolments = _spool(iter_enrolments(folder / "enrolments.csv"), _ENROLMENT_COLUMNS)
            spools.append(enrolments)
        now = _now()
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                joined, left = _residents_pg(conn, residents, snapshot, now)
            else:
                joined, left = _residents_generic(conn, residents, snapshot, now)
            for spool, model, columns in ((ocmw, OcmwPeriod, _OCMW_COLUMNS),
                                          (enrolments, Enrolment, _ENROLMENT_COLUMNS)):
                if spool is None:
                    continue
                conn.execute(delete(model))
                if conn.dialect.name == "postgresql":
                    _copy(conn, model.__tablename__, columns, spool)
                else:
                    for batch in _records(spool, columns, _CONVERT):
                        conn.execute(insert(model), batch)
            counted = {"residents.csv": n_residents, "ocmw.csv": n_ocmw, "enrolments.csv": n_enrolments}
            for name, (day, origin, digest) in stamps.items():
                decl = source_of_file(name)
                if decl is not None:
                    record_import(conn, decl, day, origin, digest, counted[name])
    finally:
        for spool in spools:
            spool.close()
    for name, n in (("ocmw.csv", n_ocmw), ("enrolments.csv", n_enrolments)):
        if n is None:
            log.warning("%s was not delivered: the previous %s data stay in use", name, name[:-4])
    dates = {name: day.isoformat() for name, (day, _origin, _digest) in stamps.items()}
    log.info("city data imported (snapshot %s): %d residents, %d joined, %d left, ocmw %s, enrolments %s; as of %s",
             snapshot, n_residents, joined, left, n_ocmw, n_enrolments,
             ", ".join(f"{n} {d} ({stamps[n][1]})" for n, d in dates.items()))
    return {"residents": n_residents, "joined": joined, "left": left, "ocmw": n_ocmw, "enrolments": n_enrolments,
            "snapshot": snapshot, "as_of": dates}


def _residents_pg(conn: Connection, spool: IO[str], snapshot: str, now: dt.datetime) -> tuple[int, int]:
    conn.execute(text(
        "CREATE TEMP TABLE resident_import (insz varchar(11) PRIMARY KEY, household_id varchar(20), "
        "reference_person boolean NOT NULL, position varchar(2), address_kind varchar(10) NOT NULL, "
        "postcode varchar(4), nis_code varchar(5), since date, email varchar(254), address_line varchar(200), "
        "district varchar(80), first_name varchar(100), last_name varchar(100)) "
        "ON COMMIT DROP"))
    _copy(conn, "resident_import", _RESIDENT_COLUMNS, spool)
    joined = conn.execute(text(
        "SELECT count(*) FROM resident_import i WHERE NOT EXISTS "
        "(SELECT 1 FROM resident r WHERE r.insz = i.insz AND r.left_at IS NULL)")).scalar_one()
    left = conn.execute(text(
        "UPDATE resident r SET left_at = :now WHERE r.left_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM resident_import i WHERE i.insz = r.insz)"), {"now": now}).rowcount
    cols = ", ".join(f'"{c}"' for c in _RESIDENT_COLUMNS)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in _RESIDENT_COLUMNS[1:])
    conn.execute(text(
        f"INSERT INTO resident ({cols}, snapshot, repertorium_registered, left_at) "
        f"SELECT {cols}, :snapshot, false, NULL FROM resident_import "
        f"ON CONFLICT (insz) DO UPDATE SET {updates}, snapshot = EXCLUDED.snapshot, left_at = NULL"),
        {"snapshot": snapshot})
    return int(joined), int(left or 0)


def _residents_generic(conn: Connection, spool: IO[str], snapshot: str, now: dt.datetime) -> tuple[int, int]:
    """The same replacement with batched statements (SQLite: the laptop ledger)."""
    previous = {insz: (registered, left_at is None) for insz, registered, left_at in conn.execute(
        select(Resident.insz, Resident.repertorium_registered, Resident.left_at))}
    spool.seek(0)
    incoming = {fields[0] for fields in csv.reader(spool)}
    joined = sum(1 for i in incoming if not previous.get(i, (False, False))[1])
    gone = [i for i, (_reg, present) in previous.items() if present and i not in incoming]
    for part in _parts(gone):
        conn.execute(update(Resident).where(Resident.insz.in_(part)).values(left_at=now))
    for batch in _records(spool, _RESIDENT_COLUMNS, _CONVERT):
        conn.execute(delete(Resident).where(Resident.insz.in_([r["insz"] for r in batch])))
        for r in batch:
            r.update(snapshot=snapshot, left_at=None,
                     repertorium_registered=bool(previous.get(r["insz"], (False, False))[0]))
        conn.execute(insert(Resident), batch)
    return joined, len(gone)


def _parts(items: Sequence[str], size: int = _INSERT_BATCH) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


# ------------------------------------------------------------------------------------------ repertorium


def sync_repertorium(engine: Engine, magda: MagdaConfig, *, batch_size: int = REPERTORIUM_BATCH,
                     purpose: str | None = None) -> dict[str, int]:
    """Register at MAGDA everyone in the extract not yet registered; deregister who left (then delete them)
    and who objected. Returns ``{"registered", "deregistered", "failed", "removed", "skipped_opted_out"}``.

    A transient MAGDA answer leaves the batch as it was (``failed``; the next sync tries again). A refused
    request (configuration error, SOAP fault) raises. Registrations are audited in the consultation log.
    ``magda`` is a :class:`~proactief.magda.MagdaConfig`; ``purpose`` picks the Hoedanigheid (default: the
    afnemer's default).
    """
    from proactief.ledger.audit import LedgerAuditSink
    from proactief.magda.audit import OutcomeClass
    from proactief.magda.client import MagdaClient

    counts = {"registered": 0, "deregistered": 0, "failed": 0, "removed": 0, "skipped_opted_out": 0}
    active_opt_out = select(OptOut.insz).where(OptOut.active.is_(True))
    with engine.connect() as conn:
        to_register = list(conn.execute(
            select(Resident.insz).where(Resident.left_at.is_(None), Resident.repertorium_registered.is_(False),
                                        Resident.insz.not_in(active_opt_out)).order_by(Resident.insz)).scalars())
        counts["skipped_opted_out"] = int(conn.execute(
            select(func.count()).select_from(Resident).where(
                Resident.left_at.is_(None), Resident.repertorium_registered.is_(False),
                Resident.insz.in_(active_opt_out))).scalar_one())
        left_registered = list(conn.execute(
            select(Resident.insz).where(Resident.left_at.is_not(None), Resident.repertorium_registered.is_(True))
            .order_by(Resident.insz)).scalars())
        objected_registered = list(conn.execute(
            select(Resident.insz).where(Resident.left_at.is_(None), Resident.repertorium_registered.is_(True),
                                        Resident.insz.in_(active_opt_out)).order_by(Resident.insz)).scalars())
    with engine.begin() as conn:  # left and never registered: nothing to tell MAGDA
        counts["removed"] += int(conn.execute(delete(Resident).where(
            Resident.left_at.is_not(None), Resident.repertorium_registered.is_(False))).rowcount or 0)

    done = {OutcomeClass.OK, OutcomeClass.DEFINITIVE}
    with MagdaClient(magda, LedgerAuditSink(engine)) as client:
        for part in _parts(to_register, batch_size):
            ans = client.registreer_inschrijving(part, purpose=purpose)
            if ans.outcome in done and (ans.value is None or ans.value.geslaagd):
                with engine.begin() as conn:
                    conn.execute(update(Resident).where(Resident.insz.in_(part))
                                 .values(repertorium_registered=True))
                counts["registered"] += len(part)
            else:
                counts["failed"] += len(part)
                log.warning("repertorium registration of %d person(s) came back %s (%s); retried at the next sync",
                            len(part), ans.outcome.value, ans.code or ans.detail or "-")
        # 40003 on a deregistration = MAGDA had no inscription (any more): the goal is reached all the same.
        gone_ok = done | {OutcomeClass.NEEDS_INSCRIPTION}
        for people, remove in ((left_registered, True), (objected_registered, False)):
            for part in _parts(people, batch_size):
                ans = client.registreer_uitschrijving(part, purpose=purpose)
                if ans.outcome not in gone_ok:
                    counts["failed"] += len(part)
                    log.warning("repertorium deregistration of %d person(s) came back %s (%s); retried at the "
                                "next sync", len(part), ans.outcome.value, ans.code or ans.detail or "-")
                    continue
                with engine.begin() as conn:
                    if remove:
                        counts["removed"] += int(conn.execute(delete(Resident).where(
                            Resident.insz.in_(part), Resident.left_at.is_not(None))).rowcount or 0)
                    else:
                        conn.execute(update(Resident).where(Resident.insz.in_(part))
                                     .values(repertorium_registered=False))
                        # The objection's unsubscription is done: the next opt-out intake does not send it again.
                        conn.execute(update(OptOut).where(OptOut.insz.in_(part), OptOut.active.is_(True),
                                                          OptOut.unsubscribed_at.is_(None))
                                     .values(unsubscribed_at=dt.datetime.now(dt.UTC)))
                counts["deregistered"] += len(part)
    log.info("repertorium sync: %(registered)d registered, %(deregistered)d deregistered, %(failed)d failed, "
             "%(removed)d left person(s) removed, %(skipped_opted_out)d not registered (objection)", counts)
    return counts
