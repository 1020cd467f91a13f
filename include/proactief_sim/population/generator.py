"""A synthetic, deterministic population of Ghent: the MAGDA simulator's store, the city's files, expected results.

``generate(size, seed, out=DIR, as_of=DATE, workers=N)`` writes (all UTF-8, CSV with a header row and ``\\n``
line ends; ``workers`` only changes the speed, never the bytes):

``magda-population.jsonl``
    The simulator's population store, one person per line (format: ``proactief_sim.simulator.population``); start
    the simulator with ``--population DIR/magda-population.jsonl``. Household entries carry an ``end`` when the
    two persons stopped sharing a household (split, death, someone joining later).
``residents.csv`` — the city's population-register extract as of ``as_of``
    ``insz``, ``household_id`` (the city's id, empty for a contact address), ``reference_person`` (true|false),
    ``position`` (Rijksregister code, 01 = reference person), ``address_kind`` (main | contact),
    ``postcode``, ``nis_code``, ``since`` (date the person lives at this address; empty for a contact address),
    ``email`` (empty when the city knows none), ``address_line`` (postal line ``Street 12 bus 3, 9000 Gent``),
    ``wijk`` (one of Ghent's 25 districts, see :mod:`proactief_sim.population.districts`; drawn last, on its own
    random stream, so every other column and file is what it was before the column existed), ``first_name`` (the
    first of the person's first names) and ``last_name``: the name a letter is addressed by.
    Like a real extract it lags a little: persons who died or moved out of Ghent in the last 30 days before
    ``as_of`` are still listed, and persons known only in the KSZ bis register with a contact address in Ghent
    are listed with ``address_kind`` contact. The MAGDA data, not this file, decides who is a resident.
``enrolments.csv``
    ``insz`` (the child), ``institution_id``, ``institution_name``, ``kind`` (school | childcare),
    ``school_year`` (``2026-2027``). The current school year, plus some rows of the previous one.
``ocmw.csv``
    ``insz``, ``kind`` (budgetbeheer | schuldbemiddeling), ``begin``, ``end`` (ISO dates, ``end`` empty =
    ongoing; both inclusive). Past and current periods.
``expected/<scheme-id>.csv`` and ``expected/reference-dates.json``
    What a correct chain decides (see :mod:`proactief_sim.population.expected` for the rules and columns).
``manifest.json``
    Seed, size, as_of, the counts per file and of every hard case (no personal data).

Deterministic: the same (size, seed, as_of) gives the same bytes. Streaming: persons are generated in small
groups (a household with everyone it shares a history with) that are written and forgotten, so memory stays
flat whatever the size. All INSZ are MAGDA test numbers (birth month + 60, months 61-72) with valid
modulo-97 check digits, so none belongs to a real citizen and every service's XSD accepts them. Persons of the
KSZ bis register get test numbers too: the KSZ ``SsinType`` (GeefDossierHandicap) accepts test numbers only
in 60-72, so a "test bis" month (+ 80) is refused by MAGDA, and a real bis month (+ 20 / + 40) could be a real
person's number. Being in the bis register is a fact of the person (contact address only, no household), not
of the number; nothing reads it from the number.
"""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing
import os
import random
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from proactief.insz import validate_insz
from proactief_sim.population import places
from proactief_sim.population.districts import district_of
from proactief_sim.population.expected import (
    COLUMNS,
    SCHEME_IDS,
    Expectation,
    ReferenceDates,
    expectations,
    reference_dates,
    school_year_of,
)
from proactief_sim.population.model import (
    Address,
    Assessment,
    Card,
    CityPeriod,
    Enrolment,
    LatentPerson,
    LatentPopulation,
    Membership,
    Residence,
    Span,
    Vehicle,
)
from proactief_sim.population.render import membership_on, store_record

__all__ = ["DEFAULT_AS_OF", "FILES", "MAX_SIZE", "GenerationSummary", "generate"]

log = logging.getLogger(__name__)

DEFAULT_AS_OF = date(2026, 11, 1)
FILES = ("magda-population.jsonl", "residents.csv", "enrolments.csv", "ocmw.csv", "manifest.json")
RESIDENT_COLUMNS = ("insz", "household_id", "reference_person", "position", "address_kind", "postcode", "nis_code",
                    "since", "email", "address_line", "wijk", "first_name", "last_name")
ENROLMENT_COLUMNS = ("insz", "institution_id", "institution_name", "kind", "school_year")
OCMW_COLUMNS = ("insz", "kind", "begin", "end")

_ONE = timedelta(days=1)
_EXTRACT_LAG_DAYS = 30
_POVERTY_LINE_CENT = 18_000_00  # equivalised yearly taxable income (OECD modified scale)
# leefloon per month (EUR, 2026 order of magnitude): cohabitant, single, with dependent family
_LEEFLOON = {"cohabitant": "876.11", "single": "1314.17", "family": "1776.07"}

# household composition (share of households)
_TYPES = (("single", 0.45), ("couple", 0.22), ("family", 0.17), ("single_parent", 0.09), ("other", 0.07))
# probability that a group of this type lives below the poverty line (tuned to ~1 in 7 persons)
_POOR = {"single": 0.14, "couple": 0.05, "family": 0.095, "large_family": 0.28, "single_parent": 0.31,
         "other": 0.11, "bis": 0.6, "nonresident": 0.06}
_P_BIS = 0.006
_P_NONRESIDENT = 0.04
_MAX_GROUP = 12
_BLOCK = 10_000  # persons per block: blocks are generated independently (in parallel) and concatenated
_IDS_PER_BLOCK = 1_000_000
MAX_SIZE = 2_000_000  # no group has more persons than this; below it, the last places are filled with singles


