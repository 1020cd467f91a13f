"""MAGDA mutation batches on PostgreSQL and the simulator's stateful queue: the receipt cursor acknowledges only
what the ledger holds, a retried task gets its batch back without a second read, objectors are not staged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, insert

from proactief.ledger.models import MagdaConsultation, MutationBatch, MutationSubject
from proactief.lifecycle.mutations import MutationFetchError, fetch_mutations, subjects_of_batch
from proactief.lifecycle.optout import record_objection
from proactief.magda.audit import OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.magda.results import MagdaAnswer, Mutatie, MutatieNotificaties
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.lifecycle.ledger_rows import count, many_insz

pytestmark = pytest.mark.integration

AFNEMER = "gent.be/proactief"
MUTATIONS = "Persoon.GeefPersoonMutatiesNotificaties-02.00"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(seed=4) as running:
        yield running


@pytest.fixture
def magda(sim: RunningSimulator) -> MagdaConfig:
    sim.admin("POST", "reset")
    return MagdaConfig(base_url=sim.base_url, identificatie=AFNEMER, backoff_base=0.0, backoff_cap=0.0,
                       max_attempts=2)


def queue(sim: RunningSimulator, people: list[str]) -> None:
    sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": people})
    assert sim.admin("POST", "mutations", {"insz": people})["queued"] == len(people)


def queue_state(sim: RunningSimulator) -> dict[str, int]:
    return sim.admin("GET", "state")["mutations"].get(AFNEMER, {"pending": 0, "unacknowledged": 0})


def test_batches_are_staged_in_order_and_acknowledged_by_the_next_read(ledger: Engine, magda: MagdaConfig,
                                                                      sim: RunningSimulator) -> None:
    people = many_insz(130, start=500)
    queue(sim, people)  # the simulator hands out 100 per batch

    first = fetch_mutations(ledger, magda)
    assert first["persons"] == 100 and first["batch_id"] is not None
    assert subjects_of_batch(ledger, first["batch_id"]) == sorted(people[:100])
    assert queue_state(sim) == {"pending": 30, "unacknowledged": 100}  # not acknowledged before it is stored

    second = fetch_mutations(ledger, magda)
    assert second["persons"] == 30 and set(subjects_of_batch(ledger, second["batch_id"])) == set(people[100:])
    assert queue_state(sim) == {"pending": 0, "unacknowledged": 30}

    done = fetch_mutations(ledger, magda)
    assert done == {"batch_id": None, "persons": 0, "skipped_opted_out": 0}
    assert queue_state(sim) == {"pending": 0, "unacknowledged": 0}
    assert fetch_mutations(ledger, magda)["batch_id"] is None  # still nothing, the old receipt stays valid


def test_a_retried_task_gets_its_batch_back_without_asking_magda_again(ledger: Engine, magda: MagdaConfig,
                                                                       sim: RunningSimulator) -> None:
    queue(sim, many_insz(20, start=700))
    first = fetch_mutations(ledger, magda, external_id="magda_mutations/run-1")
    queue(sim, many_insz(5, start=800))
    again = fetch_mutations(ledger, magda, external_id="magda_mutations/run-1")
    assert again["batch_id"] == first["batch_id"] and again["persons"] == first["persons"] == 20
    assert count(ledger, MutationBatch) == 1
    assert count(ledger, MagdaConsultation, MagdaConsultation.service == MUTATIONS) == 1
    assert queue_state(sim)["pending"] == 5


def test_a_batch_the_ledger_never_stored_is_delivered_again(ledger: Engine, magda: MagdaConfig,
                                                            sim: RunningSimulator) -> None:
    people = many_insz(10, start=900)
    queue(sim, people)
    lost = fetch_mutations(ledger, magda)
    with ledger.begin() as conn:  # as if the process died before its transaction committed
        conn.execute(delete(MutationBatch).where(MutationBatch.id == lost["batch_id"]))
    again = fetch_mutations(ledger, magda)
    assert set(subjects_of_batch(ledger, again["batch_id"])) == set(people)


def test_persons_who_objected_are_not_staged(ledger: Engine, magda: MagdaConfig, sim: RunningSimulator) -> None:
    people = many_insz(8, start=1000)
    record_objection(ledger, people[3], channel="web")
    queue(sim, people)
    result = fetch_mutations(ledger, magda)
    assert (result["persons"], result["skipped_opted_out"]) == (7, 1)
    assert people[3] not in subjects_of_batch(ledger, result["batch_id"])


def test_an_outage_raises_and_loses_nothing(ledger: Engine, magda: MagdaConfig, sim: RunningSimulator) -> None:
    people = many_insz(6, start=1100)
    queue(sim, people)
    sim.admin("PUT", "faults", {"rates": {"99996": 1.0}})
    try:
        with pytest.raises(MutationFetchError, match="unavailable"):
            fetch_mutations(ledger, magda, external_id="t/outage")
    finally:
        sim.admin("PUT", "faults", {"rates": {}})
    assert count(ledger, MutationBatch) == 0
    result = fetch_mutations(ledger, magda, external_id="t/outage")
    assert set(subjects_of_batch(ledger, result["batch_id"])) == set(people)


def test_a_receipt_magda_does_not_know_needs_a_person(ledger: Engine, magda: MagdaConfig,
                                                      sim: RunningSimulator) -> None:
    queue(sim, many_insz(2, start=1200))
    with ledger.begin() as conn:
        conn.execute(insert(MutationBatch).values(fetched_at=dt.datetime.now(dt.UTC), receipt="not-a-receipt",
                                                  persons=0))
    with pytest.raises(MutationFetchError, match="30014"):
        fetch_mutations(ledger, magda)
    assert count(ledger, MutationSubject) == 0


def test_a_changed_national_number_stages_the_old_and_the_new_number(ledger: Engine, magda: MagdaConfig,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator never renumbers anyone, so this one answer is made by hand."""
    old, new, other = many_insz(3, start=1300)
    notes = MutatieNotificaties((Mutatie("r1", old, "MUTATIE", nieuw_insz=new), Mutatie("r2", other, "MUTATIE"),
                                 Mutatie("r3", "12345678901", "MUTATIE")), "receipt-1")

    def answer(self: MagdaClient, receipt: str | None = None, *, purpose: str | None = None
               ) -> MagdaAnswer[MutatieNotificaties]:
        return MagdaAnswer(MUTATIONS, OutcomeClass.OK, notes)

    monkeypatch.setattr(MagdaClient, "geef_persoon_mutaties", answer)
    result = fetch_mutations(ledger, magda)
    assert subjects_of_batch(ledger, result["batch_id"]) == sorted([old, new, other])
