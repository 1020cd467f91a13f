"""A household scheme run where the city's extract and MAGDA disagree about a household: MAGDA decides, the
household gets one voucher for its reference person, and the disagreement is counted (SCHEMES.md, issue 13).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from proactief.advice.compare import read_expected
from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import DecisionRow, DQResultRow, GrantRow, OutboxMessage, Resident
from proactief.lifecycle import import_city_data, run_in_process
from proactief.magda.config import MagdaConfig
from proactief.population import generate
from proactief.simulator.testing import RunningSimulator, running_simulator

pytestmark = pytest.mark.integration

IVAGO = "ivago-tegemoetkoming"


@dataclass
class World:
    folder: Path
    sim: RunningSimulator
    d: dt.date

    def magda(self) -> MagdaConfig:
        return MagdaConfig(base_url=self.sim.base_url, identificatie="gent.be/proactief", backoff_base=0.0,
                           backoff_cap=0.0)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("ghent")
    generate(1000, 11, out=folder)
    dates = json.loads((folder / "expected/reference-dates.json").read_text())
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=5) as sim:
        yield World(folder, sim, dt.date.fromisoformat(dates[IVAGO]))


@pytest.fixture
def ledger(pg_url: str, world: World) -> Iterator[Engine]:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    import_city_data(engine, world.folder)
    yield engine
    engine.dispose()


def test_a_member_the_extract_calls_a_reference_person_gets_no_second_voucher(ledger: Engine, world: World) -> None:
    expected = {i for i, r in read_expected(world.folder / f"expected/{IVAGO}.csv").items()
                if r["decision"] == "eligible"}
    with ledger.connect() as conn:
        homes = dict(conn.execute(select(Resident.insz, Resident.household_id)).tuples().all())
    by_home: dict[str | None, list[str]] = {}
    for insz, hid in homes.items():
        by_home.setdefault(hid, []).append(insz)
    head = next(r for r in sorted(expected) if len(by_home[homes[r]]) >= 3)
    member = next(m for m in sorted(by_home[homes[head]]) if m != head)
    # The extract is out of date: it has the member living alone, as its own household's reference person.
    with ledger.begin() as conn:
        conn.execute(update(Resident).where(Resident.insz == member)
                     .values(household_id="SPLIT-1", reference_person=True, position="01"))

    report = run_in_process(ledger, IVAGO, world.d, world.magda(), external_id="households/1",
                            subjects=[member, head])
    assert report["status"] == "finished" and all(report["dq"].values()), report["dq"]
    with ledger.connect() as conn:
        decisions = dict(conn.execute(select(DecisionRow.insz, DecisionRow.decision)).tuples().all())
        grants = conn.execute(select(GrantRow.insz, GrantRow.amount)).all()
        notices = conn.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "notify")).all()
        dq = conn.execute(select(DQResultRow.result).where(DQResultRow.step == "magda_results")).scalar_one()
        reasons = conn.execute(select(DecisionRow.reasons).where(DecisionRow.insz == member)).scalar_one()
    # Both were decided, for the same household (MAGDA's): one voucher for the reference person, one letter.
    assert decisions == {member: "eligible", head: "eligible"}
    assert "DECIDED_FOR_HOUSEHOLD" in reasons
    assert [g.insz for g in grants] == [head]
    assert len(notices) == 1
    # The extract and MAGDA disagree about both persons' households: counted, never failing the run.
    assert dq["statistics"]["household_disagreements"] == 2
    assert report["figures"]["household_disagreements"] == 2
    assert member not in json.dumps(dq) and member not in json.dumps(report)
