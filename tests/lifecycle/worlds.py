"""A generated Ghent served by a real simulator, and a migrated PostgreSQL ledger with its city data: the setting
of the lifecycle tests that run schemes in-process."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from proactief.advice.compare import read_expected
from proactief.ledger import make_engine, upgrade
from proactief.lifecycle import import_city_data
from proactief.magda.config import MagdaConfig
from proactief_sim.population import generate
from proactief_sim.simulator.testing import RunningSimulator, running_simulator


@dataclass
class World:
    folder: Path
    sim: RunningSimulator
    d: dt.date
    """The reference date the generator derived the expected entitlements for (of the scheme asked for)."""

    def magda(self) -> MagdaConfig:
        return MagdaConfig(base_url=self.sim.base_url, identificatie="gent.be/proactief", backoff_base=0.0,
                           backoff_cap=0.0)

    def expected_eligible(self, scheme_id: str) -> set[str]:
        rows = read_expected(self.folder / f"expected/{scheme_id}.csv")
        return {i for i, r in rows.items() if r["decision"] == "eligible"}


@contextmanager
def generated_world(folder: Path, size: int, seed: int, scheme_id: str) -> Iterator[World]:
    """``size`` persons generated with ``seed`` into ``folder``, served by the simulator (repertorium check off)."""
    generate(size, seed, out=folder)
    dates = json.loads((folder / "expected/reference-dates.json").read_text())
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=5) as sim:
        yield World(folder, sim, dt.date.fromisoformat(dates[scheme_id]))


@contextmanager
def city_ledger(pg_url: str, folder: Path) -> Iterator[Engine]:
    """The ledger at ``pg_url`` migrated, with the city's files of ``folder`` imported."""
    upgrade(pg_url)
    engine = make_engine(pg_url)
    import_city_data(engine, folder)
    try:
        yield engine
    finally:
        engine.dispose()
