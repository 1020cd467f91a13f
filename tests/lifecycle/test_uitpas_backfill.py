"""A backfill of three past UiTPAS months decides what the runs on those days decided (issue 15, point 2).

A timeline Ghent (moves, deaths, statutes that start and end) is run twice for 1 September, 1 October and
1 November 2026: first on each day itself (the simulator's clock and the city's extract of that day), then as a
backfill on 1 December, when the register and the extract have moved on. The backfill decides each D as the
register stood on D (history services where today's answer cannot settle it), so every person both runs decided
gets the same decision, and that decision is the timeline's truth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import DecisionRow, GrantRow, MagdaConsultation, OutboxMessage, SchemeRun
from proactief.lifecycle import import_city_data, run_in_process
from proactief.magda.config import MagdaConfig
from proactief_sim.population.timeline import Timeline, build_timeline
from proactief_sim.simulator.testing import RunningSimulator, running_simulator

pytestmark = pytest.mark.integration

UITPAS = "uitpas-kansentarief"
MONTHS = (dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1))
TODAY = dt.date(2026, 12, 1)
HISTORY = ("Persoon.GeefHistoriekPersoon-02.02", "Persoon.GeefHistoriekGezinssamenstelling-02.02")


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    return build_timeline(1500, 23, as_of=TODAY, history_from=dt.date(2026, 6, 1))


@pytest.fixture(scope="module")
def sim(timeline: Timeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    store = timeline.write_store(tmp_path_factory.mktemp("uitpas-backfill") / "magda-population.jsonl")
    with running_simulator(population=str(store), repertorium_check=False, seed=5) as running:
        yield running


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    upgrade(pg_url)
    e = make_engine(pg_url)
    yield e
    e.dispose()


def _magda(sim: RunningSimulator) -> MagdaConfig:
    return MagdaConfig(base_url=sim.base_url, identificatie="gent.be/proactief", backoff_base=0.0, backoff_cap=0.0)


def _run_on(engine: Engine, sim: RunningSimulator, timeline: Timeline, folder: Path, d: dt.date, day: dt.date,
            external_id: str) -> dict[str, str]:
    """Run UiTPAS for ``d`` on ``day``: the register (clock) and the city's extract as they stand on ``day``."""
    sim.set_clock(day)
    import_city_data(engine, timeline.write_city(folder / day.isoformat(), day))
    report = run_in_process(engine, UITPAS, d, _magda(sim), external_id=external_id)
    assert report["status"] == "finished", report
    with engine.connect() as conn:
        return dict(conn.execute(select(DecisionRow.insz, DecisionRow.decision)
                                 .where(DecisionRow.run_id == report["run_id"])).tuples().all())


def test_a_backfill_of_three_past_uitpas_months_decides_what_the_runs_on_those_days_decided(
        engine: Engine, sim: RunningSimulator, timeline: Timeline, tmp_path: Path) -> None:
    on_the_day = {d: _run_on(engine, sim, timeline, tmp_path, d, d, f"on-the-day/{d}") for d in MONTHS}
    with engine.connect() as conn:
        grants_before = conn.execute(select(func.count()).select_from(GrantRow)).scalar_one()
        letters_before = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        history_before = conn.execute(select(func.count()).select_from(MagdaConsultation)
                                      .where(MagdaConsultation.service.in_(HISTORY))).scalar_one()
    assert history_before == 0, "a run on its own day reads no history"

    backfilled = {d: _run_on(engine, sim, timeline, tmp_path, d, TODAY, f"backfill__{d}") for d in MONTHS}

    for d in MONTHS:
        both = on_the_day[d].keys() & backfilled[d].keys()
        differ = sorted(i for i in both if on_the_day[d][i] != backfilled[d][i])
        print(f"UiTPAS D={d}: on the day {len(on_the_day[d])} subjects, backfill {len(backfilled[d])}, "
              f"both {len(both)}, eligible {sum(v == 'eligible' for v in backfilled[d].values())}, "
              f"different {len(differ)}")
        assert len(both) > 0.9 * len(on_the_day[d])
        assert not differ, f"{len(differ)} decisions for D={d} differ between the day itself and the backfill"
        # The backfill's subjects come from today's extract; each of its decisions is the timeline's truth for D.
        truth = {e.subject_insz: e.decision for e in timeline.expected(UITPAS, d, extract_day=TODAY)}
        wrong = sorted(i for i, v in backfilled[d].items() if truth.get(i) != v)
        assert not wrong, f"{len(wrong)} backfill decisions for D={d} are not the timeline's truth"
    with engine.connect() as conn:
        history = conn.execute(select(func.count()).select_from(MagdaConsultation)
                               .where(MagdaConsultation.service.in_(HISTORY))).scalar_one()
        grants = conn.execute(select(func.count()).select_from(GrantRow)).scalar_one()
        letters = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        runs = conn.execute(select(func.count()).select_from(SchemeRun)).scalar_one()
    assert runs == 6
    assert history > 0, "the backfill read the history where today's register could not settle D"
    # A backfill of periods already granted (one kansentarief per person and year) grants and writes nothing new,
    # except for persons who only the backfill found eligible (none here: the decisions are equal).
    assert (grants, letters) == (grants_before, letters_before)
