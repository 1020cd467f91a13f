"""The dashboard tests' ledger: a migrated PostgreSQL database holding ``ledger_data.build``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.dashboard.ledger_data import Ledger, build


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    from proactief.ledger import make_engine, upgrade

    upgrade(pg_url)
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.fixture
def data(engine: Engine) -> Ledger:
    return build(engine)
