"""The city-file readers: typed rows, every row or a clear error naming file and line, never an INSZ."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from proactief.citydata import (
    ENROLMENT_COLUMNS,
    OCMW_COLUMNS,
    RESIDENT_COLUMNS,
    PopulationFileError,
    iter_residents,
    load_enrolments,
    load_ocmw,
    load_residents,
)

GOOD = "84640438954"  # the MAGDA-Mock Ghent persona: a valid TST number
OTHER = "86710585636"
BAD_CHECK = "84640438955"
RES_HEADER = ",".join(RESIDENT_COLUMNS)
RES_MAIN = f'{GOOD},H000000001,true,01,main,9000,44021,2004-04-04,jan@example.org,"Hoogstraat 70 bus A, 9000 Gent"'
RES_CONTACT = f'{OTHER},,false,,contact,9000,44021,,,"Veldstraat 1, 9000 Gent"'


def write(tmp_path: Path, name: str, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def error(call, path: Path) -> PopulationFileError:  # type: ignore[no-untyped-def]
    with pytest.raises(PopulationFileError) as info:
        call(path)
    assert str(path) in str(info.value)
    for insz in (GOOD, OTHER, BAD_CHECK):
        assert insz not in str(info.value), "an INSZ leaked into an error message"
    return info.value


def test_residents_typed_rows(tmp_path: Path) -> None:
    rows = load_residents(write(tmp_path, "residents.csv", RES_HEADER, RES_MAIN, "", RES_CONTACT))
    main, contact = rows
    assert (main.insz, main.household_id, main.reference_person, main.position, main.since, main.email) == (
        GOOD, "H000000001", True, "01", date(2004, 4, 4), "jan@example.org")
    assert main.address_line == "Hoogstraat 70 bus A, 9000 Gent" and main.line == 2
    assert (contact.address_kind, contact.household_id, contact.since, contact.email, contact.line) == (
        "contact", None, None, None, 4)


def test_columns_in_any_order_and_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "ocmw.csv"
    path.write_bytes("\ufeffend,kind,insz,begin\n,budgetbeheer,84640438954,2024-01-01\n".encode())
    (row,) = load_ocmw(path)
    assert (row.kind, row.begin, row.end, row.covers(date(2030, 1, 1))) == ("budgetbeheer", date(2024, 1, 1),
                                                                             None, True)


@pytest.mark.parametrize(("header", "message"), [
    (RES_HEADER.replace(",email", ""), "missing column(s) email"),
    (RES_HEADER + ",extra", "unknown column(s) extra"),
    (RES_HEADER + ",email", "repeated column(s) email"),
])
def test_header_problems_name_the_column(tmp_path: Path, header: str, message: str) -> None:
    err = error(load_residents, write(tmp_path, "residents.csv", header, RES_MAIN))
    assert err.line == 1 and message in str(err)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "enrolments.csv"
    path.write_text("", encoding="utf-8")
    assert "empty file" in str(error(load_enrolments, path))


@pytest.mark.parametrize(("row", "message"), [
    (RES_MAIN.replace(GOOD, BAD_CHECK), "column insz: INSZ check digits do not match"),
    (RES_MAIN.replace(GOOD, "8464043895"), "column insz: INSZ must be exactly 11 digits"),
    (RES_MAIN.replace("2004-04-04", "04/04/2004"), "column since: not an ISO date"),
    (RES_MAIN.replace(",true,01,", ",false,01,"), "must be true exactly when position is 01"),
    (RES_MAIN.replace(",main,", ",postal,"), "column address_kind: must be one of main, contact"),
    (RES_MAIN.replace(",9000,44021,", ",900,44021,"), "column postcode: must be 4 digits"),
    (RES_MAIN.replace(",9000,44021,", ",9000,4402,"), "column nis_code: must be 5 digits"),
    (RES_MAIN.replace("jan@example.org", "jan at example"), "column email: not an e-mail address"),
    (RES_MAIN.replace("H000000001", ""), "column household_id: empty"),
    (RES_CONTACT.replace(",,false,,contact", ",H1,false,,contact"), "household_id: must be empty for a contact"),
    (RES_MAIN + ",surplus", "expected 10 fields, found 11"),
])
def test_bad_resident_rows_name_file_line_and_column(tmp_path: Path, row: str, message: str) -> None:
    err = error(load_residents, write(tmp_path, "residents.csv", RES_HEADER, RES_CONTACT, row))
    assert err.line == 3 and message in str(err)


def test_a_person_twice_is_an_error_not_a_silent_merge(tmp_path: Path) -> None:
    err = error(load_residents, write(tmp_path, "residents.csv", RES_HEADER, RES_MAIN, RES_CONTACT, RES_MAIN))
    assert err.line == 4 and "listed twice (first on line 2)" in str(err)


def test_streaming_stops_at_the_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, "residents.csv", RES_HEADER, RES_MAIN, RES_CONTACT.replace(OTHER, BAD_CHECK))
    rows = iter_residents(path)
    assert next(rows).insz == GOOD
    with pytest.raises(PopulationFileError, match="line 3"):
        next(rows)


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "residents.csv", RES_HEADER, RES_MAIN.replace("Hoogstraat", "Hoogstraße"),
                 encoding="latin-1")
    assert "not UTF-8" in str(error(load_residents, path))


def test_enrolments(tmp_path: Path) -> None:
    header = ",".join(ENROLMENT_COLUMNS)
    ok = f"{GOOD},SBS-001,Stedelijke basisschool Brugse Poort,school,2026-2027"
    (row,) = load_enrolments(write(tmp_path, "enrolments.csv", header, ok))
    assert (row.kind, row.school_year, row.school_year_start) == ("school", "2026-2027", date(2026, 9, 1))
    for bad, message in ((ok.replace(",school,", ",kinderopvang,"), "column kind: must be one of school, childcare"),
                         (ok.replace("2026-2027", "2026-2028"), "column school_year: must be two consecutive"),
                         (ok.replace("SBS-001", ""), "column institution_id: empty"),
                         (ok, "the same enrolment is listed twice (first on line 2)")):
        err = error(load_enrolments, write(tmp_path, "enrolments.csv", header, ok, bad))
        assert err.line == 3 and message in str(err)


def test_ocmw(tmp_path: Path) -> None:
    header = ",".join(OCMW_COLUMNS)
    ok = f"{GOOD},schuldbemiddeling,2024-01-01,2025-06-30"
    (row,) = load_ocmw(write(tmp_path, "ocmw.csv", header, ok))
    assert row.covers(date(2025, 6, 30)) and not row.covers(date(2025, 7, 1))
    for bad, message in ((ok.replace("2025-06-30", "2023-12-31"), "column end: before begin"),
                         (ok.replace("schuldbemiddeling", "leefloon"), "column kind: must be one of"),
                         (ok.replace("2024-01-01", ""), "column begin: empty"),
                         (ok, "the same period is listed twice")):
        err = error(load_ocmw, write(tmp_path, "ocmw.csv", header, ok, bad))
        assert err.line == 3 and message in str(err)


def test_an_extract_with_a_wijk_column_gives_each_resident_a_district(tmp_path: Path) -> None:
    path = write(tmp_path, "residents.csv", RES_HEADER + ",wijk", RES_MAIN + ",Rabot - Blaisantvest",
                 RES_CONTACT + ",")
    main, contact = load_residents(path)
    assert (main.district, contact.district) == ("Rabot - Blaisantvest", None)


def test_an_older_extract_without_the_wijk_column_leaves_the_district_unknown(tmp_path: Path) -> None:
    main, contact = load_residents(write(tmp_path, "residents.csv", RES_HEADER, RES_MAIN, RES_CONTACT))
    assert (main.district, contact.district) == (None, None)


def test_a_wijk_not_in_ghent_s_list_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "residents.csv", RES_HEADER + ",wijk", RES_MAIN + ",Rabot",
                 RES_CONTACT + ",Zuid")
    exc = error(load_residents, path)
    assert exc.line == 2 and "column wijk" in str(exc) and "25 wijken" in str(exc)
    assert "residents.csv, line 2" in str(exc)


def test_an_extract_with_name_columns_gives_the_name_to_address_a_message_and_an_older_one_none(
        tmp_path: Path) -> None:
    header = RES_HEADER + ",first_name,last_name"
    named = load_residents(write(tmp_path, "residents.csv", header, RES_MAIN + ",Jan,Van den Broeck",
                                 RES_CONTACT + ",,"))
    assert [(r.first_name, r.last_name) for r in named] == [("Jan", "Van den Broeck"), (None, None)]
    assert "Broeck" not in repr(named[0]), "a name in a log of the row"
    [older] = load_residents(write(tmp_path, "older.csv", RES_HEADER, RES_MAIN))
    assert (older.first_name, older.last_name) == (None, None)
    err = error(load_residents, write(tmp_path, "long.csv", header, RES_MAIN + ",Jan," + "x" * 101))
    assert err.line == 2 and "column last_name" in str(err) and "x" * 20 not in str(err)
