"""IVAGO waste-bag vouchers as a daily JSON Lines file for the integration partner.

IVAGO keeps the waste accounts; the city has no API into them. What IVAGO can take in is a file per day with
one voucher per line, which its back office loads onto the reference person's account (waardebon and extra
inzamelkrediet). So the adapter's "delivery" is writing that file, and its idempotency has to live in the
files themselves: a voucher that is in any file in ``outdir`` was handed over, whatever the ledger says.

File ``ivago-vouchers-YYYYMMDD.jsonl`` (the delivery day in Europe/Brussels), ``ivago-vouchers-YYYYMMDD-2.jsonl``,
``-3`` … for later batches of the same day. UTF-8, one JSON object per line, ``\\n`` line ends, fields:

===================  ==========================================================================================
``voucher_id``       ``IVG-<year>-<first 12 hex of sha256(grant_key)>``: stable across retries and re-runs
``insz``             INSZ of the household's reference person (IVAGO finds the account by it)
``household_size``   members of the household on 1 January (integer), or ``null`` when not known
``amount``           value of the waardebon, EUR, decimal string with two decimals (``"84.00"``)
``extra_credit``     extra inzamelkrediet on the IVAGO account, EUR, decimal string (``"42.00"``)
``currency``         always ``"EUR"``
``year``             the calendar year the voucher is for (year of ``valid_from``), integer
``valid_from``       ISO date
``valid_until``      ISO date (last day the voucher can be used), or ``null``
``grant_id``         the city's grant id (ask the city about a voucher by it)
``message_id``       the outbox message id: unique per delivery order
===================  ==========================================================================================

Guarantees (see ``docs/ivago-voucher-file.md``):

- A file appears complete or not at all: written to a hidden temporary file in ``outdir``, fsynced, renamed
  into place with :func:`os.replace`, then the directory is fsynced. Readers only take ``ivago-vouchers-*.jsonl``.
- A voucher is never in two files. Before writing, the adapter reads the voucher ids of every existing file
  (files are never changed after the rename, so a per-file cache keyed by size and mtime keeps this cheap) and
  answers ``Delivered(<file>, already=True)`` for vouchers found. The files are the index: a crash after the
  rename and before the dispatcher recorded the delivery is answered correctly on the next attempt.
- Writers take an exclusive ``flock`` on ``outdir/.ivago-vouchers.lock``, so two dispatchers cannot write the
  same voucher at once.
- ``outdir`` not writable (or the disk full): every order that needed writing is a
  :class:`TransientDeliveryError`, and nothing is left behind. An order without both amounts is a
  :class:`PermanentDeliveryError` on its own; the rest of the batch is written.
- A voucher cannot be taken back through a file: ``revoke`` orders are refused as permanent (IVAGO is told
  by a person).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from proactief.delivery import (
    Delivered,
    Outcome,
    PermanentDeliveryError,
    TransientDeliveryError,
    write_atomically,
)
from proactief.grants.base import GrantOrder
from proactief.insz import InvalidINSZ, validate_insz

__all__ = ["IvagoVoucherFile", "voucher_id", "FILE_PATTERN"]

log = logging.getLogger("proactief.grants.ivago")

_TZ = ZoneInfo("Europe/Brussels")
FILE_PATTERN = re.compile(r"^ivago-vouchers-(\d{8})(?:-(\d+))?\.jsonl$")
"""Names of complete voucher files (temporary files start with a dot and never match)."""
_LOCK_NAME = ".ivago-vouchers.lock"
_TMP_PREFIX = ".ivago-vouchers-"
_TMP_SUFFIX = ".tmp"
_CENT = Decimal("0.01")


def _now() -> dt.datetime:
    return dt.datetime.now(_TZ)


def voucher_id(grant_key: str, year: int) -> str:
    """The voucher's id: the same for every delivery of one grant, not reversible to the household."""
    return f"IVG-{year:04d}-{hashlib.sha256(grant_key.encode()).hexdigest()[:12]}"


