"""The synthetic Ghent as a timeline: dated events over a window, the extract of any day, the truth per period."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from test_population_expected import card, member, person, statute, tax

from proactief_sim.population import generate
from proactief_sim.population.expected import expect_lez, expect_onderwijskorting, expected_for_run
from proactief_sim.population.model import LatentPopulation, Vehicle
from proactief_sim.population.timeline import Timeline, build_timeline
from proactief_sim.simulator.population import person_from_json

FROM, AS_OF = date(2026, 1, 1), date(2027, 1, 31)
SIZE, SEED = 6_000, 4


@pytest.fixture(scope="module")
def timeline_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Timeline]:
    out = tmp_path_factory.mktemp("timeline")
    generate(SIZE, SEED, out=out, as_of=AS_OF, history_from=FROM, workers=1)
    return out, build_timeline(SIZE, SEED, as_of=AS_OF, history_from=FROM)


def _months(days: list[date]) -> set[tuple[int, int]]:
    return {(d.year, d.month) for d in days}


def test_without_history_from_the_output_is_unchanged(tmp_path: Path) -> None:
    """The timeline options are off by default: the same bytes as a generation without them."""
    generate(1_500, 9, out=tmp_path / "a", workers=1)
    generate(1_500, 9, out=tmp_path / "b", workers=1, history_from=None)
    for name in ("magda-population.jsonl", "residents.csv", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert "available_from" not in (tmp_path / "a" / "magda-population.jsonl").read_text()
    assert '"cancelled"' not in (tmp_path / "a" / "magda-population.jsonl").read_text()


def test_timeline_in_memory_is_the_generated_population(timeline_files: tuple[Path, Timeline]) -> None:
    out, tl = timeline_files
    again = tl.write_store(out / "again.jsonl")
    assert again.read_bytes() == (out / "magda-population.jsonl").read_bytes()
    with open(out / "residents.csv", encoding="utf-8") as fh:
        assert list(csv.reader(fh))[1:] == tl.residents_on(AS_OF)
    for line in (out / "magda-population.jsonl").read_text().splitlines():
        person_from_json(json.loads(line))  # the simulator's store reads every line


def test_events_are_dated_and_spread_over_the_window(timeline_files: tuple[Path, Timeline]) -> None:
    _, tl = timeline_files
    persons = list(tl.population.persons.values())
    deaths = [p.death for p in persons if p.death is not None and FROM <= p.death <= AS_OF]
    births = [p.birth for p in persons if FROM <= p.birth <= AS_OF]
    moves = [r.span.begin for p in persons for r in p.residences[1:] if FROM <= r.span.begin <= AS_OF]
    splits_joins = [m.span.begin for m in tl.population.memberships if FROM < m.span.begin <= AS_OF]
    sold = [v.cancelled for p in persons for v in p.vehicles if v.cancelled is not None]
    registered = [v.first_registration for p in persons for v in p.vehicles if v.first_registration >= FROM]
    arrivals = [a.available_from for p in persons for a in p.assessments if a.available_from is not None]
    cards = [c.end for p in persons for c in p.cards if c.end is not None and FROM <= c.end <= AS_OF]
    for name, days, months in (("deaths", deaths, 8), ("births", births, 8), ("moves", moves, 10),
                               ("household changes", splits_joins, 10), ("sold", sold, 8),
                               ("registered", registered, 8), ("cards ending", cards, 4)):
        assert len(_months(days)) >= months, name
    assert all(FROM <= d <= AS_OF for d in sold + registered)
    assert all(date(a.year, 5, 1) <= a <= date(a.year, 12, 31) and a > FROM for a in arrivals) and arrivals
    # KSZ lists change per quarter: statutes start on a quarter's first day and end on its last inside the window
    starts = [s.begin for p in persons for spans in p.statutes.values() for s in spans
              if FROM < s.begin <= AS_OF and p.death is None]
    ends = [s.end for p in persons for spans in p.statutes.values() for s in spans
            if s.end is not None and FROM <= s.end <= AS_OF]
    assert starts and ends
    in_family = {s.begin for p in persons for s in p.statutes.get("BIM_BVT_IN_FAMILY", ())}  # follows memberships
    assert all(d.day == 1 and d.month in (1, 4, 7, 10) for d in starts if d not in in_family)
    assert all((d + timedelta(days=1)).day == 1 and (d + timedelta(days=1)).month in (1, 4, 7, 10) for d in ends
               if not any(d == m.span.end for m in tl.population.memberships))
    store = (timeline_files[0] / "magda-population.jsonl").read_text()
    assert '"cancelled":"2026-' in store and '"available_from":"2026-' in store


def test_extract_of_a_day_keeps_the_lag_rules(timeline_files: tuple[Path, Timeline]) -> None:
    """A person who died (or left Ghent) on X is listed until X + 29 days, then no more; a newborn from birth."""
    _, tl = timeline_files
    died = [p for p in tl.population.persons.values() if p.death is not None and FROM < p.death <= AS_OF - timedelta(
        days=40) and any(r.address.nis_code == "44021" for r in p.residences) and not p.bis]
    assert died
    for p in died[:10]:
        listed = lambda day, p=p: any(r[0] == p.insz for r in tl.residents_on(day))  # noqa: E731
        if not listed(p.death - timedelta(days=1)):
            continue
        assert listed(p.death) and listed(p.death + timedelta(days=29))
        assert not listed(p.death + timedelta(days=30))
    born = [p for p in tl.population.persons.values() if FROM < p.birth <= AS_OF and not p.bis
            and any(r[0] == p.insz for r in tl.residents_on(AS_OF))]
    assert born
    for p in born[:10]:
        assert not any(r[0] == p.insz for r in tl.residents_on(p.birth - timedelta(days=1)))
    assert tl.change_days and min(tl.change_days) > FROM


def test_expected_per_period_follows_the_timeline(timeline_files: tuple[Path, Timeline]) -> None:
    _, tl = timeline_files
    uitpas = {d: {e.subject_insz for e in tl.expected("uitpas-kansentarief", d) if e.eligible}
              for d in (date(2026, m, 1) for m in range(1, 13))}
    assert all(uitpas.values())
    changed = Counter(len(uitpas[date(2026, m + 1, 1)] ^ uitpas[date(2026, m, 1)]) > 0 for m in range(1, 12))
    assert changed[True] >= 6  # eligibility changes during the year, month by month
    lez = [tl.expected("lez-vrijstelling", date(2026, 1, 5) + timedelta(weeks=w)) for w in range(0, 56, 8)]
    assert all(lez) and len({frozenset((e.subject_insz, e.plate) for e in w if e.eligible) for w in lez}) > 1


def test_a_sold_vehicle_and_a_late_assessment_count_from_their_day() -> None:
    pop = LatentPopulation()
    q = person(pop)
    member(pop, q, "H1", "01")
    card(q, end=None)
    statute(q, "BIM_BVT")
    q.vehicles.append(Vehicle("1AAA001", "REG", q.insz, "VIN", "VW", "Golf", "M1", "10", "6", date(2020, 1, 1),
                              cancelled=date(2026, 6, 10)))
    q.vehicles.append(Vehicle("1BBB002", "REG", q.insz, "VIN", "VW", "Polo", "M1", "10", "6", date(2026, 6, 1)))
    assert expect_lez(pop, q.insz, date(2026, 5, 25)).plate == "1AAA001"
    assert expect_lez(pop, q.insz, date(2026, 6, 8)).plate == "1AAA001"  # both registered: the lowest plate
    assert expect_lez(pop, q.insz, date(2026, 6, 15)).plate == "1BBB002"
    kid = person(pop, "2016-01-01")
    member(pop, kid, "H1", "03", begin="2016-01-01")
    tax(2025, q, 1_000_000, article="1")
    tax(2024, q, 3_000_000, article="2")
    late = q.assessments[0]
    q.assessments[0] = type(late)(late.income_year, late.article, late.titular, late.a7555,
                                  available_from=date(2026, 9, 15))
    assert expect_onderwijskorting(pop, kid.insz, date(2026, 9, 1)).household_income_cent == 3_000_000
    assert expect_onderwijskorting(pop, kid.insz, date(2027, 9, 1)).household_income_cent == 1_000_000
    rows = expected_for_run(pop, "onderwijskorting", date(2026, 9, 1), [], [kid.insz, kid.insz])
    assert [r.subject_insz for r in rows] == [kid.insz] and rows[0].tier == "inkomen-midden"
