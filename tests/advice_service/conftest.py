"""Fixtures for the advice service: one PostgreSQL ledger and one real simulator per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proactief.ledger import upgrade
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.e2e.harness import create_database, drop_database


@pytest.fixture(scope="module")
def ledger_url() -> Iterator[str]:
    """A fresh PostgreSQL ledger at the latest revision, shared by the module's service instances."""
    url = create_database("proactief_t")
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    """The real simulator over HTTP: canned MAGDA personas, repertorium check on (auto-registration)."""
    with running_simulator(seed=5) as running:
        yield running
