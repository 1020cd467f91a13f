"""A scheme run on the real ledger (PostgreSQL) and the MAGDA simulator, without Airflow: grants match the
generator's expected entitlements, repeats grant and notify nothing twice, objections are honoured at every step.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from proactief.ledger.models import (
    DecisionRow,
    DQResultRow,
    GrantRow,
    MagdaConsultation,
    OutboxMessage,
    RunSubject,
    SchemeRun,
    StagedAdvice,
)
from proactief.lifecycle import (
    check,
    decide,
    finish_run,
    grant,
    notify,
    open_run,
    query_chunk,
    record_objection,
    run_in_process,
    select_population,
)
from tests.lifecycle.worlds import World, city_ledger, generated_world

pytestmark = pytest.mark.integration

SIZE = 1200
UITPAS = "uitpas-kansentarief"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with generated_world(tmp_path_factory.mktemp("ghent"), SIZE, 7, UITPAS) as w:
        yield w


@pytest.fixture
def ledger(pg_url: str, world: World) -> Iterator[Engine]:
    with city_ledger(pg_url, world.folder) as engine:
        yield engine


def count(engine: Engine, model: type, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def granted(engine: Engine, scheme_id: str = UITPAS) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(GrantRow.insz).where(GrantRow.scheme_id == scheme_id)).scalars())


def test_a_run_grants_exactly_the_expected_entitlements_once(ledger: Engine, world: World) -> None:
    report = run_in_process(ledger, UITPAS, world.d, world.magda(), external_id="t/1", chunk_size=300)
    grants = granted(ledger)
    assert len(grants) == len(set(grants))
    assert set(grants) == world.expected_eligible(UITPAS)
    assert report["status"] == "finished"
    assert report["figures"]["grant"]["granted"] == len(grants)
    assert all(report["dq"].values()), report["dq"]
    # one downstream action and one notice per grant, and the staging is gone
    assert count(ledger, OutboxMessage, OutboxMessage.kind == "grant") == len(grants)
    assert count(ledger, OutboxMessage, OutboxMessage.kind == "notify") == len(grants)
    assert count(ledger, StagedAdvice) == 0 and count(ledger, RunSubject) == 0
    # every decision names the consultations it rests on, and those are in the audit log
    with ledger.connect() as conn:
        refs = {r for row in conn.execute(select(DecisionRow.consultations)).scalars() for r in row}
        logged = set(conn.execute(select(MagdaConsultation.question_ref)).scalars())
    assert refs and refs <= logged


def test_a_second_run_of_the_same_period_and_a_repeated_step_add_nothing(ledger: Engine, world: World,
                                                                         freshness_allowing: Any) -> None:
    freshness_allowing(residents=45, ocmw=60)  # December is decided on the November extract below
    run_in_process(ledger, UITPAS, world.d, world.magda(), external_id="t/1", chunk_size=400)
    grants, outbox = count(ledger, GrantRow), count(ledger, OutboxMessage)
    again = run_in_process(ledger, UITPAS, world.d, world.magda(), external_id="t/2", chunk_size=400)
    assert again["figures"]["grant"]["granted"] == 0
    assert again["figures"]["grant"]["already_granted"] == grants
    assert again["figures"]["notify"]["queued"] == 0
    # the next month in the same year grants nothing again (one UiTPAS grant per person per year); December lies
    # inside the renewal window, so the still-eligible get next year's grant as a renewal (test_uitpas_renewal.py)
    later = run_in_process(ledger, UITPAS, world.d + dt.timedelta(days=31), world.magda(), external_id="t/3")
    assert later["figures"]["grant"]["granted"] <= 3  # only people newly eligible in December
    done = later["figures"]["grant"]
    assert count(ledger, GrantRow) == grants + done["granted"] + done["renewed"]
    # repeating grant and notify of a finished run (a cleared task) changes nothing
    with ledger.connect() as conn:
        first = conn.execute(select(SchemeRun.id).where(SchemeRun.external_id == "t/1")).scalar_one()
    total_grants, total_outbox = count(ledger, GrantRow), count(ledger, OutboxMessage)
    assert grant(ledger, first)["granted"] == 0
    assert notify(ledger, first)["queued"] == 0
    assert (count(ledger, GrantRow), count(ledger, OutboxMessage)) == (total_grants, total_outbox)
    assert outbox == 2 * grants


def test_a_dry_run_decides_and_reports_but_grants_and_writes_nothing(ledger: Engine, world: World) -> None:
    report = run_in_process(ledger, UITPAS, world.d, world.magda(), external_id="dry", dry_run=True)
    assert report["dry_run"] is True
    assert report["figures"]["decisions"]["eligible"] == len(world.expected_eligible(UITPAS))
    assert count(ledger, GrantRow) == 0 and count(ledger, OutboxMessage) == 0


def test_reevaluating_given_subjects_decides_only_those(ledger: Engine, world: World) -> None:
    some = sorted(world.expected_eligible(UITPAS))[:3]
    report = run_in_process(ledger, UITPAS, world.d, world.magda(), external_id="few", subjects=some)
    assert report["selection"] == "subjects"
    assert sorted(granted(ledger)) == some


def test_a_malformed_subject_is_refused_by_position_without_echoing_it(ledger: Engine, world: World) -> None:
    with pytest.raises(ValueError, match="subject #2 of 2") as err:
        open_run(ledger, UITPAS, world.d, external_id="bad", subjects=["85073003328", "12345678901"])
    assert "12345678901" not in str(err.value)
    assert count(ledger, SchemeRun) == 0


def test_too_many_transient_magda_errors_stop_the_run_before_deciding(ledger: Engine, world: World) -> None:
    # 0.8 per call: the client retries 4 times, so a call still fails in 0.8**4 = 41% of cases (0.3 was absorbed)
    world.sim.admin("PUT", "faults", {"rates": {"99996": 0.8}, "seed": 3})
    try:
        run_id = open_run(ledger, UITPAS, world.d, external_id="faulty", chunk_size=600)
        for c in select_population(ledger, run_id)["chunks"]:
            query_chunk(ledger, run_id, c, world.magda())
        result = check(ledger, run_id, "magda_results")
    finally:
        world.sim.admin("PUT", "faults", {"rates": {}})
    assert not result.success
    assert result.statistics["transient"] > 0
    with ledger.connect() as conn:
        stored = conn.execute(select(DQResultRow.success).where(DQResultRow.run_id == run_id)).scalar_one()
    assert stored is False
    # nobody is wrongly refused: a transient answer is undetermined, never not_eligible
    expected = world.expected_eligible(UITPAS)
    with ledger.connect() as conn:
        staged = conn.execute(select(StagedAdvice.insz, StagedAdvice.outcome)
                              .where(StagedAdvice.run_id == run_id)).all()
    assert not [i for i, o in staged if i in expected and o == "not_eligible"]


def test_a_magda_data_error_quarantines_the_person_and_the_run_goes_on(ledger: Engine, world: World) -> None:
    refused, fine = sorted(world.expected_eligible(UITPAS))[:2]
    world.sim.admin("PUT", "faults", {"insz": {refused: "20002"}})
    try:
        report = run_in_process(ledger, UITPAS, world.d, world.magda(), external_id="data-error",
                                subjects=[refused, fine])
    finally:
        world.sim.admin("PUT", "faults", {"insz": {}})
    assert report["status"] == "finished" and all(report["dq"].values()), report["dq"]
    assert report["figures"]["data_errors"] == 1
    assert report["figures"]["decisions"] == {"eligible": 1, "not_eligible": 0, "undetermined": 1}
    assert granted(ledger) == [fine]  # no grant and no letter for the quarantined record, and no refusal
    with ledger.connect() as conn:
        decided = dict(conn.execute(select(DecisionRow.insz, DecisionRow.reasons)).tuples().all())
        stored = conn.execute(select(DQResultRow.result).where(DQResultRow.step == "magda_results")).scalar_one()
    assert decided[refused] == ["MAGDA_DATA_ERROR"]
    assert (stored["statistics"]["data_errors"], stored["statistics"]["transient"]) == (1, 0)
    assert refused not in json.dumps(stored) and refused not in json.dumps(report)


STEPS = ("select", "query", "decide", "grant", "notify")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_objections_at_random_moments_are_honoured(ledger: Engine, world: World, seed: int) -> None:
    """Property: whoever objects before a step is, from that moment, not asked, not granted, not written to; and
    the reconciliation check between grant and notify does not stop the run for an objection made after the grant."""
    rng = random.Random(seed)
    people = sorted(world.expected_eligible(UITPAS))
    objectors = rng.sample(people, 12)
    when = {p: rng.choice(STEPS) for p in objectors}
    objected_at: dict[str, dt.datetime] = {}
    magda = world.magda()

    def object_before(step: str) -> None:
        for p, s in when.items():
            if s == step:
                record_objection(ledger, p, channel="web")
                objected_at[p] = dt.datetime.now(dt.UTC)

    object_before("select")
    run_id = open_run(ledger, UITPAS, world.d, external_id=f"prop/{seed}", chunk_size=500)
    chunks = select_population(ledger, run_id)["chunks"]
    object_before("query")
    for c in chunks:
        query_chunk(ledger, run_id, c, magda)
    object_before("decide")
    decide(ledger, run_id)
    object_before("grant")
    grant(ledger, run_id)
    object_before("notify")
    reconciled = check(ledger, run_id, "reconciliation")
    assert reconciled.success, f"an objection after the grant is lawful, not a defect: {reconciled.summary()}"
    notify(ledger, run_id)
    finish_run(ledger, run_id)

    with ledger.connect() as conn:
        for p, at in objected_at.items():
            asked_after = conn.execute(select(func.count()).select_from(MagdaConsultation).where(
                MagdaConsultation.subject_insz == p, MagdaConsultation.requested_at >= at)).scalar_one()
            assert asked_after == 0, f"{when[p]}: queried after the objection"
        grants = dict(conn.execute(select(GrantRow.insz, GrantRow.id)).all())
        notices = set(conn.execute(select(OutboxMessage.grant_id).where(OutboxMessage.kind == "notify",
                                                                        OutboxMessage.status == "pending"))
                      .scalars())
    for p in objectors:
        if when[p] == "notify":  # granted before objecting (lawful then), but not written to afterwards
            assert grants[p] not in notices
        else:
            assert p not in grants, f"granted although objected before {when[p]}"
    # everyone else who is entitled got their grant and one notice
    others = set(people) - set(objectors)
    assert others <= set(grants)
    assert {grants[p] for p in others} <= notices
