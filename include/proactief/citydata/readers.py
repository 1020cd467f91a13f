"""Strict readers for the city's files (``residents.csv``, ``enrolments.csv``, ``ocmw.csv``).

The population-sync DAG and the advice engine read these files; a wrong row must stop the import with the
file and line, never be skipped or half-read. Every row is checked (columns, INSZ check digits, dates, codes)
and error messages never contain an INSZ or other personal value, so they are safe to log.

Columns (any order; every column required unless marked optional, no others allowed; UTF-8, a BOM is tolerated):

- residents.csv: insz, household_id, reference_person (true|false), position (two digits), address_kind
  (main|contact), postcode (4 digits), nis_code (5 digits), since (ISO date), email, address_line, and optionally
  wijk (one of Ghent's 25 districts, :data:`GHENT_DISTRICTS`; empty = not known), first_name and last_name (the
  name to address a message by: "Beste <first_name> <last_name>"; empty = not known). Older extracts have no wijk
  or name columns: every district is then unknown and messages say "Beste Gentenaar". For ``contact`` rows
  household_id, position and since are empty and reference_person is false.
- enrolments.csv: insz, institution_id, institution_name, kind (school|childcare), school_year (``2026-2027``).
- ocmw.csv: insz, kind (budgetbeheer|schuldbemiddeling), begin (ISO date), end (ISO date or empty = ongoing).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

from proactief.insz import InvalidINSZ, validate_insz

__all__ = [
    "PopulationFileError",
    "ResidentRow",
    "EnrolmentRow",
    "OcmwRow",
    "RESIDENT_COLUMNS",
    "RESIDENT_OPTIONAL_COLUMNS",
    "GHENT_DISTRICTS",
    "ENROLMENT_COLUMNS",
    "OCMW_COLUMNS",
    "iter_residents",
    "iter_enrolments",
    "iter_ocmw",
    "load_residents",
    "load_enrolments",
    "load_ocmw",
    "school_year_of",
]

RESIDENT_COLUMNS = ("insz", "household_id", "reference_person", "position", "address_kind", "postcode", "nis_code",
                    "since", "email", "address_line")
RESIDENT_OPTIONAL_COLUMNS = ("wijk", "first_name", "last_name")
"""Columns a newer extract has and an older one lacks (the district: since issue 18; the name: since issue 17)."""
NAME_MAX = 100
"""The longest first or last name the ledger keeps (``resident.first_name``, ``resident.last_name``)."""
GHENT_DISTRICTS = (
    "Binnenstad", "Brugse Poort - Rooigem", "Dampoort", "Drongen",
    "Elisabethbegijnhof - Prinsenhof - Papegaai - Sint-Michiels", "Gentbrugge", "Kanaaldorpen en -zone", "Ledeberg",
    "Macharius - Heirnis", "Mariakerke", "Moscou - Vogelenzang", "Muide - Meulestede - Afrikalaan", "Nieuw Gent - UZ",
    "Oostakker", "Oud Gentbrugge", "Rabot - Blaisantvest", "Sint-Amandsberg", "Sint-Denijs-Westrem - Afsnee",
    "Sluizeken - Tolhuis - Ham", "Stationsbuurt-Noord", "Stationsbuurt-Zuid", "Watersportbaan - Ekkergem",
    "Wondelgem", "Zuid", "Zwijnaarde")
"""Ghent's 25 wijken as the city's statistics (Gent in cijfers) name them: the only values of ``wijk``."""
ENROLMENT_COLUMNS = ("insz", "institution_id", "institution_name", "kind", "school_year")
OCMW_COLUMNS = ("insz", "kind", "begin", "end")

_DISTRICTS = frozenset(GHENT_DISTRICTS)
_POSITION = re.compile(r"\d{2}")
_POSTCODE = re.compile(r"\d{4}")
_NIS = re.compile(r"\d{5}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SCHOOL_YEAR = re.compile(r"(\d{4})-(\d{4})")


def school_year_of(day: date) -> str:
    """The school year (1 September – 31 August) containing ``day``, written ``2026-2027``
    (the ``school_year`` column of ``enrolments.csv``)."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