@dataclass(slots=True)
class GenerationSummary:
    """What was written: counts per file, hard cases, reference dates (for the CLI to print)."""

    out: Path
    size: int
    seed: int
    as_of: date
    dates: ReferenceDates
    counts: dict[str, int]
    hard_cases: dict[str, int]
    expected: dict[str, dict[str, int]]

    def as_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "size": self.size, "as_of": self.as_of.isoformat(),
                "reference_dates": self.dates.as_json(), "counts": self.counts,
                "hard_cases": dict(sorted(self.hard_cases.items())), "expected": self.expected}

    def as_text(self) -> str:
        lines = [f"population of {self.size} persons (seed {self.seed}, as of {self.as_of}) in {self.out}"]
        lines += [f"  {k}: {v}" for k, v in self.counts.items()]
        for scheme, c in self.expected.items():
            lines.append(f"  expected {scheme}: {c.get('eligible', 0)} eligible of {c.get('rows', 0)}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- one group


@dataclass(slots=True)
class _Member:
    person: LatentPerson
    position: str
    span: Span


@dataclass(slots=True)
class _Household:
    hid: str
    addresses: list[tuple[Span, Address]]
    members: list[_Member] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    kind: str
    persons: list[LatentPerson]
    households: list[_Household]
    main: _Household | None = None
    """The household the group started as (the one whose reference person is the group's first person)."""
    poor: bool = False
    leaver: LatentPerson | None = None
    """The partner who left in a split."""
    successor: LatentPerson | None = None
    """The member who became reference person when the reference person died."""
    vt_holders: list[tuple[LatentPerson, bool]] = field(default_factory=list)
    """(holder, whether the household gets BIM_BVT_IN_FAMILY through them)"""


class _Generator:
    def __init__(self, seed: int, as_of: date, block: int = 0, blocks: int = 1,
                 history_from: date | None = None) -> None:
        self.rng = random.Random(f"proactief-population:{seed}:{block}")
        self.seed = seed
        self.block, self.blocks = block, blocks
        self.id_base = block * _IDS_PER_BLOCK
        self.as_of = as_of
        self.as_of_ord = as_of.toordinal()
        self.dates = reference_dates(as_of)
        earliest = min(self.dates.ivago, self.dates.onderwijskorting, self.dates.uitpas)
        self.timeline = history_from is not None
        """A timeline population: events spread over [history_from, as_of], statutes change per quarter,
        vehicles are sold and registered, tax assessments arrive on a day (see :func:`generate`)."""
        self.window = (history_from, as_of) if history_from is not None else (earliest - timedelta(days=183), as_of)
        self.stable_before = self.window[0] - _ONE
        self.lag_start = as_of - timedelta(days=_EXTRACT_LAG_DAYS - 1)
        self.income_years = (self.dates.onderwijskorting.year - 2, self.dates.onderwijskorting.year - 1)
        self.school_year = school_year_of(self.dates.onderwijskorting)
        prev = self.dates.onderwijskorting.year - 1
        self.previous_school_year = f"{prev}-{prev + 1}"
        self.serials: dict[int, int] = {}
        self.slots = 499 // blocks  # serial numbers per birth date and sex that this block may use
        # running numbers, unique over all blocks: block * _IDS_PER_BLOCK + n
        self.households = 0
        self.articles = 0
        self.cards = 0
        self.vehicles = 0
        self.emails = 0
        self.hard: Counter[str] = Counter()
        self.poor_persons = 0
        # plates: an affine permutation of all "1ABC123"/"2ABC123" plates, so they are unique and look random
        self.plate_space = 2 * 26**3 * 1000
        self.plate_step = 7_654_321  # coprime with 2^7 * 5^3 * 13^3
        self.plate_offset = random.Random(f"proactief-population:{seed}:plates").randrange(self.plate_space)
        self.ghent_postcodes = list(places.GHENT_POSTCODES)
        self.ghent_weights = [w for _, w in places.GHENT_POSTCODES.values()]

    # -- small helpers --------------------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def day_between(self, lo: date, hi: date) -> date:
        if hi <= lo:
            return lo
        return date.fromordinal(self.rng.randint(lo.toordinal(), hi.toordinal()))

    def event_day(self, recent_share: float = 0.0) -> date:
        """A day in the window around the reference dates; ``recent_share`` of them in the extract's lag."""
        if recent_share and self.chance(recent_share):
            return self.day_between(self.lag_start, self.as_of)
        return self.day_between(*self.window)

    def birth(self, age: int) -> date:
        age = max(0, age)
        latest = self.as_of_ord - age * 365 - age // 4
        return date.fromordinal(latest - self.rng.randint(0, 364))

    def insz(self, birth: date, male: bool) -> tuple[str, date]:
        """A unique MAGDA test INSZ (month + 60) with valid check digits; may shift a full birth day."""
        while True:
            key = (birth.year % 100) * 10000 + (birth.month + 60) * 100 + birth.day
            slot = key * 2 + (1 if male else 0)
            n = self.serials.get(slot, 0)
            if n < self.slots:
                break
            birth += _ONE
        self.serials[slot] = n + 1
        index = n * self.blocks + self.block  # interleaved, so blocks never share a serial
        serial = 2 * index + 1 if male else 2 * index + 2
        base = key * 1000 + serial
        check = 97 - ((2_000_000_000 + base) if birth.year >= 2000 else base) % 97
        return validate_insz(f"{base:09d}{check:02d}"), birth

    def person(self, age: int, gender: str | None = None, last_name: str | None = None,
               bis: bool = False) -> LatentPerson:
        rng = self.rng
        gender = gender or ("M" if rng.random() < 0.49 else "F")
        insz, born = self.insz(self.birth(age), gender == "M")
        names = places.FIRST_NAMES_M if gender == "M" else places.FIRST_NAMES_F
        first: tuple[str, ...] = (rng.choice(names),)
        if rng.random() < 0.3:
            first += (rng.choice(names),)
        return LatentPerson(insz, born, gender, last_name or rng.choice(places.LAST_NAMES), first, bis=bis)

    def address(self, postcode: str, on: date | None = None) -> Address:
        rng = self.rng
        municipality, nis = places.nis_for(postcode, on or self.as_of)
        box = rng.choice(("1", "2", "3", "A", "B", "0101", "0202")) if rng.random() < 0.18 else None
        return Address(rng.choice(places.STREETS[postcode]), str(rng.randint(1, 260)), postcode, municipality, nis,
                       box)

    def ghent_address(self) -> Address:
        return self.address(self.rng.choices(self.ghent_postcodes, self.ghent_weights)[0])

    def outside_address(self, near_share: float, on: date | None = None) -> Address:
        pool = list(places.NEAR_GHENT) if self.chance(near_share) else list(places.ELSEWHERE)
        return self.address(self.rng.choice(pool), on)

    def household(self, addresses: list[tuple[Span, Address]]) -> _Household:
        self.households += 1
        return _Household(f"H{self.id_base + self.households:09d}", addresses)

    # -- composition ----------------------------------------------------------------------------------------
    def compose(self) -> tuple[str, list[tuple[LatentPerson, str]]]:
        """Who lives together: the household type and (person, position) with 01 first."""
        rng = self.rng
        kind = rng.choices([t for t, _ in _TYPES], [w for _, w in _TYPES])[0]
        if kind == "single":
            return self.compose_single()
        if kind == "couple":
            r = rng.random()
            age = rng.randint(22, 40) if r < 0.35 else rng.randint(41, 62) if r < 0.6 else int(
                rng.triangular(60, 96, 63))
            ref = self.person(age)
            return kind, [(ref, "01"), (self.partner(ref, age), "02")]
        if kind in ("family", "single_parent"):
            age = rng.randint(27, 58) if kind == "family" else rng.randint(23, 56)
            ref = self.person(age)
            people = [(ref, "01")]
            if kind == "family":
                people.append((self.partner(ref, age), "02"))
                n = rng.choices((1, 2, 3, 4, 5, 6, 7), (40, 36, 14, 5.5, 2.5, 1.2, 0.8))[0]
            else:
                n = rng.choices((1, 2, 3, 4), (55, 32, 10, 3))[0]
            oldest = max(0, min(24, age - 19))
            youngest = min(oldest, max(0, age - 44))
            for _ in range(n):
                child = self.person(rng.randint(youngest, oldest),
                                    last_name=ref.last_name if rng.random() < 0.8 else None)
                people.append((child, "03" if rng.random() < 0.95 else "11"))
            if kind == "family" and n >= 3:
                kind = "large_family"
            return kind, people
        r = rng.random()
        if r < 0.35:  # three generations
            age = rng.randint(42, 60)
            ref = self.person(age)
            people = [(ref, "01"), (self.partner(ref, age), "02")]
            for _ in range(rng.randint(1, 2)):
                people.append((self.person(rng.randint(0, 22), last_name=ref.last_name), "03"))
            people.append((self.person(rng.randint(age + 20, min(age + 38, 100))), "05"))
            return "other", people
        if r < 0.65:  # flat share
            people = [(self.person(rng.randint(19, 32)), "01")]
            for _ in range(rng.randint(1, 3)):
                people.append((self.person(rng.randint(19, 32)), "16"))
            return "other", people
        if r < 0.85:  # couple with adult children
            age = rng.randint(46, 68)
            ref = self.person(age)
            people = [(ref, "01"), (self.partner(ref, age), "02")]
            for _ in range(rng.randint(1, 2)):
                people.append((self.person(rng.randint(18, 30), last_name=ref.last_name), "03"))
            return "other", people
        ref = self.person(rng.randint(25, 70))  # adult siblings
        return "other", [(ref, "01"), (self.person(max(18, self.age(ref) + rng.randint(-6, 6)),
                                                   last_name=ref.last_name), "07")]

    def compose_single(self) -> tuple[str, list[tuple[LatentPerson, str]]]:
        rng = self.rng
        r = rng.random()
        age = rng.randint(19, 34) if r < 0.40 else rng.randint(35, 59) if r < 0.69 else int(
            rng.triangular(60, 100, 63))
        return "single", [(self.person(age), "01")]

    def partner(self, ref: LatentPerson, age: int) -> LatentPerson:
        same = self.rng.random() < 0.04
        gender = ref.gender if same else ("F" if ref.gender == "M" else "M")
        return self.person(max(18, age + int(self.rng.gauss(-1, 4))), gender)

    def age(self, p: LatentPerson, on: date | None = None) -> int:
        on = on or self.as_of
        return on.year - p.birth.year - ((on.month, on.day) < (p.birth.month, p.birth.day))

    def since(self, people: list[LatentPerson]) -> date:
        """When a stable household started at its address: after its oldest adult turned 18, before the window."""
        oldest = min(p.birth for p in people)
        lo = max(date(1995, 1, 1), date(oldest.year + 18, 1, 1))
        hi = self.stable_before
        return self.day_between(lo, hi) if lo < hi else hi - timedelta(days=self.rng.randint(30, 700))

    # -- groups ---------------------------------------------------------------------------------------------
    def group(self) -> _Group:
        r = self.rng.random()
        if r < _P_BIS:
            return self.bis_group()
        kind, people = self.compose()
        adults = [p for p, _ in people if self.age(p) >= 18]
        since = self.since(adults or [people[0][0]])
        if r < _P_BIS + _P_NONRESIDENT:
            near = self.chance(0.85)
            home = self.household([(Span(since), self.outside_address(1.0 if near else 0.0))])
            self.hard["non_resident_90xx" if near else "non_resident_elsewhere"] += 1
            self.join_all(home, people, since)
            return _Group("nonresident", [p for p, _ in people], [home], main=home)
        group = _Group(kind, [p for p, _ in people], [])
        positions = [pos for _, pos in people]
        rng = self.rng
        if "02" in positions and rng.random() < 0.045:
            self.split(group, people, since)
        elif len(people) == 1 and rng.random() < 0.04:
            self.joined(group, people, since)
        elif any(self.age(p) >= 65 for p in adults) and rng.random() < 0.06 and self.death(group, people, since):
            pass  # death() built the household; it declines (returns False) when only children would remain
        else:
            r = rng.random()
            if r < 0.03:
                self.moved(group, people, since, "in")
            elif r < 0.055:
                self.moved(group, people, since, "out")
            elif r < 0.085:
                self.moved(group, people, since, "within")
            else:
                home = self.household([(Span(since), self.ghent_address())])
                self.join_all(home, people, since)
                group.households.append(home)
        group.main = group.main or group.households[0]
        return group

    def single_group(self) -> _Group:
        """One person living alone in Ghent (used to fill the last few places exactly)."""
        _, people = self.compose_single()
        since = self.since([people[0][0]])
        home = self.household([(Span(since), self.ghent_address())])
        self.join_all(home, people, since)
        return _Group("single", [people[0][0]], [home], main=home)

    def join_all(self, home: _Household, people: list[tuple[LatentPerson, str]], since: date,
                 end: date | None = None) -> None:
        for p, position in people:
            begin = max(since, p.birth)
            if end is None or begin <= end:
                home.members.append(_Member(p, position, Span(begin, end)))

    def moved(self, group: _Group, people: list[tuple[LatentPerson, str]], since: date, how: str) -> None:
        day = self.event_day(recent_share=0.15 if how == "out" else 0.0)
        since = min(since, day - timedelta(days=400))
        if how == "in":
            before, after = self.outside_address(0.5, day - _ONE), self.ghent_address()
            self.hard["moved_into_ghent"] += 1
        elif how == "out":
            before, after = self.ghent_address(), self.outside_address(0.65)
            self.hard["moved_out_of_ghent"] += 1
            if after.postcode in places.NEAR_GHENT:
                self.hard["moved_out_to_90xx"] += 1
        else:
            before, after = self.ghent_address(), self.ghent_address()
            self.hard["moved_within_ghent"] += 1
        home = self.household([(Span(since, day - _ONE), before), (Span(day), after)])
        self.join_all(home, people, since)
        group.households.append(home)

    def split(self, group: _Group, people: list[tuple[LatentPerson, str]], since: date) -> None:
        """The partner leaves on day s (with some or all children) and starts a household of their own."""
        day = self.event_day()
        since = min(since, day - timedelta(days=400))
        first = self.household([(Span(since), self.ghent_address())])
        r = self.rng.random()
        new_address = self.ghent_address() if r < 0.7 else self.outside_address(0.7)
        second = self.household([(Span(day), new_address)])
        kids_go = self.rng.random() < 0.5
        for p, position in people:
            begin = max(since, p.birth)
            leaves = position == "02" or (position in ("03", "11") and kids_go)
            if not leaves:
                first.members.append(_Member(p, position, Span(begin)))
                continue
            if begin <= day - _ONE:
                first.members.append(_Member(p, position, Span(begin, day - _ONE)))
            second.members.append(_Member(p, "01" if position == "02" else "03", Span(max(day, p.birth))))
        group.households += [first, second]
        group.main = first
        group.leaver = next(p for p, pos in people if pos == "02")
        self.hard["household_split"] += 1

    def joined(self, group: _Group, people: list[tuple[LatentPerson, str]], since: date) -> None:
        """A partner who lived alone elsewhere moves in on day j."""
        day = self.event_day()
        ref = people[0][0]
        since = min(since, day - timedelta(days=400))
        newcomer = self.partner(ref, self.age(ref))
        group.persons.append(newcomer)
        r = self.rng.random()
        old_address = self.ghent_address() if r < 0.7 else self.outside_address(0.7, day - _ONE)
        before = self.household([(Span(self.since([newcomer]), day - _ONE), old_address)])
        before.members.append(_Member(newcomer, "01", Span(max(before.addresses[0][0].begin, newcomer.birth),
                                                            day - _ONE)))
        home = self.household([(Span(since), self.ghent_address())])
        home.members.append(_Member(ref, "01", Span(max(since, ref.birth))))
        home.members.append(_Member(newcomer, "02", Span(day)))
        group.households += [before, home]
        group.main = home
        self.hard["household_join"] += 1

    def death(self, group: _Group, people: list[tuple[LatentPerson, str]], since: date) -> bool:
        """An older member dies on day x; a reference person's partner (or oldest adult) succeeds as 01."""
        elderly = [(p, pos) for p, pos in people if self.age(p) >= 65]
        deceased, position = self.rng.choice(elderly)
        others = [(p, pos) for p, pos in people if p is not deceased and self.age(p) >= 18]
        if position == "01" and not others and len(people) > 1:
            return False
        day = self.event_day(recent_share=0.15)
        since = min(since, day - timedelta(days=400))
        home = self.household([(Span(since), self.ghent_address())])
        successor = None
        if position == "01" and others:
            successor = next((p for p, pos in others if pos == "02"), min(others, key=lambda x: x[0].birth)[0])
        for p, pos in people:
            begin = max(since, p.birth)
            if p is deceased:
                home.members.append(_Member(p, pos, Span(begin, day)))
            elif p is successor:
                if begin <= day - _ONE:
                    home.members.append(_Member(p, pos, Span(begin, day - _ONE)))
                home.members.append(_Member(p, "01", Span(max(day, begin))))
            else:
                home.members.append(_Member(p, pos, Span(begin)))
        deceased.death = day
        group.households.append(home)
        group.main = home
        group.successor = successor
        self.hard["died_in_period"] += 1
        if successor is not None:
            self.hard["reference_person_died"] += 1
        return True

    def bis_group(self) -> _Group:
        """Persons only in the KSZ bis register: a contact address in Ghent, no main residence, no household."""
        rng = self.rng
        adult = self.person(rng.randint(19, 55), bis=True)
        persons = [adult]
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 3)):
                persons.append(self.person(rng.randint(0, 16), last_name=adult.last_name, bis=True))
        contact = self.ghent_address()
        for p in persons:
            p.contact = contact
        self.hard["bis_contact_only"] += len(persons)
        return _Group("bis", persons, [])

    # -- the person facts -----------------------------------------------------------------------------------
    def finish(self, group: _Group) -> LatentPopulation:
        """Memberships → residences; then income, statutes, cards, vehicles, city data, enrolments, e-mail."""
        pop = LatentPopulation()
        for p in group.persons:
            pop.add_person(p)
        for h in group.households:
            for m in h.members:
                pop.add_membership(Membership(h.hid, m.person.insz, m.position, m.span))
                for a_span, address in h.addresses:
                    shared = a_span.intersect(m.span)
                    if shared is not None:
                        m.person.residences.append(Residence(shared, address))
        for p in group.persons:
            if p.birth > self.window[0]:
                self.hard["born_in_period"] += 1
            p.residences = _merge_residences(p.residences)
            if p.death is not None and p.residences:
                last = p.residences[-1]
                p.residences[-1] = Residence(Span(last.span.begin), last.address)  # the register keeps it open
        self.economics(group, pop)
        for p in group.persons:
            self.cards_of(p, group)
            self.vehicles_of(p, group)
            self.city_data(p, group)
            self.enrolments_of(p, group)
            self.email_of(p)
        self.lez_cases(group, pop)
        return pop

    def economics(self, group: _Group, pop: LatentPopulation) -> None:
        rng = self.rng
        group.poor = self.chance(_POOR[group.kind])
        alive = [p for p in group.persons if p.death is None]
        n_young = sum(1 for p in alive if self.age(p) < 14)
        scale = 1 + 0.5 * (len(alive) - n_young - 1) + 0.3 * n_young if alive else 1
        if group.poor:
            self.poor_persons += len(group.persons)
        adults = [p for p in group.persons if self.age(p, date(self.income_years[1], 12, 31)) >= 18]
        incomes = {p.insz: self.income(p) for p in adults}
        total = sum(incomes.values())
        if group.poor:
            target = int(_POVERTY_LINE_CENT * rng.uniform(0.3, 0.97) * scale)
            incomes = {k: int(target * v / total) for k, v in incomes.items()} if total else incomes
            if not total and adults:
                incomes[adults[0].insz] = target
        elif total < _POVERTY_LINE_CENT * scale and total:
            factor = _POVERTY_LINE_CENT * scale * rng.uniform(1.05, 1.6) / total
            incomes = {k: int(v * factor) for k, v in incomes.items()}
        elif not total and adults:
            incomes[adults[0].insz] = int(_POVERTY_LINE_CENT * scale * rng.uniform(1.05, 1.6))
        self.assessments(group, adults, incomes)
        self.statutes(group, pop)

    def income(self, p: LatentPerson) -> int:
        """One adult's yearly taxable income in cent (0 for a student without a job)."""
        rng = self.rng
        age = self.age(p)
        if age < 25 and rng.random() < 0.55:
            return 0
        median = 19_000 if age < 25 else 36_000 if age < 65 else 23_000
        if age < 65 and rng.random() < 0.12:
            median = 16_000  # unemployment, sickness
        return int(median * rng.lognormvariate(0, 0.45) * 100)

    def assessments(self, group: _Group, adults: list[LatentPerson], incomes: dict[str, int]) -> None:
        """Joint assessments for married partners, own ones otherwise; the latest year sometimes not yet there."""
        rng = self.rng
        by_insz = {p.insz: p for p in adults}
        partners: list[tuple[LatentPerson, LatentPerson]] = []
        for h in group.households:
            ref = next((m.person for m in h.members if m.position == "01" and m.person.insz in by_insz), None)
            partner = next((m.person for m in h.members if m.position == "02" and m.person.insz in by_insz), None)
            if ref is not None and partner is not None and (ref, partner) not in partners:
                partners.append((ref, partner))
        units: list[tuple[LatentPerson, LatentPerson | None]] = []
        paired: set[str] = set()
        for ref, partner in partners:
            if rng.random() < 0.7 and ref.insz not in paired and partner.insz not in paired:
                units.append((ref, partner))
                paired.update((ref.insz, partner.insz))
        for p in adults:
            if p.insz not in paired:
                units.append((p, None))
        for titular, partner in units:
            a = incomes.get(titular.insz, 0)
            b = incomes.get(partner.insz, 0) if partner is not None else None
            if partner is None and a == 0:
                self.hard["adult_without_assessment"] += 1
                continue  # a student without income files no return
            if rng.random() < 0.03:
                self.hard["adult_without_assessment"] += 1
                continue  # newcomer: no Belgian assessment yet
            latest_missing = rng.random() < 0.3
            if latest_missing:
                self.hard["tax_latest_year_missing"] += 1
            if partner is not None:
                self.hard["joint_assessment"] += 1
            for year in self.income_years:
                if year == self.income_years[1] and latest_missing:
                    continue
                shrink = rng.uniform(0.9, 1.0) if year == self.income_years[0] else 1.0
                self.articles += 1
                article = f"{700_000_000 + self.id_base + self.articles:09d}"
                arrives = None
                if self.timeline:  # FOD Financiën assesses an income year between May and December after it
                    arrives = self.day_between(date(year + 1, 5, 1), date(year + 1, 12, 31))
                    if arrives <= self.window[0]:
                        arrives = None
                    else:
                        self.hard["tax_assessment_arrives_in_period"] += 1
                assessment = Assessment(year, article, titular.insz, int(a * shrink),
                                        partner.insz if partner is not None else None,
                                        int(b * shrink) if b is not None else None, arrives)
                titular.assessments.append(assessment)
                if partner is not None:
                    partner.assessments.append(assessment)

    def statute_span(self, holder: LatentPerson, start_share: float = 0.1, end_share: float = 0.1) -> list[Span]:
        """Periods of a statute: usually long-running; some start or end inside the window, a few have a gap."""
        rng = self.rng
        earliest = max(date(2008, 1, 1), date(holder.birth.year + 1, 1, 1))
        if self.timeline:
            return self.quarterly_statute_span(earliest, start_share, end_share)
        if rng.random() < start_share:
            begin = self.event_day()
            self.hard["statute_starts_in_period"] += 1
        else:
            begin = self.day_between(earliest, self.window[0])
        if rng.random() < end_share:
            end = self.day_between(max(begin, self.window[0]), self.as_of)
            self.hard["statute_ends_in_period"] += 1
            return [Span(begin, end)]
        if rng.random() < 0.04 and begin < self.window[0]:
            gap_start = self.event_day()
            gap_end = gap_start + timedelta(days=rng.randint(30, 150))
            self.hard["statute_with_gap"] += 1
            return [Span(begin, gap_start - _ONE), Span(gap_end + _ONE)]
        return [Span(begin)]

    def quarter_start(self, after: date) -> date | None:
        """A random first day of a quarter in (``after``, as_of], or None: KSZ lists change per quarter."""
        lo = max(after + _ONE, self.window[0])
        firsts = [date(y, m, 1) for y in range(lo.year, self.as_of.year + 1) for m in (1, 4, 7, 10)
                  if lo <= date(y, m, 1) <= self.as_of]
        return self.rng.choice(firsts) if firsts else None

    def quarterly_statute_span(self, earliest: date, start_share: float, end_share: float) -> list[Span]:
        """A timeline's statute: it starts and ends on quarter boundaries inside the window (KSZ's quarterly
        lists), a gap is one or two quarters long."""
        rng = self.rng
        begin = None
        if rng.random() < start_share:
            begin = self.quarter_start(self.window[0] - _ONE)
            if begin is not None:
                self.hard["statute_starts_in_period"] += 1
        if begin is None:
            begin = self.day_between(earliest, self.window[0] - _ONE)
        if rng.random() < end_share:
            nxt = self.quarter_start(begin)
            if nxt is not None:
                self.hard["statute_ends_in_period"] += 1
                return [Span(begin, nxt - _ONE)]
        if rng.random() < 0.04 and begin < self.window[0]:
            gap = self.quarter_start(begin)
            if gap is not None:
                months = gap.year * 12 + gap.month - 1 + 3 * rng.randint(1, 2)
                back = date(months // 12, months % 12 + 1, 1)
                self.hard["statute_with_gap"] += 1
                return [Span(begin, gap - _ONE), Span(back)]
        return [Span(begin)]

    def statutes(self, group: _Group, pop: LatentPopulation) -> None:
        """Leefloon for some poor households, VT (BIM_BVT) for most poor and some others, then IN_FAMILY."""
        rng = self.rng
        if group.kind == "bis":
            adult = group.persons[0]
            if group.poor and rng.random() < 0.4:  # equivalent help from the OCMW, which brings VT
                spans = self.statute_span(adult)
                for s in spans:
                    adult.add_statute("LIVING_WAGES_PCSA_HELP", s)
                    adult.add_statute("BIM_BVT", s)
                adult.leefloon = self.payments(spans, _LEEFLOON["family" if len(group.persons) > 1 else "single"])
            elif rng.random() < 0.15:
                for s in self.statute_span(adult):
                    adult.add_statute("BIM_BVT", s)
            return
        assert group.main is not None
        members = group.main.members
        ref = next((m.person for m in members if m.position == "01"), group.persons[0])
        partner = next((m.person for m in members if m.position == "02"), None)
        elder = next((m.person for m in members if m.position == "05"), None)
        working_age = [p for p in group.persons if p.death is None and 18 <= self.age(p) < 67]
        has_kids = any(self.age(p) < 18 for p in group.persons)
        leefloon: list[LatentPerson] = []
        if group.poor and working_age and rng.random() < 0.57:
            leefloon.append(ref if ref in working_age else working_age[0])
            if partner is not None and partner in working_age and partner not in leefloon and rng.random() < 0.25:
                leefloon.append(partner)
        for p in leefloon:
            spans = self.statute_span(p, start_share=0.1, end_share=0.12)
            for s in spans:
                p.add_statute("LIVING_WAGES_PCSA_HELP", s)
            category = "family" if has_kids and p is ref else "cohabitant" if len(members) > 1 else "single"
            p.leefloon = self.payments(spans, _LEEFLOON[category])
        elderly = any(self.age(p) >= 65 for p in group.persons)
        vt = bool(leefloon) or self.chance(0.85 if group.poor else 0.24 if elderly else 0.075)
        if vt:
            holder, extends = ref, True
            if elder is not None and not leefloon and rng.random() < 0.5:
                holder, extends = elder, False  # the grandparent's own VT does not cover the household
                self.hard["vt_holder_not_reference_person"] += 1
            if leefloon:  # leefloon brings VT with it, for as long as it runs (and often longer)
                first_leefloon = min(s.begin for p in leefloon for s in p.statutes["LIVING_WAGES_PCSA_HELP"])
                vt_begin = min(first_leefloon, self.day_between(date(2008, 1, 1), first_leefloon))
                if self.timeline and vt_begin >= self.window[0]:
                    vt_begin = first_leefloon  # inside the window only on a quarter's list
                spans = [Span(vt_begin)]
            else:
                spans = self.statute_span(holder)
            for s in spans:
                holder.add_statute("BIM_BVT", s)
            group.vt_holders.append((holder, extends))
            if extends and partner is not None and rng.random() < 0.3:
                for s in spans:
                    partner.add_statute("BIM_BVT", s)
                group.vt_holders.append((partner, True))
            if group.poor and not leefloon and rng.random() < 0.05:
                for s in self.statute_span(holder):
                    holder.add_statute("PCSA_AND_BIM_HELP", s)
            self.own_vt_after_event(group, holder)
        elif group.kind == "single_parent" and rng.random() < 0.08:
            for p in group.persons:
                if self.age(p) < 18:  # VT through the other parent, who lives elsewhere
                    p.add_statute("BIM_BVT_IN_FAMILY", Span(max(p.birth, date(2015, 1, 1))))
            self.hard["vt_in_family_without_holder"] += 1
        elif ref.death is None and 19 <= self.age(ref) <= 26 and rng.random() < 0.05:
            # a student with a household of their own, still a dependant of a parent with VT
            ref.add_statute("BIM_BVT_IN_FAMILY", Span(self.day_between(date(ref.birth.year + 18, 1, 1),
                                                                       self.window[0])))
            self.hard["reference_person_in_family_without_holder"] += 1
        if not vt and elder is not None and rng.random() < 0.35:
            for s in self.statute_span(elder):
                elder.add_statute("BIM_BVT", s)
            group.vt_holders.append((elder, False))
            self.hard["vt_holder_not_reference_person"] += 1
        self.in_family(group, pop)

    def own_vt_after_event(self, group: _Group, holder: LatentPerson) -> None:
        """A partner who left, or the survivor of the holder, gets VT of their own some weeks later (or not)."""
        rng = self.rng
        candidates: list[tuple[LatentPerson, date]] = []
        if group.leaver is not None and group.leaver is not holder and group.poor:
            split_day = next(m.span.begin for h in group.households for m in h.members
                             if m.person is group.leaver and m.position == "01")
            candidates.append((group.leaver, split_day))
        if group.successor is not None and holder.death is not None:
            candidates.append((group.successor, holder.death))
        for person, day in candidates:
            if "BIM_BVT" in person.statutes or rng.random() >= 0.6:
                continue
            begin = day + timedelta(days=rng.randint(15, 200))
            if self.timeline:  # the next quarter's list
                begin = date(begin.year + (begin.month + 2) // 12, (begin.month + 2) // 3 * 3 % 12 + 1, 1)
            if begin <= self.as_of:
                person.add_statute("BIM_BVT", Span(begin))
                group.vt_holders.append((person, True))
                self.hard["statute_starts_after_household_change"] += 1

    def in_family(self, group: _Group, pop: LatentPopulation) -> None:
        """BIM_BVT_IN_FAMILY: while sharing a household with a holder whose VT extends to the family."""
        for holder, extends in group.vt_holders:
            if not extends:
                continue
            holder_spans = holder.statutes.get("BIM_BVT", [])
            for mine in pop.memberships_of(holder.insz):
                for other in pop.members_of(mine.household_id):
                    if other.insz == holder.insz:
                        continue
                    shared = mine.span.intersect(other.span)
                    if shared is None:
                        continue
                    person = pop.persons[other.insz]
                    for s in holder_spans:
                        got = s.intersect(shared)
                        if got is not None:
                            for piece in _minus(got, person.statutes.get("BIM_BVT", [])):
                                person.add_statute("BIM_BVT_IN_FAMILY", piece)
        for p in group.persons:
            if "BIM_BVT_IN_FAMILY" in p.statutes:
                p.statutes["BIM_BVT_IN_FAMILY"] = _merge_spans(p.statutes["BIM_BVT_IN_FAMILY"])

    def payments(self, spans: list[Span], amount: str) -> list[tuple[str, str]]:
        """Monthly leefloon payments in last year and this year, for the months the statute covers."""
        out = []
        for year in (self.as_of.year - 1, self.as_of.year):
            for month in range(1, 13):
                first = date(year, month, 1)
                if first > self.as_of:
                    break
                if any(s.covers(first) or (s.begin.year == year and s.begin.month == month) for s in spans):
                    out.append((f"{year:04d}-{month:02d}", amount))
        return out

    def cards_of(self, p: LatentPerson, group: _Group) -> None:
        rng = self.rng
        age = self.age(p)
        base = 0.0025 if age < 18 else 0.01 if age < 65 else 0.045 if age < 80 else 0.125
        base *= 2.0 if group.vt_holders else 0.8
        if rng.random() < base:
            delivery = self.day_between(max(self.as_of - timedelta(days=3650), p.birth),
                                        self.as_of - timedelta(days=20))
            r = rng.random()
            if r < 0.35:
                end = None
                self.hard["parking_card_without_end"] += 1
            elif r < 0.45:
                end = self.event_day()
                self.hard["parking_card_expires_in_period"] += 1
            elif r < 0.47:
                end = self.dates.lez
                self.hard["parking_card_ends_on_lez_date"] += 1
            elif r < 0.49:
                end = self.dates.lez - _ONE
                self.hard["parking_card_ended_day_before_lez_date"] += 1
            else:
                end = delivery + timedelta(days=365 * rng.randint(3, 10))
            if end is not None and end < delivery:
                delivery = max(p.birth, end - timedelta(days=365 * 5))
            if end is not None and end < delivery:
                end = None
            if end is not None and end < self.window[0]:
                self.hard["parking_card_expired"] += 1
            if delivery > self.dates.ivago:
                self.hard["parking_card_delivered_in_period"] += 1
            p.cards.append(Card("PARKINGCARD", delivery, end, self.card_number()))
            if rng.random() < 0.4:
                p.cards.append(Card("REDUCTIONCARD", delivery, end, self.card_number()))
        elif rng.random() < base * 0.4:
            delivery = self.day_between(max(date(2005, 1, 1), p.birth), self.as_of - timedelta(days=20))
            p.cards.append(Card("REDUCTIONCARD", delivery, None, self.card_number()))
            self.hard["reduction_card_only"] += 1

    def card_number(self) -> str:
        self.cards += 1
        return f"{1_000_000_000 + self.id_base + self.cards:010d}"

    def plate(self) -> str:
        self.vehicles += 1
        idx = (self.plate_offset + (self.id_base + self.vehicles) * self.plate_step) % self.plate_space
        digit, rest = divmod(idx, 26**3 * 1000)
        letters, number = divmod(rest, 1000)
        a, rem = divmod(letters, 26 * 26)
        b, c = divmod(rem, 26)
        return f"{digit + 1}{chr(65 + a)}{chr(65 + b)}{chr(65 + c)}{number:03d}"

    def vehicle(self, p: LatentPerson, status: str = "REG") -> Vehicle:
        make, model, category, fuel, euro = self.rng.choice(places.VEHICLE_MODELS)
        plate = self.plate()
        first = self.day_between(max(date(2008, 1, 1), date(p.birth.year + 18, 1, 1)),
                                 self.as_of - timedelta(days=30))
        vin = f"WSY{self.id_base + self.vehicles:014d}"
        return Vehicle(plate, status, p.insz, vin, make, model, category, fuel, euro, first)

    def vehicles_of(self, p: LatentPerson, group: _Group) -> None:
        rng = self.rng
        age = self.age(p)
        if age < 18:
            return
        chance = 0.14 if age < 22 else 0.3 if age >= 80 else 0.49
        if group.poor:
            chance *= 0.45
        if p.bis:
            chance = 0.08
        if rng.random() >= chance:
            return
        for _ in range(2 if rng.random() < 0.09 else 1):
            r = rng.random()
            status = "REG" if r < 0.975 else "CAN" if r < 0.993 else "SUS"
            if p.death is not None and rng.random() < 0.5:
                status = "CAN"
            if status != "REG":
                self.hard["vehicle_not_registered"] += 1
            v = self.vehicle(p, status)
            if self.timeline and status == "REG":
                v = self.vehicle_history(v)
            p.vehicles.append(v)

    def vehicle_history(self, v: Vehicle) -> Vehicle:
        """A timeline's vehicle: some are registered during the window, some sold (cancelled) during it."""
        rng = self.rng
        if rng.random() < 0.08:
            v = replace(v, first_registration=self.day_between(self.window[0], self.as_of - timedelta(days=7)))
            self.hard["vehicle_registered_in_period"] += 1
        if rng.random() < 0.08:
            sold = self.day_between(max(v.first_registration + timedelta(days=7), self.window[0]), self.as_of)
            if sold > v.first_registration:
                v = replace(v, cancelled=sold)
                self.hard["vehicle_sold_in_period"] += 1
        return v

    def lez_cases(self, group: _Group, pop: LatentPopulation) -> None:
        """Count (and occasionally make) the LEZ shapes: own car, household car, no car, unregistered car."""
        d = self.dates.lez
        for p in group.persons:
            if not any(c.category == "PARKINGCARD" for c in p.cards):
                continue
            own = [v for v in p.vehicles if v.status == "REG"]
            if own:
                self.hard["lez_own_vehicle"] += 1
                continue
            if p.vehicles:
                self.hard["lez_only_unregistered_vehicle"] += 1
            current = membership_on(pop, p.insz, d)
            others = [pop.persons[m.insz] for m in pop.members_of(current.household_id)
                      if m.insz != p.insz and m.span.covers(d)] if current else []
            if any(v.status == "REG" for o in others for v in o.vehicles):
                self.hard["lez_household_vehicle"] += 1
            else:
                self.hard["lez_no_vehicle"] += 1

    def city_data(self, p: LatentPerson, group: _Group) -> None:
        rng = self.rng
        if self.age(p) < 18 or group.kind == "nonresident":
            return
        for kind, poor, other in (("budgetbeheer", 0.07, 0.002), ("schuldbemiddeling", 0.05, 0.005)):
            if rng.random() >= (poor if group.poor else other):
                continue
            begin = self.day_between(max(date(2019, 1, 1), date(p.birth.year + 18, 1, 1)),
                                     self.as_of - timedelta(days=10))
            r = rng.random()
            if r < 0.5:
                end = None
            elif r < 0.7:
                end = self.day_between(max(begin, self.window[0]), self.as_of)
                self.hard["ocmw_ends_in_period"] += 1
            else:
                end = begin + timedelta(days=rng.randint(180, 1500))
                if end < self.window[0]:
                    self.hard["ocmw_ended_before_period"] += 1
            p.city.append(CityPeriod(kind, Span(begin, end)))
            if not p.statutes:
                self.hard["ocmw_without_statute"] += 1

    def enrolments_of(self, p: LatentPerson, group: _Group) -> None:
        rng = self.rng
        d = self.dates.onderwijskorting
        if p.birth > d or (p.death is not None and p.death <= d):
            return
        age = self.age(p, d)
        if age > 18:
            return
        factor = 0.6 if group.kind == "nonresident" else 2.0 if group.kind == "bis" else 1.0
        found: list[tuple[tuple[str, str], str]] = []
        if age <= 2 and rng.random() < 0.15 * factor:
            found.append((rng.choice(places.CHILDCARE), "childcare"))
        elif 2 <= age <= 11:
            if rng.random() < 0.24 * factor:
                found.append((rng.choice(places.SCHOOLS), "school"))
            if rng.random() < 0.10 * factor:
                found.append((rng.choice(places.OUT_OF_SCHOOL_CARE), "childcare"))
        elif age >= 12 and rng.random() < 0.14 * factor:
            found.append((rng.choice(places.SECONDARY_SCHOOLS), "school"))
        for (iid, name), kind in found:
            if age >= 1 and rng.random() < 0.7:
                p.enrolments.append(Enrolment(iid, name, kind, self.previous_school_year))
            p.enrolments.append(Enrolment(iid, name, kind, self.school_year))
        if found:
            if group.kind == "nonresident":
                self.hard["enrolled_non_resident"] += 1
            elif group.kind == "bis":
                self.hard["enrolled_bis_child"] += 1
        elif age >= 2 and rng.random() < 0.04:
            (iid, name) = rng.choice(places.SCHOOLS)
            p.enrolments.append(Enrolment(iid, name, "school", self.previous_school_year))
            self.hard["enrolled_previous_year_only"] += 1

    def email_of(self, p: LatentPerson) -> None:
        if self.age(p) >= 18 and self.rng.random() < 0.4:
            self.emails += 1
            local = _ascii(f"{p.first_names[0]}.{p.last_name}")
            p.email = f"{local}.{self.id_base + self.emails}@example.org"

    # -- the city's extract ---------------------------------------------------------------------------------
    def resident_rows(self, group: _Group, pop: LatentPopulation,
                      on: date | None = None) -> list[tuple[LatentPerson, list[str]]]:
        """The group's rows in the city's extract of ``on`` (default as_of; which lags: recent deaths and
        departures still listed). Hard cases are counted for the as_of extract only."""
        return extract_rows(group.persons, pop, on or self.as_of, self.hard if on is None else None, seed=self.seed)


def extract_rows(persons: list[LatentPerson], pop: LatentPopulation, on: date,
                 hard: Counter[str] | None = None, *, seed: int = 0) -> list[tuple[LatentPerson, list[str]]]:
    """The rows of ``persons`` in the city's register extract of day ``on`` (the lag rules of residents.csv).

    The wijk is drawn on its own random stream (:func:`~.districts.district_of`): a household with a social statute
    lives more often in a poorer wijk. The name columns (first first name, last name) are the person's, drawn
    already: nothing else changes for them."""
    poor = any(p.statutes for p in persons)
    lag_start = on - timedelta(days=_EXTRACT_LAG_DAYS - 1)
    rows = []
    for p in persons:
        if p.birth > on:
            continue
        if p.bis:
            c = p.contact
            if c is not None and c.nis_code == places.GHENT_NIS:
                rows.append((p, [p.insz, "", "false", "", "contact", c.postcode, c.nis_code, "", p.email or "",
                                 c.line(), district_of(seed, p.insz, c.postcode, poor), *_name(p)]))
            continue
        if p.death is not None and p.death <= on:
            if p.death < lag_start:
                continue
            day, res, stale = p.death, _residence_on(p, p.death), "stale_extract_deceased"
        else:
            day, res, stale = on, _residence_on(p, on), ""
            if res is None or res.address.nis_code != places.GHENT_NIS:
                left = [r for r in p.residences if r.address.nis_code == places.GHENT_NIS
                        and r.span.end is not None and lag_start - _ONE <= r.span.end < on]
                if not left:
                    continue
                res = max(left, key=lambda r: r.span.begin)
                day, stale = res.span.end or on, "stale_extract_moved_out"
        if res is None or res.address.nis_code != places.GHENT_NIS:
            continue
        m = membership_on(pop, p.insz, day - _ONE if stale == "stale_extract_deceased" else day) or \
            membership_on(pop, p.insz, day)
        if m is None:
            continue
        if stale and hard is not None:
            hard[stale] += 1
        a = res.address
        rows.append((p, [p.insz, m.household_id, "true" if m.position == "01" else "false", m.position, "main",
                         a.postcode, a.nis_code, res.span.begin.isoformat(), p.email or "", a.line(),
                         district_of(seed, m.household_id, a.postcode, poor), *_name(p)]))
    return rows


def _name(p: LatentPerson) -> tuple[str, str]:
    """``first_name``, ``last_name`` of the extract: the first of the person's first names (the one a letter uses)."""
    return (p.first_names[0] if p.first_names else ""), p.last_name or ""


def _residence_on(p: LatentPerson, day: date) -> Residence | None:
    covering = [r for r in p.residences if r.span.covers(day)]
    return max(covering, key=lambda r: r.span.begin) if covering else None


def _merge_residences(items: list[Residence]) -> list[Residence]:
    """Sorted, with back-to-back periods at the same address joined (a position change is not a move)."""
    out: list[Residence] = []
    for r in sorted(items, key=lambda r: r.span.begin):
        if out and out[-1].address == r.address and out[-1].span.end is not None and \
                out[-1].span.end + _ONE >= r.span.begin:
            prev = out[-1]
            end = None if r.span.end is None else max(r.span.end, prev.span.end)  # type: ignore[type-var]
            out[-1] = Residence(Span(prev.span.begin, end), prev.address)
        else:
            out.append(r)
    return out


def _merge_spans(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: s.begin):
        if out and (out[-1].end is None or out[-1].end + _ONE >= s.begin):
            prev = out[-1]
            end = None if prev.end is None or s.end is None else max(prev.end, s.end)
            out[-1] = Span(prev.begin, end)
        else:
            out.append(s)
    return out


def _minus(span: Span, holes: list[Span]) -> list[Span]:
    """``span`` without the days covered by ``holes``."""
    pieces = [span]
    for hole in holes:
        nxt = []
        for piece in pieces:
            cut = piece.intersect(hole)
            if cut is None:
                nxt.append(piece)
                continue
            if piece.begin < cut.begin:
                nxt.append(Span(piece.begin, cut.begin - _ONE))
            if cut.end is not None and (piece.end is None or cut.end < piece.end):
                nxt.append(Span(cut.end + _ONE, piece.end))
        pieces = nxt
    return pieces


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == ".")


# ------------------------------------------------------------------------------------------------- generate


def generate(size: int = 270_000, seed: int = 0, *, out: Path | str, as_of: date | None = None,
             workers: int | None = None, history_from: date | None = None) -> GenerationSummary:
    """Write a synthetic Ghent of ``size`` persons into ``out`` (created if needed); same inputs, same bytes.

    The population is made in blocks of 10,000 persons, each from its own seeded random stream, written to part
    files and concatenated in block order, so ``workers`` (default: up to 2 processes) never changes the result.

    ``history_from`` makes the population a timeline over [history_from, as_of]: moves, deaths, births, splits
    and joins spread over that window, statutes that start and end on quarter boundaries, vehicles registered
    and sold (``cancelled``), tax assessments that arrive on a day (``available_from``). The city's files and
    ``expected/`` are still those of ``as_of``; :func:`proactief_sim.population.timeline.build_timeline` gives the
    extract and the expected decisions of any day. Without it, the output is exactly as before.
    """
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(f"size must be between 1 and {MAX_SIZE}")
    as_of = as_of or DEFAULT_AS_OF
    if history_from is not None and not history_from < as_of:
        raise ValueError("history_from must lie before as_of")
    out = Path(out)
    parts = out / ".parts"
    if parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    (out / "expected").mkdir(exist_ok=True)
    n_blocks = -(-size // _BLOCK)
    tasks = [_Task(seed, as_of, b, n_blocks, min(_BLOCK, size - b * _BLOCK), str(parts), history_from)
             for b in range(n_blocks)]
    workers = min(workers or min(2, os.cpu_count() or 1), n_blocks)
    if workers <= 1:
        results = [_run_block(t) for t in tasks]
    else:
        # Not "fork": the caller may be a test or task process with threads and after-fork hooks (a Celery
        # app's kombu pool once made every forked block worker hang on a dead broker socket).
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            results = list(pool.map(_run_block, tasks))
    headers: dict[str, tuple[str, ...] | None] = {
        "magda-population.jsonl": None, "residents.csv": RESIDENT_COLUMNS, "enrolments.csv": ENROLMENT_COLUMNS,
        "ocmw.csv": OCMW_COLUMNS, **{f"expected/{s}.csv": COLUMNS[s] for s in SCHEME_IDS}}
    for name, header in headers.items():
        with open(out / name, "wb") as target:
            if header is not None:
                target.write((",".join(header) + "\n").encode())
            for t in tasks:
                with open(parts / str(t.block) / name.replace("/", "__"), "rb") as part:
                    shutil.copyfileobj(part, target, 1 << 20)
    shutil.rmtree(parts)
    counts: Counter[str] = Counter()
    hard: Counter[str] = Counter()
    expected_counts: dict[str, Counter[str]] = {s: Counter() for s in SCHEME_IDS}
    for r in results:
        counts.update(r.counts)
        hard.update(r.hard)
        for scheme, c in r.expected.items():
            expected_counts[scheme].update(c)
    dates = reference_dates(as_of)
    summary = GenerationSummary(out, size, seed, as_of, dates, dict(sorted(counts.items())), dict(hard),
                                {s: dict(sorted(c.items())) for s, c in expected_counts.items()})
    with open(out / "expected" / "reference-dates.json", "w", encoding="utf-8") as fh:
        json.dump(dates.as_json(), fh, indent=2)
        fh.write("\n")
    with open(out / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(summary.as_json(), fh, indent=2)
        fh.write("\n")
    log.info("generated %d persons in %d blocks into %s", size, n_blocks, out)
    return summary


@dataclass(frozen=True, slots=True)
class _Task:
    seed: int
    as_of: date
    block: int
    blocks: int
    size: int
    parts: str
    history_from: date | None = None


@dataclass(slots=True)
class _BlockResult:
    counts: Counter[str]
    hard: Counter[str]
    expected: dict[str, Counter[str]]


def _run_block(task: _Task) -> _BlockResult:
    """Generate one block of persons into ``parts/<block>/`` (no headers); return its counts."""
    gen = _Generator(task.seed, task.as_of, task.block, task.blocks, task.history_from)
    dates = gen.dates
    folder = Path(task.parts) / str(task.block)
    folder.mkdir()
    counts: Counter[str] = Counter()
    expected_counts: dict[str, Counter[str]] = {s: Counter() for s in SCHEME_IDS}
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with ExitStack() as stack:
        def part(name: str) -> Any:
            return stack.enter_context(open(folder / name.replace("/", "__"), "w", encoding="utf-8", newline=""))

        store = part("magda-population.jsonl")
        residents = csv.writer(part("residents.csv"), lineterminator="\n")
        enrolments = csv.writer(part("enrolments.csv"), lineterminator="\n")
        ocmw = csv.writer(part("ocmw.csv"), lineterminator="\n")
        expected_writers = {s: csv.writer(part(f"expected/{s}.csv"), lineterminator="\n") for s in SCHEME_IDS}
        produced = 0
        write = store.write
        for group, pop in _block_groups(gen, task.size):
            produced += len(group.persons)
            for p in group.persons:
                write(dumps(store_record(p, pop)))
                write("\n")
            rows = gen.resident_rows(group, pop)
            for _, row in rows:
                residents.writerow(row)
            counts["residents.csv"] += len(rows)
            enrolled = []
            for p in group.persons:
                for e in p.enrolments:
                    enrolments.writerow([p.insz, e.institution_id, e.institution_name, e.kind, e.school_year])
                    if e.school_year == gen.school_year:
                        enrolled.append(p.insz)
                counts["enrolments.csv"] += len(p.enrolments)
                for c in p.city:
                    ocmw.writerow([p.insz, c.kind, c.span.begin.isoformat(),
                                   c.span.end.isoformat() if c.span.end else ""])
                counts["ocmw.csv"] += len(p.city)
            result = expectations(pop, dates, [(p.insz, row[2] == "true") for p, row in rows], enrolled)
            for scheme, items in result.items():
                writer = expected_writers[scheme]
                for item in items:
                    writer.writerow(item.row())
                _count(expected_counts[scheme], items)
    counts["magda-population.jsonl"] = produced
    counts.update({"households": gen.households, "vehicles": gen.vehicles, "social_cards": gen.cards,
                   "tax_assessments": gen.articles, "below_poverty_line_persons": gen.poor_persons})
    return _BlockResult(counts, gen.hard, expected_counts)


def _block_groups(gen: _Generator, size: int) -> Iterator[tuple[_Group, LatentPopulation]]:
    """The groups of one block, in order, each with its finished latent facts (exactly ``size`` persons)."""
    produced = 0
    while produced < size:
        group = gen.group() if size - produced >= _MAX_GROUP else gen.single_group()
        produced += len(group.persons)
        yield group, gen.finish(group)


def _count(counter: Counter[str], items: list[Expectation]) -> None:
    counter["rows"] += len(items)
    for item in items:
        counter[item.decision] += 1
        if item.tier:
            counter[f"tier:{item.tier}"] += 1
