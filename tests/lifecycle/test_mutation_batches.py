"""No mutation is lost: a re-evaluation run covers every batch that triggered it (Airflow merges queued asset
events into one run) and every older batch its scheme has not decided yet; a batch is done in the ledger only when
every scheme finished deciding its persons, so a failed or held scheme takes it again on the next run."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from proactief.ledger.models import MutationBatch, MutationSubject, SchemeRun
from proactief.lifecycle import finish_run, hold_scheme, open_run, release_scheme, select_population
from proactief.lifecycle.mutations import pending_batches
from proactief.schemes import scheme_ids
from tests.lifecycle.worlds import city_ledger

pytestmark = pytest.mark.integration

UITPAS, IVAGO = "uitpas-kansentarief", "ivago-tegemoetkoming"
DAY = dt.date(2026, 11, 9)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from proactief_sim.population import generate

    out = tmp_path_factory.mktemp("ghent")
    generate(300, 11, out=out)
    return out


@pytest.fixture
def ledger(pg_url: str, folder: Path) -> Iterator[Engine]:
    with city_ledger(pg_url, folder) as engine:
        yield engine


@pytest.fixture
def residents(folder: Path) -> list[str]:
    with open(folder / "residents.csv", newline="") as fh:
        return [row["insz"] for row in csv.DictReader(fh)]


def batch(engine: Engine, people: list[str]) -> int:
    with engine.begin() as conn:
        batch_id = int(conn.execute(insert(MutationBatch).values(
            fetched_at=dt.datetime.now(dt.UTC), receipt=f"r-{people[0][-4:]}", persons=len(people))
            .returning(MutationBatch.id)).scalar_one())
        conn.execute(insert(MutationSubject), [{"batch_id": batch_id, "insz": p} for p in people])
    return batch_id


def reevaluate(engine: Engine, scheme_id: str, triggered: list[int], tag: str, *, finish: bool = True) -> int:
    """One scheme's task group of a ``reevaluate_mutations`` run, without the MAGDA steps in between."""
    run_id = open_run(engine, scheme_id, DAY, external_id=f"reevaluate_mutations/{tag}/{scheme_id}",
                      mutation_batches=triggered)
    select_population(engine, run_id)
    if finish:
        finish_run(engine, run_id)
    return run_id


def figures(engine: Engine, run_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(SchemeRun.figures).where(SchemeRun.id == run_id)).scalar_one())


def test_a_run_of_merged_events_selects_the_persons_of_every_batch(ledger: Engine, residents: list[str]) -> None:
    older, newer = batch(ledger, residents[:7]), batch(ledger, residents[7:12])
    run_id = open_run(ledger, UITPAS, DAY, external_id="reevaluate_mutations/merged/uitpas",
                      mutation_batches=[newer, older])
    selected = select_population(ledger, run_id)
    assert selected["selected"] == 12, "UiTPAS covers every resident: both batches' persons are re-evaluated"
    assert figures(ledger, run_id)["mutation_batches"] == [older, newer]


def test_a_batch_is_done_only_when_every_scheme_decided_it(ledger: Engine, residents: list[str]) -> None:
    first = batch(ledger, residents[:10])
    for scheme_id in scheme_ids():  # the IVAGO group fails halfway: its run never reaches the report
        reevaluate(ledger, scheme_id, [first], "run-1", finish=scheme_id != IVAGO)
    assert pending_batches(ledger) == {first: sorted(s for s in scheme_ids() if s != IVAGO)}

    second = batch(ledger, residents[10:15])
    runs = {s: reevaluate(ledger, s, [second], "run-2", finish=False) for s in scheme_ids()}
    assert figures(ledger, runs[UITPAS])["mutation_batches"] == [second], "UiTPAS decided the first already"
    assert figures(ledger, runs[IVAGO])["mutation_batches"] == [first, second], "IVAGO takes the first again"
    assert figures(ledger, runs[UITPAS])["selected"] == 5
    assert pending_batches(ledger) == {first: sorted(s for s in scheme_ids() if s != IVAGO), second: []}

    for run_id in runs.values():
        finish_run(ledger, run_id)
        finish_run(ledger, run_id)  # a cleared report task: nothing twice
    assert pending_batches(ledger) == {}
    with ledger.connect() as conn:
        assert all(conn.execute(select(MutationBatch.done_at)).scalars())
    done = [figures(ledger, r).get("mutation_batches_done", []) for r in runs.values()]
    assert sorted(b for d in done for b in d) == [first, second], "each batch became done once"


def test_a_held_scheme_takes_its_batches_after_the_release(ledger: Engine, residents: list[str]) -> None:
    first = batch(ledger, residents[:10])
    hold_scheme(ledger, UITPAS, by="ops.jan", reason="rule change under review")
    for scheme_id in scheme_ids():
        reevaluate(ledger, scheme_id, [first], "held")
    assert pending_batches(ledger) == {first: sorted(s for s in scheme_ids() if s != UITPAS)}

    release_scheme(ledger, UITPAS, by="ops.jan")
    second = batch(ledger, residents[10:12])
    run_id = reevaluate(ledger, UITPAS, [second], "released")
    assert figures(ledger, run_id)["selected"] == 12, "the held scheme's persons waited, none was lost"
    assert figures(ledger, run_id)["mutation_batches_done"] == [first]
    assert pending_batches(ledger) == {second: [UITPAS]}
