"""An objection covers everyone a decision would consult, not only the subject (issue 15, item 4).

An IVAGO run on a generated Ghent where household members (not reference persons) objected, and the reference
person of a member the city's extract lists as a household of its own: nobody who objected is consulted (audit log);
a household whose outcome needed an objector's data is undetermined with ``HOUSEHOLD_MEMBER_OBJECTED`` (apply at the
counter), never not_eligible because of someone else's objection.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from proactief.advice.compare import read_expected
from proactief.dashboard import explain
from proactief.dashboard.figures import newest_runs
from proactief.ledger.models import DecisionRow, MagdaConsultation, Resident
from proactief.lifecycle import run_in_process
from proactief.lifecycle.optout import record_objection
from tests.lifecycle.worlds import World, city_ledger, generated_world

pytestmark = pytest.mark.integration

IVAGO = "ivago-tegemoetkoming"
OBJECTED = "HOUSEHOLD_MEMBER_OBJECTED"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with generated_world(tmp_path_factory.mktemp("ghent"), 1000, 11, IVAGO) as w:
        yield w


@pytest.fixture
def ledger(pg_url: str, world: World) -> Iterator[Engine]:
    with city_ledger(pg_url, world.folder) as engine:
        yield engine


def _covers(entry: dict[str, str | None], d: dt.date) -> bool:
    begin, end = entry.get("begin"), entry.get("end")
    return (begin is None or dt.date.fromisoformat(begin) <= d) and (end is None or d <= dt.date.fromisoformat(end))


def households(folder: Path, d: dt.date) -> dict[str, list[str]]:
    """Reference person → the other members on D, where MAGDA (the simulator's population) and the city's extract
    agree about the household: the objectors below are members whatever source one reads."""
    extract: dict[str, tuple[str, bool]] = {}
    with open(folder / "residents.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            extract[row["insz"]] = (row["household_id"], row["reference_person"] == "true")
    out: dict[str, list[str]] = {}
    with open(folder / "magda-population.jsonl", encoding="utf-8") as fh:
        people = [json.loads(line) for line in fh]
    settled = {p["insz"] for p in people  # in Ghent at the same address since before D: today's register is D's
               if [r for r in p.get("residences") or [] if r.get("end") is None and r["nis_code"] == "44021"
                   and dt.date.fromisoformat(r["begin"]) <= d]}
    for person in people:
        me = person["insz"]
        entries = [e for e in person.get("household") or [] if _covers(e, d)]
        if not any(e["insz"] == me and e.get("position") == "01" for e in entries):
            continue
        if me not in extract or not extract[me][1]:
            continue
        if any(not _covers(e, d) and (e.get("end") is None or dt.date.fromisoformat(e["end"]) >= d)
               for e in person["household"]):
            continue  # someone joined or left after D
        members = sorted({e["insz"] for e in entries if e["insz"] != me})
        if members and me in settled and all(m in extract and extract[m][0] == extract[me][0] and m in settled
                                             for m in members):
            out[me] = members
    return out


def test_objecting_household_members_are_never_consulted_and_their_households_are_not_refused(
        ledger: Engine, world: World) -> None:
    expected = read_expected(world.folder / f"expected/{IVAGO}.csv")
    homes = households(world.folder, world.d)
    refused = [r for r in sorted(homes) if r in expected and expected[r]["decision"] == "not_eligible"
               and "RESIDENT_GHENT" in expected[r]["reasons"]][:10]
    granted = [r for r in sorted(homes) if r in expected and expected[r]["decision"] == "eligible"][:10]
    split_head = next(r for r in sorted(homes) if r not in refused and r not in granted and len(homes[r]) >= 2)
    split_member = homes[split_head][0]
    assert len(refused) == 10 and len(granted) >= 5
    objectors = {homes[r][0] for r in (*refused, *granted)} | {split_head}
    # The extract is out of date for one household: it lists a member as living alone. Asked about, MAGDA names
    # its reference person — who objected.
    with ledger.begin() as conn:
        conn.execute(update(Resident).where(Resident.insz == split_member)
                     .values(household_id="SPLIT-1", reference_person=True, position="01"))
    for insz in sorted(objectors):
        record_objection(ledger, insz, channel="web")

    report = run_in_process(ledger, IVAGO, world.d, world.magda(), external_id="objections/1")
    assert report["status"] == "finished", report

    with ledger.connect() as conn:
        consulted = set(conn.execute(select(MagdaConsultation.subject_insz)
                                     .where(MagdaConsultation.subject_insz.in_(objectors))).scalars())
        decisions = {r.insz: (r.decision, list(r.reasons)) for r in conn.execute(
            select(DecisionRow.insz, DecisionRow.decision, DecisionRow.reasons))}
    # Nobody who objected was asked about: not their statutes, not their household, no repertorium inscription.
    assert consulted == set()
    assert not objectors & set(decisions)
    # Nobody else holds a statute in these households: without the objector's, nothing can be decided.
    for r in refused:
        assert decisions[r][0] == "undetermined" and OBJECTED in decisions[r][1], decisions[r]
        assert "MAGDA_TRANSIENT" not in decisions[r][1]
    # A household entitled through someone else still gets its voucher; never a refusal because of the objection.
    for r in granted:
        assert decisions[r][0] in ("eligible", "undetermined"), decisions[r]
        assert decisions[r][0] == "eligible" or OBJECTED in decisions[r][1]
    # The member asked about: its household is its reference person's, who objected.
    assert decisions[split_member][0] == "undetermined" and OBJECTED in decisions[split_member][1]
    # The reason only ever comes with an undetermined decision, and the run counts it.
    marked = [i for i, (decision, reasons) in decisions.items() if OBJECTED in reasons]
    assert all(decisions[i][0] == "undetermined" for i in marked)
    assert report["figures"]["household_objections"] == len(marked) >= len(refused) + 1
    assert not any(i in json.dumps(report) for i in objectors)

    # The call centre reads why, in plain Dutch; the dashboard counts them within the undetermined.
    explanation = explain(ledger, refused[0], IVAGO)
    assert ("Een gezinslid heeft bezwaar gemaakt tegen het opvragen van gegevens: vraag het voordeel aan aan de "
            "balie.") in explanation.reasons
    newest = newest_runs(ledger, [IVAGO])[IVAGO]
    assert newest.household_objections == len(marked) and newest.undetermined >= len(marked)