@dataclass(frozen=True, slots=True)
class _Written:
    file: str
    grant_id: int | None


class IvagoVoucherFile:
    """Writes the day's voucher file into ``outdir``; idempotent by voucher id across all files there."""

    channel = "ivago"

    def __init__(self, outdir: Path, *, clock: Callable[[], dt.datetime] = _now) -> None:
        self.outdir = Path(outdir)
        self._clock = clock
        self._cache: dict[str, tuple[tuple[int, int], dict[str, _Written]]] = {}

    # ------------------------------------------------------------------------------------------ public

    def deliver(self, orders: Sequence[GrantOrder]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(orders)
        lines: dict[int, tuple[str, dict[str, Any]]] = {}
        for i, order in enumerate(orders):
            try:
                line = _line(order)
                lines[i] = (line["voucher_id"], line)
            except PermanentDeliveryError as exc:
                outcomes[i] = exc
        if not lines:
            return [o for o in outcomes if o is not None]
        try:
            with self._locked():
                written = self._existing()
                batch: dict[str, dict[str, Any]] = {}
                pending: list[int] = []
                for i, (vid, line) in lines.items():
                    known = written.get(vid)
                    if known is not None:
                        outcomes[i] = self._already(orders[i], vid, known)
                    elif vid in batch:  # the same voucher twice in one batch: written once
                        if batch[vid]["grant_id"] != orders[i].grant_id:
                            outcomes[i] = _collision(orders[i])
                        else:
                            pending.append(i)
                    else:
                        batch[vid] = line
                        pending.append(i)
                if batch:
                    name = self._write(list(batch.values()))
                    for i in pending:
                        outcomes[i] = Delivered(reference=name)
                    log.info("IVAGO voucher file %s written: %d vouchers", name, len(batch))
        except OSError as exc:
            err = TransientDeliveryError(f"IVAGO voucher file could not be written in the output directory "
                                         f"({errno.errorcode.get(exc.errno or 0, type(exc).__name__)})")
            for i in lines:
                if outcomes[i] is None:
                    outcomes[i] = err
            log.warning("IVAGO voucher file not written: %s", err)
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]

    def written_vouchers(self) -> dict[str, str]:
        """Voucher id -> file name of every voucher in ``outdir`` (for reconciliation and tests)."""
        return {vid: w.file for vid, w in self._existing().items()}

    # ------------------------------------------------------------------------------------------ internals

    @staticmethod
    def _already(order: GrantOrder, vid: str, known: _Written) -> Outcome:
        if known.grant_id is not None and known.grant_id != order.grant_id:
            return _collision(order)
        return Delivered(reference=known.file, already=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.outdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.outdir / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._remove_stale_tmp()
            yield
        finally:
            os.close(fd)  # releases the lock

    def _remove_stale_tmp(self) -> None:
        """Temporary files left by a writer that crashed before its rename (we hold the lock: none is live)."""
        for p in self.outdir.glob(f"{_TMP_PREFIX}*{_TMP_SUFFIX}"):
            p.unlink(missing_ok=True)

    def _existing(self) -> dict[str, _Written]:
        """Voucher ids of all complete files; a file is parsed once per (size, mtime)."""
        out: dict[str, _Written] = {}
        seen: set[str] = set()
        for p in sorted(self.outdir.iterdir()) if self.outdir.is_dir() else ():
            if not FILE_PATTERN.match(p.name):
                continue
            st = p.stat()
            stamp = (st.st_size, st.st_mtime_ns)
            cached = self._cache.get(p.name)
            if cached is None or cached[0] != stamp:
                cached = (stamp, _read_ids(p))
                self._cache[p.name] = cached
            seen.add(p.name)
            for vid, w in cached[1].items():
                out.setdefault(vid, w)
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        return out

    def _next_name(self) -> str:
        day = self._clock()
        day = day.astimezone(_TZ) if day.tzinfo is not None else day
        stem = f"ivago-vouchers-{day:%Y%m%d}"
        taken = {p.name for p in self.outdir.iterdir()}
        if f"{stem}.jsonl" not in taken:
            return f"{stem}.jsonl"
        n = 2
        while f"{stem}-{n}.jsonl" in taken:
            n += 1
        return f"{stem}-{n}.jsonl"

    def _write(self, lines: Sequence[Mapping[str, Any]]) -> str:
        name = self._next_name()
        data = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
        _write_atomically(self.outdir, name, data.encode("utf-8"))
        return name


# ---------------------------------------------------------------------------------------------- helpers


def _collision(order: GrantOrder) -> PermanentDeliveryError:
    return PermanentDeliveryError(f"IVAGO voucher id of grant {order.grant_id} (outbox {order.outbox_id}) is "
                                  "already used by another grant in the voucher files")


def _line(order: GrantOrder) -> dict[str, Any]:
    """The file line of one order, or a PermanentDeliveryError saying what is missing (no personal values)."""
    where = f"grant {order.grant_id} (outbox {order.outbox_id})"
    if order.kind != "grant":
        raise PermanentDeliveryError(f"IVAGO {where}: a voucher file cannot withdraw a voucher ({order.kind} "
                                     "not supported); tell IVAGO directly")
    try:
        insz = validate_insz(order.insz)
    except InvalidINSZ as exc:
        raise PermanentDeliveryError(f"IVAGO {where}: reference person's INSZ is not valid ({exc})") from None
    amounts = order.terms.get("amounts")
    amounts = amounts if isinstance(amounts, Mapping) else {}
    amount = _euro(amounts.get("waardebon"), "waardebon", where)
    credit = _euro(amounts.get("inzamelkrediet"), "inzamelkrediet", where)
    return {
        "voucher_id": voucher_id(order.grant_key, order.valid_from.year),
        "insz": insz,
        "household_size": _household_size(order.terms.get("household_size"), where),
        "amount": amount,
        "extra_credit": credit,
        "currency": "EUR",
        "year": order.valid_from.year,
        "valid_from": order.valid_from.isoformat(),
        "valid_until": order.valid_until.isoformat() if order.valid_until else None,
        "grant_id": order.grant_id,
        "message_id": order.message_id,
    }


def _euro(value: object, name: str, where: str) -> str:
    if value is None or value == "":
        raise PermanentDeliveryError(f"IVAGO {where}: amount {name!r} missing from the grant terms")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise PermanentDeliveryError(f"IVAGO {where}: amount {name!r} is not a decimal number") from None
    if not d.is_finite() or d < 0:
        raise PermanentDeliveryError(f"IVAGO {where}: amount {name!r} must be a non-negative number")
    return str(d.quantize(_CENT))


def _household_size(value: object, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PermanentDeliveryError(f"IVAGO {where}: household_size is not a number")
    try:
        n = int(str(value))
    except ValueError:
        raise PermanentDeliveryError(f"IVAGO {where}: household_size is not a whole number") from None
    if n < 1:
        raise PermanentDeliveryError(f"IVAGO {where}: household_size must be at least 1")
    return n


def _read_ids(path: Path) -> dict[str, _Written]:
    out: dict[str, _Written] = {}
    with path.open(encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
                vid = doc["voucher_id"]
            except (ValueError, KeyError, TypeError):
                # Our files are complete by construction; a line we cannot read was edited by hand. Refuse to
                # guess which vouchers it held: writing could duplicate one.
                raise OSError(errno.EBADMSG, f"{path.name} line {n} is not a voucher line") from None
            gid = doc.get("grant_id")
            out.setdefault(str(vid), _Written(path.name, gid if isinstance(gid, int) else None))
    return out


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    write_atomically(directory, name, data, tmp_prefix=_TMP_PREFIX, tmp_suffix=_TMP_SUFFIX)
