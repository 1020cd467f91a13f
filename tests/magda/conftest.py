"""Fixtures for the MAGDA client tests: a scripted server, a client wired to it, the shared reference data."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from magda_testkit import AFNEMER, Pki, Reply, ScriptedServer, make_pki  # noqa: E402

from proactief.magda.audit import MemoryAuditSink  # noqa: E402
from proactief.magda.client import MagdaClient  # noqa: E402
from proactief.magda.config import MagdaConfig  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("magda-pki"))


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A plain-HTTP scripted server; set ``server.script`` in the test (default: 500)."""
    s = ScriptedServer(lambda rec: Reply(500, b"no script")).start()
    try:
        yield s
    finally:
        s.stop()


class Sleeps(list[float]):
    """Records backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture(params=["curl", "requests"])
def engine(request: pytest.FixtureRequest) -> str:
    """Both HTTP engines must behave the same."""
    return str(request.param)


@pytest.fixture
def make_client(server: ScriptedServer, audit: MemoryAuditSink, sleeps: Sleeps
                ) -> Iterator[Callable[..., MagdaClient]]:
    """``make_client(**config_fields)``: a client on the scripted server, validating its requests, not sleeping."""
    made: list[MagdaClient] = []

    def build(**overrides: Any) -> MagdaClient:
        fields: dict[str, Any] = dict(base_url=server.url, identificatie=AFNEMER, hoedanigheid="1300",
                                      max_attempts=3, backoff_base=0.1, backoff_cap=1.0, read_timeout=5.0,
                                      max_concurrency=4)
        fields.update(overrides)
        rng = fields.pop("rng", lambda: 0.5)
        client = MagdaClient(MagdaConfig(**fields), audit, validate_requests=True, sleep=sleeps, rng=rng)
        made.append(client)
        return client

    yield build
    for c in made:
        c.close()
