"""Two advice-service instances behind one ledger (issue 20, "scales by running more instances"): both work
through the same batch, either answers the poll, and when one is killed halfway (SIGKILL: no goodbye) the other
finishes its chunk once the lease runs out. Nothing is lost (every subject decided once) and nothing decided is
asked again: only the subjects the dead instance had in hand (one chunk) are asked a second time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, select

from proactief.advice_service.client import AdviceServiceClient
from proactief.advice_service.models import BatchSubject
from proactief.advice_service.store import BATCH_SERVICE
from proactief.ledger.models import AdviceBatchItem, MagdaConsultation
from proactief.schemes import load_scheme
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.advice_service.service_harness import TOKENS, running_services
from tests.lifecycle.ledger_rows import make_insz

pytestmark = pytest.mark.integration

CHUNK = 4
WORKERS = 2
"""Chunks each instance decides side by side: a killed one holds at most this many."""
SUBJECTS = [make_insz(9000 + i) for i in range(96)]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    """Each MAGDA call takes 40 ms, so a batch is still running when an instance is killed; no repertorium check,
    so a subject asked once is one consultation row (these persons are decided by their statutes alone)."""
    with running_simulator(seed=5, latency_ms=40, repertorium_check=False) as running:
        yield running


def test_one_instance_killed_halfway_the_other_finishes_nothing_lost_nothing_asked_twice(
        ledger_url: str, sim: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {"PROACTIEF_ADVICE_CHUNK_SIZE": str(CHUNK), "PROACTIEF_ADVICE_LEASE_SECONDS": "2",
           "PROACTIEF_ADVICE_WORKERS": str(WORKERS)}
    logs = tmp_path_factory.mktemp("two-instances")
    d = load_scheme("uitpas-kansentarief").reference_date_for(dt.date(2026, 11, 1))
    with running_services(ledger_url, sim.base_url, logs, ["advice-a", "advice-b"], env=env) as (a, b):
        to_a = AdviceServiceClient(a.url, TOKENS["airflow"], user="uitpas/run-9")
        to_b = AdviceServiceClient(b.url, TOKENS["airflow"], user="uitpas/run-9")
        to_a.submit_batch("uitpas-run-9-chunk-0", "uitpas-kansentarief", d,
                          [BatchSubject(insz=s, key=str(n)) for n, s in enumerate(SUBJECTS)])
        deadline = time.monotonic() + 30
        while (status := to_b.batch("uitpas-run-9-chunk-0", limit=0)).decided < len(SUBJECTS) // 3:
            assert time.monotonic() < deadline, "the batch did not start"
            time.sleep(0.02)
        while not _held_by(ledger_url, "advice-a"):  # kill it with a chunk in hand (it nearly always has one)
            time.sleep(0.005)
        a.kill()
        assert status.state == "running"
        held = _held_by(ledger_url, "advice-a")  # what the dead instance had in hand
        results = to_b.wait_for_batch("uitpas-run-9-chunk-0", timeout=60, poll=0.1)
        to_a.close()
        to_b.close()
    engine = create_engine(ledger_url)
    try:
        items, asked = _items(engine), _asked(engine)
    finally:
        engine.dispose()
    # nothing lost: every subject decided, once, in order
    assert [r.position for r in results] == list(range(len(SUBJECTS)))
    assert all(r.advice is not None and r.advice.decision == "not_eligible" for r in results)
    assert {who for _, who in items.values()} == {"advice-a", "advice-b"}  # both instances decided some
    # nothing decided asked twice: a second ask only for what the killed instance held (a chunk per worker)
    twice = {s for s, n in asked.items() if n > 1}
    assert set(asked) == set(SUBJECTS) and max(asked.values()) <= 2
    assert held and twice <= held and len(held) <= CHUNK * WORKERS
    assert all(items[s] == (2, "advice-b") for s in held)  # taken over after the lease ran out
    assert all(attempts == 1 for s, (attempts, _) in items.items() if s not in held)


def _held_by(url: str, instance: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(AdviceBatchItem.subject_insz)
                                    .where(AdviceBatchItem.state == "claimed",
                                           AdviceBatchItem.claimed_by == instance)).scalars())
    finally:
        engine.dispose()


def _items(engine: Engine) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AdviceBatchItem.subject_insz, AdviceBatchItem.attempts,
                                   AdviceBatchItem.decided_by)).all()
    return {r.subject_insz: (r.attempts, r.decided_by) for r in rows}


def _asked(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(conn.execute(select(MagdaConsultation.subject_insz)
                                    .where(MagdaConsultation.service != BATCH_SERVICE,
                                           MagdaConsultation.subject_insz.in_(SUBJECTS))).scalars())
