"""A run for a D before the register's date decides as the register stood on D: IVAGO for 1 January on a Ghent
whose register (the simulator's clock) stands on the extract's day grants exactly the households the generator
expects for D, reading the history services only for the subjects whose outcome depends on them (issue 15)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from proactief.advice.compare import read_expected
from proactief.ledger.models import DecisionRow, GrantRow, MagdaConsultation
from proactief.lifecycle import run_in_process
from tests.lifecycle.worlds import World, city_ledger, generated_world

pytestmark = pytest.mark.integration

IVAGO = "ivago-tegemoetkoming"
HISTORY = ("Persoon.GeefHistoriekPersoon-02.02", "Persoon.GeefHistoriekGezinssamenstelling-02.02")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with generated_world(tmp_path_factory.mktemp("ghent-past"), 3000, 7, IVAGO) as w:
        as_of = dt.date.fromisoformat(json.loads((w.folder / "expected/reference-dates.json").read_text())["as_of"])
        w.sim.set_clock(as_of)  # the register as it stands on the extract's day, months after D
        yield w


@pytest.fixture
def ledger(pg_url: str, world: World) -> Iterator[Engine]:
    with city_ledger(pg_url, world.folder) as engine:
        yield engine


def test_ivago_for_a_past_january_grants_exactly_the_households_entitled_on_that_day(
        ledger: Engine, world: World) -> None:
    assert world.d < world.sim.clock(), "D lies before the register's date"
    expected = world.expected_eligible(IVAGO)
    rows = read_expected(world.folder / f"expected/{IVAGO}.csv")
    # One voucher per household on D, for its reference person on D: two subjects of today's extract (a couple
    # that split after D) share one household on D, hence one grant.
    households = {rows[i]["reference_person_insz"] or i for i in expected}
    report = run_in_process(ledger, IVAGO, world.d, world.magda(), external_id="past-d/1")
    assert report["status"] == "finished", report
    with ledger.connect() as conn:
        eligible = set(conn.scalars(select(DecisionRow.insz).where(DecisionRow.decision == "eligible")))
        granted = set(conn.scalars(select(GrantRow.insz).where(GrantRow.scheme_id == IVAGO)))
        history = dict(conn.execute(select(MagdaConsultation.service, func.count())
                                    .where(MagdaConsultation.service.in_(HISTORY))
                                    .group_by(MagdaConsultation.service)).tuples().all())
        consulted = conn.execute(select(func.count()).select_from(MagdaConsultation)).scalar_one()
    print(f"IVAGO D={world.d}: expected {len(expected)} subjects / {len(households)} households, eligible "
          f"{len(eligible)}, granted {len(granted)} (missing {len(households - granted)}, extra "
          f"{len(granted - households)}); history {history} of {consulted} consultations")
    assert eligible == expected
    assert granted == households
    # Proportional: the residence history only where today's residence began after D; the household history at
    # most once per subject (for the reference person's household, whose members may have left since D).
    selected = report["figures"]["selected"]
    assert 0 < history.get(HISTORY[0], 0) < selected // 4
    assert 0 < history.get(HISTORY[1], 0) <= selected
