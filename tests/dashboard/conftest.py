"""The dashboard tests' ledger: a migrated PostgreSQL database holding ``ledger_data.build``."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.dashboard.ledger_data import Ledger, build


@pytest.fixture
def engine(ledger: Engine) -> Engine:
    return ledger


@pytest.fixture
def data(engine: Engine) -> Ledger:
    return build(engine)
