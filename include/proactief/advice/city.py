"""City data for the advice engine: OCMW periods, enrolments, and the register extract's households.

Why a protocol: the engine must not care whether city data comes from the population generator's files
(tests, benchmarks, the CLI) or from ledger tables fed by the population-sync DAG. :class:`CityFiles` reads
the generator's ``residents.csv`` / ``enrolments.csv`` / ``ocmw.csv`` through the strict population readers.

The register extract lags and is *not* evidence of residence (MAGDA decides that); the engine uses its
households only as a hint of whom to ask statutes for in bulk, and to select subjects.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from proactief.citydata import iter_enrolments, iter_ocmw, iter_residents, school_year_of
from proactief.schemes.model import Scheme
from proactief.schemes.observations import Answer, Span
from proactief.schemes.subjects import subject_kind

__all__ = ["CityData", "CityFiles", "EmptyCityData", "OCMW_KINDS"]

OCMW_KINDS = ("budgetbeheer", "schuldbemiddeling")


@runtime_checkable
class CityData(Protocol):
    """What the city itself knows, per INSZ. Answer.TRANSIENT = the data set was not delivered (undetermined)."""

    def ocmw_periods(self, insz: str, kind: str) -> tuple[Span, ...] | Answer:
        """Periods of ``budgetbeheer`` or ``schuldbemiddeling`` for the person (empty: none)."""
        ...

    def enrolled(self, insz: str, reference_date: dt.date) -> bool | Answer:
        """Enrolled in a city school or city childcare for the school year that D starts."""
        ...

    def household_of(self, insz: str) -> tuple[str, ...]:
        """The other persons of the person's household in the city's register extract (a bulk-query hint only)."""
        ...

    def subjects(self, scheme: Scheme, reference_date: dt.date) -> list[str]:
        """Who the scheme decides about on D, as the city selects them (see the population README)."""
        ...


@dataclass
class EmptyCityData:
    """No city data at all: every person has no OCMW period and no enrolment (the CLI without city files)."""

    def ocmw_periods(self, insz: str, kind: str) -> tuple[Span, ...] | Answer:
        return ()

    def enrolled(self, insz: str, reference_date: dt.date) -> bool | Answer:
        return False

    def household_of(self, insz: str) -> tuple[str, ...]:
        return ()

    def subjects(self, scheme: Scheme, reference_date: dt.date) -> list[str]:
        return []


@dataclass
class CityFiles:
    """City data read from the population generator's files (kept compact: 270,000 residents fit easily)."""

    residents: list[str] = field(default_factory=list)
    """Every person in the register extract, in file order."""
    reference_persons: set[str] = field(default_factory=set)
    household_id: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    """household id → persons, in file order."""
    ocmw: dict[tuple[str, str], tuple[Span, ...]] = field(default_factory=dict)
    enrolments: dict[str, list[str]] = field(default_factory=dict)
    """school year (``2026-2027``) → children, in file order, each once."""
    ocmw_available: bool = True
    enrolments_available: bool = True

    @classmethod
    def load(cls, folder: Path | str) -> CityFiles:
        """Read ``residents.csv``, ``enrolments.csv`` and ``ocmw.csv`` from ``folder``.

        A missing ``ocmw.csv`` or ``enrolments.csv`` means that data set was not delivered: its facts become
        UNKNOWN (``CITY_DATA_UNAVAILABLE``), never "no".
        """
        folder = Path(folder)
        city = cls()
        households: dict[str, list[str]] = defaultdict(list)
        for r in iter_residents(folder / "residents.csv"):
            city.residents.append(r.insz)
            if r.reference_person:
                city.reference_persons.add(r.insz)
            if r.household_id:
                city.household_id[r.insz] = r.household_id
                households[r.household_id].append(r.insz)
        city.members = dict(households)
        ocmw_path = folder / "ocmw.csv"
        if ocmw_path.exists():
            periods: dict[tuple[str, str], list[Span]] = defaultdict(list)
            for o in iter_ocmw(ocmw_path):
                periods[(o.insz, o.kind)].append(Span(o.begin, o.end))
            city.ocmw = {k: tuple(v) for k, v in periods.items()}
        else:
            city.ocmw_available = False
        enrol_path = folder / "enrolments.csv"
        if enrol_path.exists():
            years: dict[str, dict[str, None]] = defaultdict(dict)
            for e in iter_enrolments(enrol_path):
                years[e.school_year][e.insz] = None
            city.enrolments = {y: list(c) for y, c in years.items()}
        else:
            city.enrolments_available = False
        return city

    def ocmw_periods(self, insz: str, kind: str) -> tuple[Span, ...] | Answer:
        if not self.ocmw_available:
            return Answer.TRANSIENT
        return self.ocmw.get((insz, kind), ())

    def enrolled(self, insz: str, reference_date: dt.date) -> bool | Answer:
        if not self.enrolments_available:
            return Answer.TRANSIENT
        return insz in self._enrolled_set(school_year_of(reference_date))

    def _enrolled_set(self, school_year: str) -> set[str] | dict[str, None]:
        cache = self.__dict__.setdefault("_sets", {})
        if school_year not in cache:
            cache[school_year] = set(self.enrolments.get(school_year, ()))
        return cache[school_year]  # type: ignore[no-any-return]

    def household_of(self, insz: str) -> tuple[str, ...]:
        hid = self.household_id.get(insz)
        if hid is None:
            return ()
        return tuple(m for m in self.members.get(hid, ()) if m != insz)

    def subjects(self, scheme: Scheme, reference_date: dt.date) -> list[str]:
        """UiTPAS and LEZ: every person in the extract; IVAGO: its reference persons; onderwijskorting: children
        enrolled for the school year D starts (a previous year's enrolment does not count)."""
        population = subject_kind(scheme.subject).population
        if population == "reference_persons":
            return [i for i in self.residents if i in self.reference_persons]
        if population == "enrolled_children":
            return list(self.enrolments.get(school_year_of(reference_date), ()))
        return list(self.residents)

    def ocmw_for(self, people: Iterable[str]) -> int:
        """How many of ``people`` have any OCMW period (a diagnostic for reports; no personal data)."""
        return sum(1 for p in people if any((p, k) in self.ocmw for k in OCMW_KINDS))
