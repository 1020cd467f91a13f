"""IVAGO voucher file: the format, atomic writes, and never the same voucher in two files."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from proactief.delivery import Delivered, PermanentDeliveryError, TransientDeliveryError, files
from proactief.grants import ivago
from proactief.grants.base import GrantOrder
from proactief.grants.ivago import IvagoVoucherFile, voucher_id

TZ = ivago._TZ


def insz(n: int) -> str:
    """A valid (TST) INSZ: born 1984, month +60, serial ``n``."""
    base = f"8464{1 + n % 28:02d}{100 + n:03d}"
    return base + f"{97 - int(base) % 97:02d}"


def order(n: int, *, household_size: int | None = 3, amounts: dict[str, str] | None = None, year: int = 2026,
          kind: str = "grant") -> GrantOrder:
    terms: dict[str, Any] = {"amounts": {"waardebon": "84", "inzamelkrediet": "42"} if amounts is None else amounts}
    if household_size is not None:
        terms["household_size"] = household_size
    return GrantOrder(
        outbox_id=1000 + n, message_id=f"grant.ivago.{n:024x}@proactief.gent", kind=kind,  # type: ignore[arg-type]
        grant_id=n, scheme_id="ivago-tegemoetkoming", grant_key=f"ivago-tegemoetkoming|{n:020x}|{year}",
        insz=insz(n), period=str(year), tier=None, amount=None, valid_from=dt.date(year, 1, 1),
        valid_until=dt.date(year, 12, 31), terms=terms,
    )


def clock_at(day: dt.date) -> Any:
    return lambda: dt.datetime(day.year, day.month, day.day, 6, 30, tzinfo=TZ)


JAN1 = dt.date(2026, 1, 1)
JAN2 = dt.date(2026, 1, 2)


def voucher_files(outdir: Path) -> list[str]:
    return sorted(p.name for p in outdir.iterdir() if ivago.FILE_PATTERN.match(p.name))


def leftovers(outdir: Path) -> list[str]:
    return sorted(p.name for p in outdir.iterdir() if p.name.endswith(".tmp"))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_voucher_file_round_trips_every_field(tmp_path: Path) -> None:
    orders = [order(1), order(2, household_size=None, amounts={"waardebon": "58.5", "inzamelkrediet": "29.25"})]
    outcomes = IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver(orders)

    assert outcomes == [Delivered("ivago-vouchers-20260101.jsonl"), Delivered("ivago-vouchers-20260101.jsonl")]
    first, second = lines(tmp_path / "ivago-vouchers-20260101.jsonl")
    assert first == {
        "voucher_id": voucher_id(orders[0].grant_key, 2026), "insz": orders[0].insz, "household_size": 3,
        "amount": "84.00", "extra_credit": "42.00", "currency": "EUR", "year": 2026, "valid_from": "2026-01-01",
        "valid_until": "2026-12-31", "grant_id": 1, "message_id": orders[0].message_id,
    }
    assert (second["household_size"], second["amount"], second["extra_credit"]) == (None, "58.50", "29.25")
    assert re.fullmatch(r"IVG-2026-[0-9a-f]{12}", first["voucher_id"])
    assert first["voucher_id"] != second["voucher_id"]


def test_voucher_id_is_stable_and_does_not_reveal_the_subject() -> None:
    key = "ivago-tegemoetkoming|0123456789abcdef0123|2026"
    assert voucher_id(key, 2026) == voucher_id(key, 2026)
    assert "0123456789abcdef0123" not in voucher_id(key, 2026)


def test_written_file_leaves_no_temporary_file(tmp_path: Path) -> None:
    IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1)])
    assert voucher_files(tmp_path) == ["ivago-vouchers-20260101.jsonl"]
    assert leftovers(tmp_path) == []


def test_failing_write_leaves_no_partial_file_and_is_transient(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ivago.os, "fsync", disk_full)
    outcomes = IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1), order(2)])

    assert all(isinstance(o, TransientDeliveryError) for o in outcomes), outcomes
    assert "ENOSPC" in str(outcomes[0])
    assert voucher_files(tmp_path) == [] and leftovers(tmp_path) == []
    monkeypatch.undo()
    assert IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1)]) == \
        [Delivered("ivago-vouchers-20260101.jsonl")]


def test_temporary_file_of_a_crashed_writer_is_cleaned_up_and_never_read(tmp_path: Path) -> None:
    line = json.dumps({"voucher_id": voucher_id(order(1).grant_key, 2026), "grant_id": 1})
    (tmp_path / ".ivago-vouchers-abc.tmp").write_text(line + "\n")
    assert IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1)]) == \
        [Delivered("ivago-vouchers-20260101.jsonl")]
    assert leftovers(tmp_path) == []


def test_voucher_of_an_earlier_days_file_is_not_written_again(tmp_path: Path) -> None:
    IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1)])
    outcomes = IvagoVoucherFile(tmp_path, clock=clock_at(JAN2)).deliver([order(1), order(2)])

    assert outcomes == [Delivered("ivago-vouchers-20260101.jsonl", already=True),
                        Delivered("ivago-vouchers-20260102.jsonl")]
    assert [ln["grant_id"] for ln in lines(tmp_path / "ivago-vouchers-20260102.jsonl")] == [2]


def test_redelivery_after_a_crash_following_the_write_writes_nothing_new(tmp_path: Path) -> None:
    batch = [order(1), order(2)]
    IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver(batch)
    before = (tmp_path / "ivago-vouchers-20260101.jsonl").read_bytes()
    # The dispatcher died before recording the delivery: a new process hands the same orders again.
    again = IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver(batch)

    assert again == [Delivered("ivago-vouchers-20260101.jsonl", already=True)] * 2
    assert voucher_files(tmp_path) == ["ivago-vouchers-20260101.jsonl"]
    assert (tmp_path / "ivago-vouchers-20260101.jsonl").read_bytes() == before


def test_second_batch_the_same_day_gets_a_numbered_file(tmp_path: Path) -> None:
    adapter = IvagoVoucherFile(tmp_path, clock=clock_at(JAN1))
    assert adapter.deliver([order(1)]) == [Delivered("ivago-vouchers-20260101.jsonl")]
    assert adapter.deliver([order(2)]) == [Delivered("ivago-vouchers-20260101-2.jsonl")]
    assert adapter.deliver([order(3)]) == [Delivered("ivago-vouchers-20260101-3.jsonl")]
    assert set(adapter.written_vouchers().values()) == set(voucher_files(tmp_path))


def test_same_voucher_twice_in_one_batch_is_written_once(tmp_path: Path) -> None:
    outcomes = IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1), order(1)])
    assert outcomes == [Delivered("ivago-vouchers-20260101.jsonl")] * 2
    assert len(lines(tmp_path / "ivago-vouchers-20260101.jsonl")) == 1


def test_the_day_of_the_file_name_is_the_day_in_brussels(tmp_path: Path) -> None:
    late_utc = lambda: dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC)  # noqa: E731 - 00:30 on 2 January in Gent
    assert IvagoVoucherFile(tmp_path, clock=late_utc).deliver([order(1)]) == \
        [Delivered("ivago-vouchers-20260102.jsonl")]


@pytest.mark.parametrize("how", ["outdir is a file", "permission denied"])
def test_unwritable_outdir_makes_every_order_transient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       how: str) -> None:
    outdir = tmp_path / "out"
    if how == "outdir is a file":
        outdir.write_text("not a directory")
    else:
        def refuse(*args: object, **kwargs: object) -> None:
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    outcomes = IvagoVoucherFile(outdir, clock=clock_at(JAN1)).deliver([order(1), order(2), order(3)])

    assert len(outcomes) == 3 and all(isinstance(o, TransientDeliveryError) for o in outcomes), outcomes
    if outdir.is_dir():
        assert voucher_files(outdir) == [] and leftovers(outdir) == []


@pytest.mark.parametrize("amounts", [{}, {"waardebon": "84"}, {"inzamelkrediet": "42"}, {"waardebon": "veel",
                                                                                           "inzamelkrediet": "42"}])
def test_order_without_amounts_is_permanent_and_the_rest_is_written(tmp_path: Path, amounts: dict[str, str]) -> None:
    bad = order(2, amounts=amounts)
    outcomes = IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1), bad, order(3)])

    assert outcomes[0] == outcomes[2] == Delivered("ivago-vouchers-20260101.jsonl")
    assert isinstance(outcomes[1], PermanentDeliveryError)
    assert bad.insz not in str(outcomes[1])
    assert [ln["grant_id"] for ln in lines(tmp_path / "ivago-vouchers-20260101.jsonl")] == [1, 3]


def test_revoke_is_refused_as_permanent_because_a_file_cannot_withdraw_a_voucher(tmp_path: Path) -> None:
    (outcome,) = IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1, kind="revoke")])
    assert isinstance(outcome, PermanentDeliveryError) and "not supported" in str(outcome)
    assert voucher_files(tmp_path) == []


def test_files_are_readable_only_by_owner_and_group(tmp_path: Path) -> None:
    IvagoVoucherFile(tmp_path, clock=clock_at(JAN1)).deliver([order(1)])
    assert os.stat(tmp_path / "ivago-vouchers-20260101.jsonl").st_mode & 0o777 == 0o640
