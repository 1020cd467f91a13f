"""One generated population of 20,000 persons (seed 0, default as_of), shared by the population tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from population_fixtures import Generated, generate_and_read  # noqa: E402


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate_and_read(tmp_path_factory.mktemp("population") / "g20k", 20_000, 0)
