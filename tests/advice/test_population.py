"""A whole synthetic Ghent (20,000 persons) through simulator + client + advice engine, against expected/*.csv.

The expected files are an independent implementation of SCHEMES.md on the generator's latent facts; matching
them checks the whole chain. Prints the confusion matrix per scheme (pytest -s to see them).

GeefPersoon-02.02 gives the *current* main residence and household (as the real service does; history is
GeefHistoriekPersoon). For a reference date in the past (IVAGO: 1 January; onderwijskorting: 1 September) a
subject who moved or whose household changed after D cannot be decided as on D from it. In the shared world
those subjects are counted apart ("changed after D") and all others must match exactly; a run on the scheme's own
reference date (a population generated as of D) must match exactly for everyone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from proactief.advice import Advice, Advisor, CityFiles
from proactief.advice.compare import Comparison, compare_with_expected, read_expected
from proactief.magda.audit import MemoryAuditSink
from proactief.schemes import Outcome, load_scheme
from proactief_sim.population import generate
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.advice.conftest import make_client

pytestmark = pytest.mark.integration

SIZE = 20_000
SCHEMES = ("uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting", "lez-vrijstelling")
PAST_D = ("ivago-tegemoetkoming", "onderwijskorting")


@dataclass
class World:
    folder: Path
    city: CityFiles
    dates: dict[str, str]
    sim: RunningSimulator


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("ghent")
    generate(SIZE, 0, out=folder)
    dates = json.loads((folder / "expected/reference-dates.json").read_text())
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=11) as sim:
        yield World(folder, CityFiles.load(folder), dates, sim)


def run(world: World, scheme_id: str) -> tuple[list[Advice], Comparison]:
    scheme = load_scheme(scheme_id)
    d = dt.date.fromisoformat(world.dates[scheme_id])
    with make_client(world.sim.base_url, MemoryAuditSink()) as client:
        advisor = Advisor(client, scheme, world.city)
        advices = list(advisor.advise_many(world.city.subjects(scheme, d), d))
    cmp = compare_with_expected(scheme_id, advices, read_expected(world.folder / f"expected/{scheme_id}.csv"))
    print(f"\n{cmp.render()}\n  calls: {dict(advisor.stats.calls)}")
    return advices, cmp


def changed_after(folder: Path, d: dt.date) -> set[str]:
    """Persons whose main residence or household changed after D (see the module docstring)."""
    out = set()
    with open(folder / "magda-population.jsonl", encoding="utf-8") as fh:
        for line in fh:
            p = json.loads(line)
            moved = any(dt.date.fromisoformat(r["begin"]) > d for r in p.get("residences") or ())
            split = any(m.get("end") for m in p.get("household") or ())
            if moved or split:
                out.add(p["insz"])
    return out


@pytest.fixture(scope="module")
def baseline(world: World) -> dict[str, tuple[list[Advice], Comparison]]:
    return {s: run(world, s) for s in SCHEMES}


@pytest.mark.parametrize("scheme_id", ["uitpas-kansentarief", "lez-vrijstelling"])
def test_exact_match(baseline: dict[str, tuple[list[Advice], Comparison]], scheme_id: str) -> None:
    advices, cmp = baseline[scheme_id]
    assert cmp.exact, f"{cmp.render()}\n{cmp.examples}"
    assert cmp.matrix[("eligible", "eligible")] > 0


@pytest.mark.parametrize("scheme_id", PAST_D)
def test_exact_match_where_the_simulator_can_answer_for_d(
    world: World, baseline: dict[str, tuple[list[Advice], Comparison]], scheme_id: str
) -> None:
    advices, _ = baseline[scheme_id]
    d = dt.date.fromisoformat(world.dates[scheme_id])
    changed = changed_after(world.folder, d)
    stable = [a for a in advices if a.subject not in changed]
    expected = read_expected(world.folder / f"expected/{scheme_id}.csv")
    cmp = compare_with_expected(scheme_id, stable, {k: v for k, v in expected.items() if k not in changed})
    print(f"\n{scheme_id}: {len(advices) - len(stable)} subjects changed after D set apart\n{cmp.render()}")
    assert cmp.exact, f"{cmp.render()}\n{cmp.examples}"
    assert not any(a.decision is Outcome.UNDETERMINED for a in advices)


@pytest.mark.parametrize("scheme_id", PAST_D)
def test_exact_match_when_run_on_its_reference_date(tmp_path: Path, scheme_id: str) -> None:
    """Production runs a scheme on its reference date (IVAGO 1 January, onderwijskorting 1 September), when
    GeefPersoon's current state *is* the state on D: then every subject must match exactly. (Backfilling a past
    period needs the history services; see the module docstring.)"""
    scheme = load_scheme(scheme_id)
    d = scheme.reference_date_for(dt.date(2026, 11, 1))
    generate(SIZE // 2, 5, out=tmp_path, as_of=d)
    dates = json.loads((tmp_path / "expected/reference-dates.json").read_text())
    assert dates[scheme_id] == d.isoformat()
    with running_simulator(population=str(tmp_path / "magda-population.jsonl"), repertorium_check=False) as sim:
        world = World(tmp_path, CityFiles.load(tmp_path), dates, sim)
        _, cmp = run(world, scheme_id)
    assert cmp.exact, f"{cmp.render()}\n{cmp.examples}"
    assert cmp.matrix[("eligible", "eligible")] > 0


def test_transient_faults_never_refuse(world: World, baseline: dict[str, tuple[list[Advice], Comparison]]) -> None:
    scheme_id = "uitpas-kansentarief"
    clean = {a.subject: a.decision for a in baseline[scheme_id][0]}
    world.sim.admin("PUT", "faults", {"rates": {"99996": 0.02, "60006": 0.02}, "seed": 3})
    try:
        # One attempt per question, so the injected faults survive retries and reach the rules.
        scheme = load_scheme(scheme_id)
        d = dt.date.fromisoformat(world.dates[scheme_id])
        with make_client(world.sim.base_url, MemoryAuditSink(), max_attempts=1) as client:
            faulty = list(Advisor(client, scheme, world.city).advise_many(world.city.subjects(scheme, d), d))
    finally:
        world.sim.admin("PUT", "faults", {"rates": {}})
    cmp = compare_with_expected(scheme_id, faulty, read_expected(world.folder / f"expected/{scheme_id}.csv"))
    print(f"\nwith 2% 99996 + 2% 60006, one attempt per question:\n{cmp.render()}")
    assert cmp.wrongly_refused() == 0
    changed = [a for a in faulty if a.decision is not clean[a.subject]]
    assert changed, "the faults should have hit someone"
    assert all(a.decision is Outcome.UNDETERMINED for a in changed)
    assert all("MAGDA_TRANSIENT" in a.reasons for a in changed)
    # Faults gone: the next run is exact again.
    _, again = run(world, scheme_id)
    assert again.exact


@pytest.mark.parametrize("scheme_id", SCHEMES)
def test_one_by_one_agrees_with_bulk(world: World, baseline: dict[str, tuple[list[Advice], Comparison]],
                                     scheme_id: str) -> None:
    """The staged single-call path and the list-service fast path decide alike (a sample, eligible ones first)."""
    advices = baseline[scheme_id][0]
    sample = [a for a in advices if a.eligible][:40] + [a for a in advices if not a.eligible][:40]
    scheme = load_scheme(scheme_id)
    d = dt.date.fromisoformat(world.dates[scheme_id])
    with make_client(world.sim.base_url, MemoryAuditSink()) as client:
        advisor = Advisor(client, scheme, world.city)
        for a in sample:
            one = advisor.advise_one(a.subject, d)
            assert (one.decision, one.tier, one.amount) == (a.decision, a.tier, a.amount), a
