"""Manual decisions against real monthly UiTPAS runs (in-process, PostgreSQL, the MAGDA simulator, the UiTPAS
stand-in over HTTP, notices rendered and sent): the data-quality gates pass, a confirmed manual grant reaches UiTPAS
once and is not granted or told again next month, manual refusals are not overturned, and the ones whose statute
appeared in MAGDA go back to the case worker instead of being granted."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import Engine, select

from proactief.casework import (
    confirm_manual_decision,
    dispatch_decision_letters,
    list_casework,
    record_bezwaar,
    record_manual_decision,
)
from proactief.ledger.models import DecisionRow, GrantRow, ManualDecision, OutboxMessage
from proactief_sim.standins.server import build_app
from proactief_sim.standins.testing import serving
from tests.casework.runs import count
from tests.lifecycle.test_uitpas_renewal import NOV, OCT, UITPAS, Sent, Setting, dispatch, eligible, month
from tests.lifecycle.worlds import city_ledger, generated_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    with generated_world(tmp_path_factory.mktemp("ghent"), 800, 23, UITPAS) as world, \
            serving(build_app(auto_passholders=True)) as standins:
        yield Setting(world, standins)


@pytest.fixture
def ledger(pg_url: str, setting: Setting) -> Iterator[Engine]:
    requests.post(f"{setting.standins}/uitpas/_standin/reset", timeout=10).raise_for_status()
    with city_ledger(pg_url, setting.world.folder) as engine:
        yield engine


def _records(setting: Setting, people: set[str]) -> dict[str, dict]:
    out = {}
    with open(setting.world.folder / "magda-population.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["insz"] in people:
                out[record["insz"]] = record
    return out


def test_manual_decisions_hold_against_the_next_monthly_run(ledger: Engine, setting: Setting) -> None:
    channels = {name: Sent(name) for name in ("email", "letter", "ebox")}
    october = month(ledger, setting, channels, OCT)
    assert all(october["dq"].values()), october["dq"]
    holders = eligible(ledger, october["run_id"])
    with ledger.connect() as conn:
        refused = sorted(conn.execute(select(DecisionRow.insz).where(
            DecisionRow.run_id == october["run_id"], DecisionRow.decision == "not_eligible")).scalars())
    granted_by_hand, refused_by_hand = refused[0], refused[1:7]
    assert holders and len(refused_by_hand) == 6

    b = record_bezwaar(ledger, insz=granted_by_hand, scheme_id=UITPAS, channel="counter", received_on=OCT,
                       recorded_by="balie.bo")
    md = record_manual_decision(ledger, insz=granted_by_hand, scheme_id=UITPAS, outcome="grant", bezwaar_id=b.id,
                                reason="U hebt een attest van het OCMW getoond.", legal_ground="Reglement art. 3",
                                decided_by="dossier.an", valid_until=dt.date(2026, 12, 31))
    confirm_manual_decision(ledger, md.id, confirmed_by="dossier.bart")
    refusals = {p: record_manual_decision(ledger, insz=p, scheme_id=UITPAS, outcome="refuse", reason="Geen recht.",
                                          legal_ground="Reglement art. 2", decided_by="dossier.an").id
                for p in refused_by_hand}
    dispatch(ledger, setting, channels)
    assert dispatch_decision_letters(ledger, channels) == {"sent": 7}, "one letter per manual decision"
    writes = int(setting.uitpas_state()["writes"])
    grants_before = count(ledger, GrantRow)
    notices_before = count(ledger, OutboxMessage, OutboxMessage.kind.like("notify%"))

    # MAGDA now knows a statute for the refused: copy a holder's statutes onto them.
    donor = next(iter(_records(setting, {sorted(holders)[0]}).values()))
    originals = _records(setting, set(refused_by_hand))
    for record in originals.values():
        setting.world.sim.admin("POST", "population", {"person": {**record, "statutes": donor["statutes"]}})
    try:
        november = month(ledger, setting, channels, NOV)
    finally:
        for record in originals.values():
            setting.world.sim.admin("POST", "population", {"person": record})

    assert all(november["dq"].values()), november["dq"]
    with ledger.connect() as conn:
        decided = dict(conn.execute(select(DecisionRow.insz, DecisionRow.decision).where(
            DecisionRow.run_id == november["run_id"],
            DecisionRow.insz.in_([granted_by_hand, *refused_by_hand]))).all())
        status = dict(conn.execute(select(ManualDecision.id, ManualDecision.status)).all())
        new_grantees = set(conn.execute(select(GrantRow.insz).where(GrantRow.run_id == november["run_id"])).scalars())
    assert decided[granted_by_hand] == "eligible" and all(decided[p] == "not_eligible" for p in refused_by_hand)
    assert not new_grantees & {granted_by_hand, *refused_by_hand}, "nobody with a manual decision granted again"
    back = {p for p, mid in refusals.items() if status[mid] == "back_to_case_worker"}
    assert back, "a statute appeared for the refused: their decisions go back to the case worker"
    assert november["figures"]["manual_decisions"]["back_to_case_worker"] == len(back)
    assert november["figures"]["manual_decisions"]["prevailed"] == 7
    assert {i.insz for i in list_casework(ledger, back_only=True)} == back
    assert status[md.id] == "in_force"
    newcomers = len(new_grantees)
    assert count(ledger, GrantRow) == grants_before + newcomers
    assert count(ledger, OutboxMessage, OutboxMessage.kind.like("notify%")) == notices_before + newcomers
    assert int(setting.uitpas_state()["writes"]) == writes + newcomers, "no second UiTPAS write for the manual grant"
    assert dispatch_decision_letters(ledger, channels) == {}
