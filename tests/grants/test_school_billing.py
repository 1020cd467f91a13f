"""School billing export: one cumulative CSV per school year, one row per child, the right codes per tier."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import io
from pathlib import Path
from typing import Any

import pytest

from proactief.delivery import Delivered, PermanentDeliveryError, TransientDeliveryError
from proactief.grants import school
from proactief.grants.base import GrantOrder
from proactief.grants.school import COLUMNS, SchoolBillingExport, discount_codes

FILE = "onderwijskorting-2026-2027.csv"
TIERS = {
    "leefloon": {"opvang": "100", "maaltijden": "80"},
    "inkomen-laag": {"opvang": "50", "maaltijden": "25"},
    "inkomen-midden": {"opvang": "50", "maaltijden": "0"},
}


def insz(n: int) -> str:
    """A valid (TST) INSZ of a child born in 2016: month +60, serial ``n``."""
    base = f"1669{1 + n % 28:02d}{100 + n:03d}"
    return base + f"{97 - (2_000_000_000 + int(base)) % 97:02d}"


def order(n: int, *, tier: str = "leefloon", period: str = "2026-2027", kind: str = "grant",
          valid_from: dt.date = dt.date(2026, 9, 1), grant_id: int | None = None,
          institution: tuple[str, str] | None = ("SBS-001", "Stedelijke Basisschool De Vlieger"),
          percentages: dict[str, str] | None = None) -> GrantOrder:
    terms: dict[str, Any] = {"percentages": TIERS[tier] if percentages is None else percentages}
    if institution is not None:
        terms["institution_id"], terms["institution_name"] = institution
    start = valid_from.year if valid_from.month >= 9 else valid_from.year - 1
    return GrantOrder(
        outbox_id=5000 + n, message_id=f"grant.school-billing.{n:024x}@proactief.gent", kind=kind,  # type: ignore[arg-type]
        grant_id=n if grant_id is None else grant_id, scheme_id="onderwijskorting",
        grant_key=f"onderwijskorting|{n:020x}|{period}", insz=insz(n), period=period, tier=tier, amount=None,
        valid_from=valid_from, valid_until=dt.date(start + 1, 8, 31), terms=terms,
    )


def read(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes().decode("utf-8")
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


@pytest.mark.parametrize(("tier", "codes"), [
    ("leefloon", "OPVANG-100 MAALTIJD-80"),
    ("inkomen-laag", "OPVANG-50 MAALTIJD-25"),
    ("inkomen-midden", "OPVANG-50"),
])
def test_discount_codes_match_the_tier(tmp_path: Path, tier: str, codes: str) -> None:
    assert SchoolBillingExport(tmp_path).deliver([order(1, tier=tier)]) == [Delivered(FILE)]
    (row,) = read(tmp_path / FILE)
    assert (row["tier"], row["discount_codes"]) == (tier, codes)


def test_percentages_are_written_without_trailing_zeros_and_unknown_kinds_keep_their_name() -> None:
    assert discount_codes({"maaltijden": "25.00", "opvang": "12.50", "busvervoer": "10"}) == \
        ["OPVANG-12.5", "MAALTIJD-25", "BUSVERVOER-10"]
    with pytest.raises(ValueError, match="between 0 and 100"):
        discount_codes({"opvang": "120"})


def test_row_carries_every_column(tmp_path: Path) -> None:
    o = order(1)
    SchoolBillingExport(tmp_path).deliver([o])
    (row,) = read(tmp_path / FILE)
    assert row == {
        "child_insz": o.insz, "school_year": "2026-2027", "institution_id": "SBS-001",
        "institution_name": "Stedelijke Basisschool De Vlieger", "tier": "leefloon",
        "discount_codes": "OPVANG-100 MAALTIJD-80", "valid_from": "2026-09-01", "valid_until": "2027-08-31",
        "grant_id": "1", "message_id": o.message_id,
    }


def test_export_is_cumulative_and_sorted(tmp_path: Path) -> None:
    export = SchoolBillingExport(tmp_path)
    export.deliver([order(5, institution=("SBS-002", "Stedelijke Basisschool Het Spoor"))])
    export.deliver([order(3), order(4, institution=None)])

    rows = read(tmp_path / FILE)
    assert [(r["institution_id"], r["grant_id"]) for r in rows] == [("", "4"), ("SBS-001", "3"), ("SBS-002", "5")]
    assert rows[0]["institution_name"] == ""  # not known: empty, the row is still there


def test_redelivery_is_already_and_keeps_one_row_per_child(tmp_path: Path) -> None:
    export = SchoolBillingExport(tmp_path)
    assert export.deliver([order(1), order(1)]) == [Delivered(FILE)] * 2  # twice in one batch: one row
    before = (tmp_path / FILE).read_bytes()
    # e.g. the dispatcher crashed after the rewrite and hands the order again, from a new process
    assert SchoolBillingExport(tmp_path).deliver([order(1)]) == [Delivered(FILE, already=True)]
    assert (tmp_path / FILE).read_bytes() == before
    assert len(read(tmp_path / FILE)) == 1


def test_another_grant_for_a_child_already_in_the_export_is_permanent(tmp_path: Path) -> None:
    export = SchoolBillingExport(tmp_path)
    export.deliver([order(1)])
    (outcome,) = export.deliver([order(1, grant_id=99, tier="inkomen-laag")])
    assert isinstance(outcome, PermanentDeliveryError)
    assert order(1).insz not in str(outcome)
    assert [r["grant_id"] for r in read(tmp_path / FILE)] == ["1"]


def test_school_year_comes_from_the_period_or_else_from_valid_from(tmp_path: Path) -> None:
    export = SchoolBillingExport(tmp_path)
    assert export.deliver([order(1, period="2027-2028", valid_from=dt.date(2027, 9, 1))]) == \
        [Delivered("onderwijskorting-2027-2028.csv")]
    assert export.deliver([order(2, period="", valid_from=dt.date(2027, 3, 1))]) == [Delivered(FILE)]
    assert [r["school_year"] for r in export.rows("2026-2027")] == ["2026-2027"]


def test_values_with_commas_and_quotes_round_trip(tmp_path: Path) -> None:
    name = 'Stedelijke Kinderopvang "De Zon", Gent-Brugge'
    export = SchoolBillingExport(tmp_path)
    export.deliver([order(1, institution=("KO-7", name))])
    export.deliver([order(2)])  # the rewrite reads the quoted row back and writes it again
    assert {r["institution_name"] for r in read(tmp_path / FILE)} == {name, "Stedelijke Basisschool De Vlieger"}


def test_failing_rewrite_keeps_the_previous_file_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = SchoolBillingExport(tmp_path)
    export.deliver([order(1)])
    before = (tmp_path / FILE).read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(school.os, "fsync", disk_full)
    outcomes = export.deliver([order(2), order(1)])

    assert isinstance(outcomes[0], TransientDeliveryError)
    assert outcomes[1] == Delivered(FILE, already=True)  # it is in the file on disk: that stays true
    assert (tmp_path / FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_unwritable_outdir_is_transient(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    outdir.write_text("not a directory")
    outcomes = SchoolBillingExport(outdir).deliver([order(1), order(2)])
    assert all(isinstance(o, TransientDeliveryError) for o in outcomes), outcomes


def test_file_that_is_not_an_export_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / FILE).write_bytes(b"kind;korting\r\nx;y\r\n")
    (outcome,) = SchoolBillingExport(tmp_path).deliver([order(1)])
    assert isinstance(outcome, PermanentDeliveryError)
    assert (tmp_path / FILE).read_bytes() == b"kind;korting\r\nx;y\r\n"


def test_revoke_is_not_supported(tmp_path: Path) -> None:
    (outcome,) = SchoolBillingExport(tmp_path).deliver([order(1, kind="revoke")])
    assert isinstance(outcome, PermanentDeliveryError) and "not supported" in str(outcome)
    assert not (tmp_path / FILE).exists()


@pytest.mark.parametrize("percentages", [{}, {"opvang": "0", "maaltijden": "0"}, {"opvang": "veel"}])
def test_order_without_a_discount_is_permanent_and_the_rest_is_written(tmp_path: Path,
                                                                        percentages: dict[str, str]) -> None:
    outcomes = SchoolBillingExport(tmp_path).deliver([order(1, percentages=percentages), order(2)])
    assert isinstance(outcomes[0], PermanentDeliveryError)
    assert outcomes[1] == Delivered(FILE)
    assert [r["grant_id"] for r in read(tmp_path / FILE)] == ["2"]
