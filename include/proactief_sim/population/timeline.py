"""Synthetic Ghent as a timeline in memory: the city's files as of any day, and the truth per period.

``build_timeline(size, seed, as_of=…, history_from=…)`` makes exactly the persons that
``generate(size, seed, as_of=…, history_from=…)`` writes (same blocks, same random streams) and keeps their latent
facts, so a test can move through the window day by day:

- :meth:`Timeline.write_store` — the simulator's store (the whole timeline; the simulator answers as of a date);
- :meth:`Timeline.residents_on` / :meth:`Timeline.write_city` — the city's register extract of day X with the
  lag rules of ``residents.csv`` (recent deaths and departures still listed), the OCMW periods as the city knows
  them on X (begun by X; an end after X not yet known) and the enrolments;
- :meth:`Timeline.expected` — a scheme's expected decisions for a run with reference date D, on the subjects
  that run selects from the extract of its day, computed by :mod:`proactief_sim.population.expected` (never by the
  rule engine).

Memory grows with the size (the latent facts of every person are kept): about 1 KiB per person.
"""

from __future__ import annotations

import csv
import json
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from proactief_sim.population.expected import Expectation, expected_for_run, school_year_of
from proactief_sim.population.generator import (
    _BLOCK,
    ENROLMENT_COLUMNS,
    MAX_SIZE,
    OCMW_COLUMNS,
    RESIDENT_COLUMNS,
    _block_groups,
    _Generator,
    extract_rows,
)
from proactief_sim.population.model import LatentPerson, LatentPopulation
from proactief_sim.population.render import store_record

__all__ = ["Timeline", "build_timeline"]

_ONE = timedelta(days=1)
_LAG = 30


@dataclass(slots=True)
class _GroupVersions:
    persons: list[LatentPerson]
    pop: LatentPopulation
    days: list[date]
    """The first day of each version of the group's extract rows (ascending; the first is the window start)."""
    rows: list[list[list[str]]]


@dataclass(slots=True)
class Timeline:
    """A generated population with its whole history; see the module docstring."""

    size: int
    seed: int
    as_of: date
    history_from: date
    population: LatentPopulation
    groups: list[_GroupVersions] = field(default_factory=list)
    change_days: set[date] = field(default_factory=set)
    """Days on which the city's files (extract rows or OCMW periods) differ from the day before."""

    # -- the city's files -----------------------------------------------------------------------------------
    def residents_on(self, day: date) -> list[list[str]]:
        """The rows of the register extract of ``day`` (columns of ``residents.csv``), in generation order."""
        inside = self.history_from <= day <= self.as_of
        out: list[list[str]] = []
        for g in self.groups:
            if inside:
                out.extend(g.rows[bisect_right(g.days, day) - 1])
            else:
                out.extend(row for _, row in extract_rows(g.persons, g.pop, day, seed=self.seed))
        return out

    def ocmw_on(self, day: date) -> list[list[str]]:
        """OCMW periods as the city knows them on ``day``: begun by then; an end after ``day`` not yet known."""
        out = []
        for g in self.groups:
            for p in g.persons:
                for c in p.city:
                    if c.span.begin > day:
                        continue
                    end = c.span.end.isoformat() if c.span.end is not None and c.span.end <= day else ""
                    out.append([p.insz, c.kind, c.span.begin.isoformat(), end])
        return out

    def enrolments(self) -> list[list[str]]:
        """Every enrolment row (current and previous school year), as ``enrolments.csv`` has them."""
        return [[p.insz, e.institution_id, e.institution_name, e.kind, e.school_year]
                for g in self.groups for p in g.persons for e in p.enrolments]

    def write_city(self, folder: Path | str, day: date) -> Path:
        """Write ``residents.csv``, ``ocmw.csv`` and ``enrolments.csv`` as the city delivers them on ``day``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, header, rows in (("residents.csv", RESIDENT_COLUMNS, self.residents_on(day)),
                                   ("ocmw.csv", OCMW_COLUMNS, self.ocmw_on(day)),
                                   ("enrolments.csv", ENROLMENT_COLUMNS, self.enrolments())):
            with open(folder / name, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)
        return folder

    def write_store(self, path: Path | str) -> Path:
        """The simulator's JSON-lines store of the whole timeline (the bytes ``generate`` writes)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        with open(path, "w", encoding="utf-8", newline="") as fh:
            for g in self.groups:
                for p in g.persons:
                    fh.write(dumps(store_record(p, g.pop)))
                    fh.write("\n")
        return path

    # -- the truth ------------------------------------------------------------------------------------------
    def expected(self, scheme_id: str, d: date, extract_day: date | None = None) -> list[Expectation]:
        """Expected decisions of a run of ``scheme_id`` with reference date ``d`` whose subjects come from the
        extract of ``extract_day`` (default: ``d``, a run on its own reference day)."""
        rows = self.residents_on(extract_day or d)
        school_year = school_year_of(d)
        enrolled = [r[0] for r in self.enrolments() if r[4] == school_year]
        return expected_for_run(self.population, scheme_id, d, [(r[0], r[2] == "true") for r in rows], enrolled)

    def person(self, insz: str) -> LatentPerson:
        return self.population.persons[insz]

    def household_on(self, insz: str, day: date) -> list[str]:
        """The person and the living members of their household on ``day`` (the truth, for the checks)."""
        from proactief_sim.population.expected import household_on

        return household_on(self.population, insz, day)