class PopulationFileError(ValueError):
    """A city file that cannot be read as it must be; names the file and the line (1 = the header)."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class ResidentRow:
    insz: str
    household_id: str | None
    reference_person: bool
    position: str | None
    address_kind: str
    """``main`` (main residence in the register) or ``contact`` (contact address only, e.g. bis register)."""
    postcode: str
    nis_code: str
    since: date | None
    email: str | None
    address_line: str
    line: int = field(default=0, compare=False)
    """Line in the source file, for later error messages."""
    district: str | None = None
    """The wijk (:data:`GHENT_DISTRICTS`); None when the extract has no wijk column or leaves it empty."""
    first_name: str | None = field(default=None, repr=False)
    last_name: str | None = field(default=None, repr=False)
    """The name to address a message by; None when the extract has no name columns or leaves them empty."""


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    insz: str
    institution_id: str
    institution_name: str
    kind: str
    """``school`` or ``childcare``."""
    school_year: str
    line: int = field(default=0, compare=False)

    @property
    def school_year_start(self) -> date:
        """1 September that starts the school year (the onderwijskorting reference date)."""
        return date(int(self.school_year[:4]), 9, 1)


@dataclass(frozen=True, slots=True)
class OcmwRow:
    insz: str
    kind: str
    """``budgetbeheer`` or ``schuldbemiddeling``."""
    begin: date
    end: date | None
    line: int = field(default=0, compare=False)

    def covers(self, day: date) -> bool:
        return self.begin <= day and (self.end is None or day <= self.end)


class _RowError(ValueError):
    pass


def _insz(value: str) -> str:
    try:
        return validate_insz(value)
    except InvalidINSZ as exc:
        raise _RowError(f"column insz: {exc}") from None


def _date(column: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _RowError(f"column {column}: not an ISO date (YYYY-MM-DD)") from None


def _required(column: str, value: str) -> str:
    if not value:
        raise _RowError(f"column {column}: empty")
    return value


def _pattern(column: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise _RowError(f"column {column}: must be {what}")
    return value


def _choice(column: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _RowError(f"column {column}: must be one of {', '.join(allowed)}")
    return value


_Row = TypeVar("_Row")


def _read(path: Path | str, columns: tuple[str, ...], make: Callable[[dict[str, str], int], _Row],
          key: Callable[[_Row], object], duplicate: str, optional: tuple[str, ...] = ()) -> Iterator[_Row]:
    path = Path(path)
    seen: dict[object, int] = {}
    line = 1
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise PopulationFileError(path, 1, f"empty file; expected the header {','.join(columns)}")
            header = [h.strip() for h in header]
            doubled = sorted({h for h in header if header.count(h) > 1})
            missing = [c for c in columns if c not in header]
            unknown = [h for h in header if h not in columns and h not in optional]
            if doubled or missing or unknown:
                problems = []
                if missing:
                    problems.append(f"missing column(s) {', '.join(missing)}")
                if unknown:
                    problems.append(f"unknown column(s) {', '.join(unknown)}")
                if doubled:
                    problems.append(f"repeated column(s) {', '.join(doubled)}")
                raise PopulationFileError(path, 1, "; ".join(problems) + f" (expected {','.join(columns)})")
            for fields in reader:
                line = reader.line_num
                if not fields:
                    continue  # a blank line is not a row
                if len(fields) != len(header):
                    raise PopulationFileError(path, line, f"expected {len(header)} fields, found {len(fields)}")
                values = {h: v.strip() for h, v in zip(header, fields, strict=True)}
                for column in optional:
                    values.setdefault(column, "")
                try:
                    row = make(values, line)
                except _RowError as exc:
                    raise PopulationFileError(path, line, str(exc)) from None
                k = key(row)
                if k in seen:
                    raise PopulationFileError(path, line, f"{duplicate} (first on line {seen[k]})")
                seen[k] = line
                yield row
    except UnicodeDecodeError:
        raise PopulationFileError(path, line + 1, "not UTF-8 text") from None
    except csv.Error as exc:
        raise PopulationFileError(path, line + 1, f"not valid CSV ({exc})") from None


def _name(column: str, value: str) -> str | None:
    """A first or last name: free text (any script), one line, at most :data:`NAME_MAX` characters."""
    if not value:
        return None
    if len(value) > NAME_MAX or any(not ch.isprintable() for ch in value):
        raise _RowError(f"column {column}: not a name (one line, at most {NAME_MAX} characters)")
    return value


def _resident(v: dict[str, str], line: int) -> ResidentRow:
    insz = _insz(v["insz"])
    kind = _choice("address_kind", v["address_kind"], ("main", "contact"))
    flag = _choice("reference_person", v["reference_person"], ("true", "false")) == "true"
    postcode = _pattern("postcode", v["postcode"], _POSTCODE, "4 digits")
    nis = _pattern("nis_code", v["nis_code"], _NIS, "5 digits")
    email = v["email"] or None
    if email is not None and not _EMAIL.fullmatch(email):
        raise _RowError("column email: not an e-mail address")
    address = _required("address_line", v["address_line"])
    district = v["wijk"] or None
    if district is not None and district not in _DISTRICTS:
        raise _RowError("column wijk: not one of Ghent's 25 wijken (empty = not known)")
    first_name, last_name = _name("first_name", v["first_name"]), _name("last_name", v["last_name"])
    if kind == "contact":
        for column in ("household_id", "position", "since"):
            if v[column]:
                raise _RowError(f"column {column}: must be empty for a contact address")
        if flag:
            raise _RowError("column reference_person: a contact address has no household")
        return ResidentRow(insz, None, False, None, kind, postcode, nis, None, email, address, line, district,
                           first_name, last_name)
    household = _required("household_id", v["household_id"])
    position = _pattern("position", v["position"], _POSITION, "two digits (01 = reference person)")
    if flag != (position == "01"):
        raise _RowError("column reference_person: must be true exactly when position is 01")
    since = _date("since", _required("since", v["since"]))
    return ResidentRow(insz, household, flag, position, kind, postcode, nis, since, email, address, line, district,
                       first_name, last_name)


def _enrolment(v: dict[str, str], line: int) -> EnrolmentRow:
    year = v["school_year"]
    m = _SCHOOL_YEAR.fullmatch(year)
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise _RowError("column school_year: must be two consecutive years like 2026-2027")
    return EnrolmentRow(_insz(v["insz"]), _required("institution_id", v["institution_id"]),
                        _required("institution_name", v["institution_name"]),
                        _choice("kind", v["kind"], ("school", "childcare")), year, line)


def _ocmw(v: dict[str, str], line: int) -> OcmwRow:
    begin = _date("begin", _required("begin", v["begin"]))
    end = _date("end", v["end"]) if v["end"] else None
    if end is not None and end < begin:
        raise _RowError("column end: before begin")
    return OcmwRow(_insz(v["insz"]), _choice("kind", v["kind"], ("budgetbeheer", "schuldbemiddeling")), begin,
                   end, line)


def iter_residents(path: Path | str) -> Iterator[ResidentRow]:
    """Stream ``residents.csv``; raises :class:`PopulationFileError` at the first bad line (INSZ must be unique)."""
    return _read(path, RESIDENT_COLUMNS, _resident, lambda r: r.insz, "the same INSZ is listed twice",
                 RESIDENT_OPTIONAL_COLUMNS)


def iter_enrolments(path: Path | str) -> Iterator[EnrolmentRow]:
    """Stream ``enrolments.csv``; a repeated (child, institution, school year) is an error."""
    return _read(path, ENROLMENT_COLUMNS, _enrolment, lambda r: (r.insz, r.institution_id, r.school_year),
                 "the same enrolment is listed twice")


def iter_ocmw(path: Path | str) -> Iterator[OcmwRow]:
    """Stream ``ocmw.csv``; a repeated (person, kind, begin) is an error."""
    return _read(path, OCMW_COLUMNS, _ocmw, lambda r: (r.insz, r.kind, r.begin), "the same period is listed twice")


def load_residents(path: Path | str) -> list[ResidentRow]:
    """All rows of ``residents.csv``, or :class:`PopulationFileError` naming the file and line."""
    return list(iter_residents(path))


def load_enrolments(path: Path | str) -> list[EnrolmentRow]:
    """All rows of ``enrolments.csv``, or :class:`PopulationFileError` naming the file and line."""
    return list(iter_enrolments(path))


def load_ocmw(path: Path | str) -> list[OcmwRow]:
    """All rows of ``ocmw.csv``, or :class:`PopulationFileError` naming the file and line."""
    return list(iter_ocmw(path))
