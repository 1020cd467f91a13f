"""Onderwijskorting as a per-school-year CSV export for the schools' billing system.

The billing system of the city schools and childcare reads, per school year, which child gets which discount
codes on its invoices. It re-imports the whole file, so the export is cumulative: one file per school year that
always holds every child granted so far. Each delivery rewrites that file atomically (previous rows + the new
ones, sorted, one row per child), which makes the file itself the idempotency record: a child already in the
file is answered ``Delivered(<file>, already=True)``, also after a crash between the rewrite and the
dispatcher recording the delivery.

File ``onderwijskorting-<start>-<end>.csv`` (school year 1 September – 31 August, e.g.
``onderwijskorting-2026-2027.csv``), taken from ``order.period`` (``2026-2027``) or else from ``valid_from``.
UTF-8 without BOM, comma-separated, ``\\r\\n`` line ends (RFC 4180), quoted only where needed, a header row,
rows sorted by ``institution_id`` then ``child_insz``. Columns:

===================  ==========================================================================================
``child_insz``       INSZ of the child (the billing account is the child's)
``school_year``      ``2026-2027``
``institution_id``   the city school or childcare the child is enrolled in, empty when not known
``institution_name`` its name, empty when not known
``tier``             ``leefloon``, ``inkomen-laag`` or ``inkomen-midden``
``discount_codes``   space-separated codes ``<KIND>-<percent>``: ``OPVANG-100 MAALTIJD-80``; a 0 % gives no code
``valid_from``       ISO date, first day the discount applies
``valid_until``      ISO date, last day (31 August), empty when open
``grant_id``         the city's grant id (ask the city about a row by it)
``message_id``       the outbox message id of the delivery that added the row
===================  ==========================================================================================

Codes: ``opvang`` -> ``OPVANG``, ``maaltijden`` -> ``MAALTIJD``; another percentage name in the scheme becomes
its upper-cased name, so a new kind of discount shows up instead of vanishing. Percentages are written without
trailing zeros (``50``, ``12.5``). ``revoke`` orders are refused as permanent: the scheme grants for a whole
school year and never ends a discount early. See ``docs/school-billing-export.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import fcntl
import io
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path

from proactief.delivery import (
    Delivered,
    Outcome,
    PermanentDeliveryError,
    TransientDeliveryError,
    write_atomically,
)
from proactief.grants.base import GrantOrder
from proactief.insz import InvalidINSZ, validate_insz

__all__ = ["SchoolBillingExport", "COLUMNS", "discount_codes", "school_year_of", "export_name"]

log = logging.getLogger("proactief.grants.school")

COLUMNS = ("child_insz", "school_year", "institution_id", "institution_name", "tier", "discount_codes",
           "valid_from", "valid_until", "grant_id", "message_id")
CODE_NAMES = {"opvang": "OPVANG", "maaltijden": "MAALTIJD"}
"""Percentage name in the scheme -> code prefix in the billing system; the order here is the order in a row."""

_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_LOCK_NAME = ".onderwijskorting.lock"
_TMP_PREFIX = ".onderwijskorting-"
_TMP_SUFFIX = ".tmp"
_HUNDRED = Decimal(100)


def school_year_of(order: GrantOrder) -> str:
    """``2026-2027``: ``order.period`` when it is a school year, else the school year containing ``valid_from``."""
    m = _YEAR.match(order.period or "")
    if m and int(m.group(2)) == int(m.group(1)) + 1:
        return order.period
    d = order.valid_from
    start = d.year if d.month >= 9 else d.year - 1
    return f"{start}-{start + 1}"


def export_name(school_year: str) -> str:
    return f"onderwijskorting-{school_year}.csv"


def discount_codes(percentages: Mapping[str, object]) -> list[str]:
    """``{"opvang": "100", "maaltijden": "80"}`` -> ``["OPVANG-100", "MAALTIJD-80"]``; 0 % gives no code.

    Raises ValueError for a percentage that is not a number from 0 to 100.
    """
    known = [k for k in CODE_NAMES if k in percentages]
    others = sorted(k for k in percentages if k not in CODE_NAMES)
    codes = []
    for name in known + others:
        try:
            pct = Decimal(str(percentages[name]))
        except InvalidOperation:
            raise ValueError(f"percentage {name!r} is not a number") from None
        if not pct.is_finite() or not 0 <= pct <= _HUNDRED:
            raise ValueError(f"percentage {name!r} must be between 0 and 100")
        if pct == 0:
            continue
        text = format(pct.normalize(), "f")
        codes.append(f"{CODE_NAMES.get(name, name.upper())}-{text}")
    return codes


class SchoolBillingExport:
    """Keeps one cumulative CSV per school year in ``outdir``; idempotent per child and school year."""

    channel = "school-billing"

    def __init__(self, outdir: Path) -> None:
        self.outdir = Path(outdir)

    def deliver(self, orders: Sequence[GrantOrder]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(orders)
        by_year: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for i, order in enumerate(orders):
            try:
                row = _row(order)
            except PermanentDeliveryError as exc:
                outcomes[i] = exc
                continue
            by_year.setdefault(row["school_year"], []).append((i, row))
        if by_year:
            try:
                with self._locked():
                    for year, rows in sorted(by_year.items()):
                        self._deliver_year(year, rows, outcomes)
            except OSError as exc:
                why = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
                err = TransientDeliveryError(f"school billing export could not be written ({why})")
                for rows in by_year.values():
                    for i, _ in rows:
                        if outcomes[i] is None:
                            outcomes[i] = err
                log.warning("school billing export not written: %s", err)
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]

    def rows(self, school_year: str) -> list[dict[str, str]]:
        """The rows of one school year's export as they are on disk (empty when there is none yet)."""
        return list(_read(self.outdir / export_name(school_year)).values())

    # ------------------------------------------------------------------------------------------ internals

    def _deliver_year(self, year: str, rows: list[tuple[int, dict[str, str]]],
                      outcomes: list[Outcome | None]) -> None:
        name = export_name(year)
        path = self.outdir / name
        try:
            existing = _read(path)
        except ValueError as exc:  # not our format: rewriting it could drop rows a person put there
            err = PermanentDeliveryError(f"{name}: {exc}; fix or move the file")
            for i, _ in rows:
                outcomes[i] = err
            return
        added: list[int] = []
        merged = dict(existing)
        for i, row in rows:
            child = row["child_insz"]
            have = merged.get(child)
            if have is None:
                merged[child] = row
                added.append(i)
            elif have["grant_id"] != row["grant_id"]:
                outcomes[i] = PermanentDeliveryError(
                    f"{name}: the child of grant {row['grant_id']} already has a row for grant {have['grant_id']}")
            elif child in existing:
                outcomes[i] = Delivered(reference=name, already=True)
            else:  # the same grant twice in this batch
                added.append(i)
        if added:
            _write_atomically(self.outdir, name, _render(merged.values()))
            log.info("school billing export %s: %d rows (%d new)", name, len(merged), len(merged) - len(existing))
        for i in added:
            outcomes[i] = Delivered(reference=name)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.outdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.outdir / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            for p in self.outdir.glob(f"{_TMP_PREFIX}*{_TMP_SUFFIX}"):  # left by a crashed writer
                p.unlink(missing_ok=True)
            yield
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------------------------- helpers


