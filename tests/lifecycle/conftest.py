"""The lifecycle tests' ledger: the real PostgreSQL test database, migrated to the latest revision."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from proactief.ledger import make_engine, upgrade


@pytest.fixture
def ledger(pg_url: str) -> Iterator[Engine]:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()