def _candidate_days(persons: Iterable[LatentPerson], pop: LatentPopulation, lo: date, hi: date) -> list[date]:
    """Days on which a group's extract rows may change: every begin, the day after every end, and the days the
    extract's lag lets a death or a departure go."""
    days = {lo}

    def add(d: date | None) -> None:
        if d is not None and lo < d <= hi:
            days.add(d)

    for p in persons:
        add(p.birth)
        if p.death is not None:
            for k in (0, 1, _LAG - 1, _LAG, _LAG + 1):
                add(p.death + timedelta(days=k))
        for r in p.residences:
            add(r.span.begin)
            if r.span.end is not None:
                for k in (1, _LAG, _LAG + 1, _LAG + 2):
                    add(r.span.end + timedelta(days=k))
        for m in pop.memberships_of(p.insz):
            add(m.span.begin)
            if m.span.end is not None:
                add(m.span.end + _ONE)
    return sorted(days)


def build_timeline(size: int, seed: int, *, as_of: date, history_from: date) -> Timeline:
    """The persons of ``generate(size, seed, as_of=as_of, history_from=history_from)``, kept in memory."""
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(f"size must be between 1 and {MAX_SIZE}")
    if not history_from < as_of:
        raise ValueError("history_from must lie before as_of")
    n_blocks = -(-size // _BLOCK)
    merged = LatentPopulation()
    timeline = Timeline(size, seed, as_of, history_from, merged)
    for b in range(n_blocks):
        gen = _Generator(seed, as_of, b, n_blocks, history_from)
        for group, pop in _block_groups(gen, min(_BLOCK, size - b * _BLOCK)):
            for p in group.persons:
                merged.add_person(p)
            for m in pop.memberships:
                merged.add_membership(m)
            days: list[date] = []
            versions: list[list[list[str]]] = []
            for day in _candidate_days(group.persons, pop, history_from, as_of):
                rows = [row for _, row in extract_rows(group.persons, pop, day, seed=seed)]
                if not versions or rows != versions[-1]:
                    if versions:
                        timeline.change_days.add(day)
                    days.append(day)
                    versions.append(rows)
            timeline.groups.append(_GroupVersions(group.persons, pop, days, versions))
            for p in group.persons:
                for c in p.city:
                    for d in (c.span.begin, c.span.end):
                        if d is not None and history_from < d <= as_of:
                            timeline.change_days.add(d)
    return timeline
