"""A household scheme run where the city's extract and MAGDA disagree about a household: MAGDA decides, the
household gets one voucher for its reference person, and the disagreement is counted (SCHEMES.md, issue 13).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, update

from proactief.ledger.models import DecisionRow, DQResultRow, GrantRow, OutboxMessage, Resident
from proactief.lifecycle import run_in_process
from tests.lifecycle.worlds import World, city_ledger, generated_world

pytestmark = pytest.mark.integration

IVAGO = "ivago-tegemoetkoming"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with generated_world(tmp_path_factory.mktemp("ghent"), 1000, 11, IVAGO) as w:
        yield w


@pytest.fixture
def ledger(pg_url: str, world: World) -> Iterator[Engine]:
    with city_ledger(pg_url, world.folder) as engine:
        yield engine


def test_a_member_the_extract_calls_a_reference_person_gets_no_second_voucher(ledger: Engine, world: World) -> None:
    expected = world.expected_eligible(IVAGO)
    with ledger.connect() as conn:
        homes = dict(conn.execute(select(Resident.insz, Resident.household_id)).tuples().all())
    by_home: dict[str | None, list[str]] = {}
    for insz, hid in homes.items():
        by_home.setdefault(hid, []).append(insz)
    head = next(r for r in sorted(expected) if len(by_home[homes[r]]) >= 3)
    member = next(m for m in sorted(by_home[homes[head]]) if m != head)
    # The extract is out of date: it has the member living alone, as its own household's reference person.
    with ledger.begin() as conn:
        conn.execute(update(Resident).where(Resident.insz == member)
                     .values(household_id="SPLIT-1", reference_person=True, position="01"))

    report = run_in_process(ledger, IVAGO, world.d, world.magda(), external_id="households/1",
                            subjects=[member, head])
    assert report["status"] == "finished" and all(report["dq"].values()), report["dq"]
    with ledger.connect() as conn:
        decisions = dict(conn.execute(select(DecisionRow.insz, DecisionRow.decision)).tuples().all())
        grants = conn.execute(select(GrantRow.insz, GrantRow.amount)).all()
        notices = conn.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "notify")).all()
        dq = conn.execute(select(DQResultRow.result).where(DQResultRow.step == "magda_results")).scalar_one()
        reasons = conn.execute(select(DecisionRow.reasons).where(DecisionRow.insz == member)).scalar_one()
    # Both were decided, for the same household (MAGDA's): one voucher for the reference person, one letter.
    assert decisions == {member: "eligible", head: "eligible"}
    assert "DECIDED_FOR_HOUSEHOLD" in reasons
    assert [g.insz for g in grants] == [head]
    assert len(notices) == 1
    # The extract and MAGDA disagree about both persons' households: counted, never failing the run.
    assert dq["statistics"]["household_disagreements"] == 2
    assert report["figures"]["household_disagreements"] == 2
    assert member not in json.dumps(dq) and member not in json.dumps(report)