def _row(order: GrantOrder) -> dict[str, str]:
    where = f"grant {order.grant_id} (outbox {order.outbox_id})"
    if order.kind != "grant":
        raise PermanentDeliveryError(f"school billing {where}: {order.kind} not supported (the discount holds for "
                                     "the whole school year)")
    try:
        child = validate_insz(order.insz)
    except InvalidINSZ as exc:
        raise PermanentDeliveryError(f"school billing {where}: child's INSZ is not valid ({exc})") from None
    pct = order.terms.get("percentages")
    if not isinstance(pct, Mapping) or not pct:
        raise PermanentDeliveryError(f"school billing {where}: no discount percentages in the grant terms")
    try:
        codes = discount_codes(pct)
    except ValueError as exc:
        raise PermanentDeliveryError(f"school billing {where}: {exc}") from None
    if not codes:
        raise PermanentDeliveryError(f"school billing {where}: every discount percentage is 0")
    return {
        "child_insz": child,
        "school_year": school_year_of(order),
        "institution_id": _text(order.terms.get("institution_id")),
        "institution_name": _text(order.terms.get("institution_name")),
        "tier": order.tier or "",
        "discount_codes": " ".join(codes),
        "valid_from": order.valid_from.isoformat(),
        "valid_until": order.valid_until.isoformat() if isinstance(order.valid_until, dt.date) else "",
        "grant_id": str(order.grant_id),
        "message_id": order.message_id,
    }


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _read(path: Path) -> dict[str, dict[str, str]]:
    """Rows by child INSZ; ValueError when the file is not an export of this format."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError("unexpected header (not an export of this format)")
    out: dict[str, dict[str, str]] = {}
    for n, row in enumerate(reader, 2):
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"line {n} does not have {len(COLUMNS)} fields")
        out.setdefault(row["child_insz"], {c: row[c] for c in COLUMNS})
    return out


def _render(rows: Iterable[Mapping[str, str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows(sorted(rows, key=lambda r: (r["institution_id"], r["child_insz"])))
    return buf.getvalue().encode("utf-8")


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    write_atomically(directory, name, data, tmp_prefix=_TMP_PREFIX, tmp_suffix=_TMP_SUFFIX)
