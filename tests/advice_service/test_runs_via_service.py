"""Scheme runs decided through the advice service (issue 20, part 2): the DAG's chunk step submits a batch and
collects it, instead of asking MAGDA itself.

A small generated Ghent on a real simulator; two PostgreSQL ledgers with the same city data, one run in-process,
one through the real service over HTTP (``proactief advice-service`` on the second ledger). The runs decide,
grant and stage the same for every person; a retried chunk asks MAGDA nothing more; and nothing the run's
process receives from the service carries a MAGDA answer (no statute, amount, card, vehicle or name).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pydantic import ValidationError
from sqlalchemy import Engine, func, select, update

from proactief.advice_service.client import AdviceServiceClient, AdviceServiceError, AdviceServiceSettings
from proactief.advice_service.models import BatchResult, BatchSubject, GrantTermsOut, StagedAdviceOut
from proactief.ledger.models import (
    AdviceBatch,
    AdviceBatchItem,
    DecisionRow,
    GrantRow,
    MagdaConsultation,
    Resident,
    StagedAdvice,
)
from proactief.lifecycle import open_run, query_chunk, record_objection, run_in_process, select_population
from proactief.schemes.subjects import identity_parts
from tests.advice_service.service_harness import TOKENS, RunningService, json_leaves, running_service
from tests.e2e.harness import create_database, drop_database
from tests.lifecycle.worlds import World, city_ledger, generated_world

pytestmark = pytest.mark.integration

UITPAS = "uitpas-kansentarief"
IVAGO = "ivago-tegemoetkoming"
LEZ = "lez-vrijstelling"
SIZE = 300


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Seed 3: 84 UiTPAS, 35 IVAGO households and 2 LEZ exemptions among 300 persons.
    with generated_world(tmp_path_factory.mktemp("ghent"), SIZE, 3, UITPAS) as w:
        yield w


def reference_date(world: World, scheme_id: str) -> dt.date:
    return dt.date.fromisoformat(json.loads((world.folder / "expected/reference-dates.json").read_text())[scheme_id])


@pytest.fixture(scope="module")
def inproc_ledger(world: World) -> Iterator[Engine]:
    """The ledger of the runs that ask MAGDA themselves (today's default)."""
    url = create_database("proactief_t")
    try:
        with city_ledger(url, world.folder) as engine:
            yield engine
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def svc_ledger_url(world: World) -> Iterator[str]:
    url = create_database("proactief_t")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def svc_ledger(svc_ledger_url: str, world: World) -> Iterator[Engine]:
    """The ledger of the runs through the service, shared with the service (same city data)."""
    with city_ledger(svc_ledger_url, world.folder) as engine:
        yield engine


@pytest.fixture(scope="module")
def service(svc_ledger: Engine, svc_ledger_url: str, world: World, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RunningService]:
    with running_service(svc_ledger_url, world.sim.base_url, tmp_path_factory.mktemp("advice-service"),
                         env={"PROACTIEF_ADVICE_POLL_SECONDS": "0.05"}) as running:
        yield running


@pytest.fixture(scope="module")
def settings(service: RunningService) -> AdviceServiceSettings:
    return AdviceServiceSettings(service.url, TOKENS["airflow"], user="airflow", wait_seconds=300)


def decisions(engine: Engine, run_id: int) -> dict[str, dict[str, Any]]:
    """Per person: the decision row's outcome and its staged advice, without the consultation references (each
    ask has its own) and their count (the service asks in smaller bulk chunks than a run)."""
    with engine.connect() as conn:
        rows = conn.execute(select(DecisionRow.insz, DecisionRow.decision, DecisionRow.tier, DecisionRow.amount,
                                   DecisionRow.reasons, DecisionRow.advice).where(DecisionRow.run_id == run_id))
        return {r.insz: {"decision": r.decision, "tier": r.tier, "amount": r.amount, "reasons": r.reasons,
                         "advice": {k: v for k, v in r.advice.items()
                                    if k not in ("consultations", "consultation_count")}}
                for r in rows}


def grants(engine: Engine, scheme_id: str) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        return {g.grant_key: (g.insz, g.system, g.tier, g.amount, g.valid_from, g.valid_until, g.terms)
                for g in conn.execute(select(GrantRow).where(GrantRow.scheme_id == scheme_id))}


def consultations(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(MagdaConsultation)).scalar_one())


# ------------------------------------------------------------------------------------------ a. same decisions


@pytest.mark.parametrize("scheme_id", [UITPAS, IVAGO, LEZ])
def test_a_run_through_the_service_decides_grants_and_stages_what_the_in_process_run_does(
        world: World, inproc_ledger: Engine, svc_ledger: Engine, settings: AdviceServiceSettings,
        scheme_id: str) -> None:
    d = reference_date(world, scheme_id)
    here = run_in_process(inproc_ledger, scheme_id, d, world.magda(), external_id=f"here/{scheme_id}",
                          chunk_size=120)
    asked_before = consultations(svc_ledger)
    there = run_in_process(svc_ledger, scheme_id, d, world.magda(), external_id=f"svc/{scheme_id}",
                           chunk_size=120, service=settings)
    assert here["status"] == there["status"] == "finished"
    assert all(there["dq"].values()), there["dq"]
    mine, theirs = decisions(inproc_ledger, here["run_id"]), decisions(svc_ledger, there["run_id"])
    assert mine and mine.keys() == theirs.keys()
    differing = [i for i in mine if mine[i] != theirs[i]]
    assert not differing, (len(differing), mine[differing[0]], theirs[differing[0]])
    granted = grants(svc_ledger, scheme_id)
    assert granted and grants(inproc_ledger, scheme_id) == granted
    if scheme_id == LEZ:  # the plate the rules chose travels to the grant (and only the plate)
        assert all(terms.get("vehicle_plate") for *_, terms in granted.values())
    for name in ("decisions", "household_disagreements", "household_objections", "data_errors", "selected"):
        assert here["figures"].get(name) == there["figures"].get(name), name
    # The service asked MAGDA (its consultations are in the shared ledger's audit) and said as of when.
    assert consultations(svc_ledger) > asked_before
    with svc_ledger.connect() as conn:
        batches = conn.execute(select(AdviceBatch.batch_id, AdviceBatch.purpose, AdviceBatch.work)
                               .where(AdviceBatch.batch_id.like(f"run-{there['run_id']}-chunk-%"))).all()
    assert len(batches) == there["figures"]["chunks"] and {b.purpose for b in batches} == {"grant"}
    assert all(b.work and b.work["answered"] for b in batches)


def test_a_household_member_decided_through_the_service_names_the_reference_person_as_recipient(
        world: World, inproc_ledger: Engine, svc_ledger: Engine, settings: AdviceServiceSettings) -> None:
    """The extract has a member as its own household's reference person, MAGDA has them in the household of an
    eligible head: the decision is the household's, its grant (key and recipient) the head's — both ways alike."""
    d = reference_date(world, IVAGO)
    expected = world.expected_eligible(IVAGO)
    with svc_ledger.connect() as conn:
        homes = dict(conn.execute(select(Resident.insz, Resident.household_id)).tuples().all())
    by_home: dict[str | None, list[str]] = {}
    for insz, hid in homes.items():
        by_home.setdefault(hid, []).append(insz)
    head = next(r for r in sorted(expected) if len(by_home[homes[r]]) >= 2)
    member = next(m for m in sorted(by_home[homes[head]]) if m != head)
    out = {}
    for name, engine, service in (("here", inproc_ledger, None), ("svc", svc_ledger, settings)):
        with engine.begin() as conn:
            conn.execute(update(Resident).where(Resident.insz == member)
                         .values(household_id="SPLIT-1", reference_person=True, position="01"))
        report = run_in_process(engine, IVAGO, d, world.magda(), external_id=f"{name}/member", subjects=[member],
                                service=service)
        assert report["status"] == "finished"
        out[name] = decisions(engine, report["run_id"])
    assert out["here"] == out["svc"]
    advice = out["svc"][member]["advice"]
    assert out["svc"][member]["decision"] == "eligible" and advice["grant_recipient"] == head
    assert advice["grant_key"].split("|")[1] != member and member not in advice["grant_key"]


# ------------------------------------------------------------------------------------------ b. a retried chunk


def test_a_retried_chunk_collects_the_stored_batch_and_asks_magda_nothing_more(
        world: World, svc_ledger: Engine, settings: AdviceServiceSettings) -> None:
    d = reference_date(world, UITPAS)
    with svc_ledger.connect() as conn:
        people = list(conn.execute(select(Resident.insz).order_by(Resident.insz).limit(40)).scalars())
    run_id = open_run(svc_ledger, UITPAS, d, external_id="svc/retry", subjects=people, chunk_size=40)
    assert select_population(svc_ledger, run_id)["chunks"] == [0]

    before = consultations(svc_ledger)
    first = query_chunk(svc_ledger, run_id, 0, world.magda(), service=settings)
    assert consultations(svc_ledger) > before + len(people)  # the submission's audit rows and MAGDA's questions
    with svc_ledger.connect() as conn:
        staged = {r.insz: r.advice for r in conn.execute(select(StagedAdvice.insz, StagedAdvice.advice)
                                                         .where(StagedAdvice.run_id == run_id))}
    asked = consultations(svc_ledger)
    again = query_chunk(svc_ledger, run_id, 0, world.magda(), service=settings)

    assert consultations(svc_ledger) == asked  # no MAGDA question, no second submission audit row
    assert again == first and first["staged"] == len(people)
    with svc_ledger.connect() as conn:
        assert {r.insz: r.advice for r in conn.execute(select(StagedAdvice.insz, StagedAdvice.advice)
                                                       .where(StagedAdvice.run_id == run_id))} == staged
        assert conn.execute(select(func.count()).select_from(AdviceBatch)
                            .where(AdviceBatch.batch_id.like(f"run-{run_id}-%"))).scalar_one() == 1


def _staged(engine: Engine, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.insz: r.advice for r in conn.execute(select(StagedAdvice.insz, StagedAdvice.advice)
                                                       .where(StagedAdvice.run_id == run_id))}


def _batches(engine: Engine, run_id: int) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(AdviceBatch.batch_id)
                                   .where(AdviceBatch.batch_id.like(f"run-{run_id}-%"))).scalars())


def test_a_retry_after_an_objection_decides_the_chunk_without_the_objector(
        world: World, svc_ledger: Engine, settings: AdviceServiceSettings) -> None:
    """The objection deletes the person from the run: the retried chunk holds other subjects than its batch, so
    it gets a batch of its own (an id from its content, in letters); the objector is neither asked nor staged."""
    d = reference_date(world, UITPAS)
    with svc_ledger.connect() as conn:
        people = list(conn.execute(select(Resident.insz).order_by(Resident.insz).offset(100).limit(20)).scalars())
    run_id = open_run(svc_ledger, UITPAS, d, external_id="svc/objection", subjects=people, chunk_size=20)
    select_population(svc_ledger, run_id)
    query_chunk(svc_ledger, run_id, 0, world.magda(), service=settings)
    record_objection(svc_ledger, people[3], channel="web")

    again = query_chunk(svc_ledger, run_id, 0, world.magda(), service=settings)

    assert again["subjects"] == again["staged"] == len(people) - 1
    assert set(_staged(svc_ledger, run_id)) == set(people) - {people[3]}
    first, second = _batches(svc_ledger, run_id)
    assert first == f"run-{run_id}-chunk-0" and second.startswith(first + "-") and second[len(first) + 1:].isalpha()
    with svc_ledger.connect() as conn:
        items = conn.execute(select(AdviceBatchItem.subject_insz).where(AdviceBatchItem.batch_id == second)).all()
    assert people[3] not in {i.subject_insz for i in items} and len(items) == len(people) - 1


def test_a_retry_after_the_service_failed_the_batch_submits_the_chunk_again(
        world: World, svc_ledger: Engine, settings: AdviceServiceSettings) -> None:
    """A failed batch stays failed at the service (MAGDA refused it three times): the task fails, and its retry
    asks again under the chunk's next id instead of collecting the same failure for ever."""
    d = reference_date(world, UITPAS)
    with svc_ledger.connect() as conn:
        people = list(conn.execute(select(Resident.insz).order_by(Resident.insz).offset(140).limit(10)).scalars())
    run_id = open_run(svc_ledger, UITPAS, d, external_id="svc/failed", subjects=people, chunk_size=10)
    select_population(svc_ledger, run_id)
    first = query_chunk(svc_ledger, run_id, 0, world.magda(), service=settings)
    staged = _staged(svc_ledger, run_id)
    with svc_ledger.begin() as conn:  # what the service writes when MAGDA refused the chunk _MAX_ATTEMPTS times
        conn.execute(update(AdviceBatchItem).where(AdviceBatchItem.batch_id == f"run-{run_id}-chunk-0",
                                                   AdviceBatchItem.position == 4)
                     .values(state="failed", result={"error": "MAGDA refused the questions: MagdaFault"}))

    assert query_chunk(svc_ledger, run_id, 0, world.magda(), service=settings) == first
    assert _batches(svc_ledger, run_id) == [f"run-{run_id}-chunk-0", f"run-{run_id}-chunk-0-again-a"]
    assert {k: {**v, "consultations": None} for k, v in _staged(svc_ledger, run_id).items()} == \
        {k: {**v, "consultations": None} for k, v in staged.items()}


# ------------------------------------------------------------------------------------------ c. the boundary


def _raw_values(world: World, people: set[str]) -> set[str]:
    """What the simulator holds about ``people`` (and their households): the values MAGDA would answer."""
    raw: set[str] = set()
    for line in (world.folder / "magda-population.jsonl").read_text().splitlines():
        p = json.loads(line)
        if p["insz"] not in people:
            continue
        raw.update({p["insz"], p["last_name"], *p["first_names"], p["birth_date"]})
        raw.update(m["insz"] for m in p.get("household", ()))
        raw.update(r["street"] for r in p.get("residences", ()))
        raw.update(s["name"] for s in p.get("statutes", ()))
        for year in p.get("tax", ()):
            raw.add(year["article_number"])
            raw.update(str(i["value"]) for i in year["items"])
        for v in p.get("vehicles", ()):
            raw.update({v["vin"], v["make"], v["model"]})
        raw.update(c["card_number"] for c in p.get("social_cards", ()))
        for year in p.get("leefloon", ()):
            raw.update(str(pay["amount"]) for pay in year.get("payments", ()))
    return {v for v in raw if len(v) >= 4}  # not "0" or "12": a position or a count could be that too



def test_nothing_the_run_receives_from_the_service_carries_a_magda_answer(
        world: World, svc_ledger: Engine, settings: AdviceServiceSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    d = reference_date(world, UITPAS)
    with svc_ledger.connect() as conn:
        people = list(conn.execute(select(Resident.insz).order_by(Resident.insz.desc()).limit(60)).scalars())
    run_id = open_run(svc_ledger, UITPAS, d, external_id="svc/boundary", subjects=people, chunk_size=60)
    select_population(svc_ledger, run_id)

    bodies: list[bytes] = []
    send = requests.Session.send

    def recording_send(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        response = send(self, request, **kw)
        if (request.url or "").startswith(settings.url):
            bodies.append(response.content)
        return response

    def no_magda_here(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the run's process built a MAGDA client")

    monkeypatch.setattr(requests.Session, "send", recording_send)
    monkeypatch.setattr("proactief.magda.client.MagdaClient.__init__", no_magda_here)
    out = query_chunk(svc_ledger, run_id, 0, world.magda(), service=settings)

    assert out["staged"] == len(people) and out["eligible"] > 0
    received = [json.loads(b) for b in bodies]
    assert any(r.get("results") for r in received)
    raw = _raw_values(world, set(people))
    assert {"BIM_BVT", "BIM_BVT_IN_FAMILY"} & raw, "the chosen persons should have statutes at MAGDA"
    assert any(v.isdigit() and len(v) >= 6 for v in raw), "… and tax amounts"
    leaked = {leaf for r in received for leaf in json_leaves(r)} & raw
    assert not leaked, sorted(leaked)[:10]
    for r in received:  # and every result is only what the bounded model allows
        for result in r.get("results", ()):
            BatchResult.model_validate(result)


def test_the_staged_result_model_refuses_anything_beyond_the_decision_and_the_grant() -> None:
    staged = {"scheme": UITPAS, "reference_date": "2026-11-01", "decision": "eligible", "tier": "kansentarief",
              "amount": None, "amounts": {}, "percentages": {}, "reasons": ["STATUTE_BIM_BVT"],
              "rule_version": "2026.1", "valid_until": None, "trace": [], "consultation_count": 1,
              "consultations": ["0b7e3c2a-1d4f-4a57-9c1e-2f3a4b5c6d7e"], "transient": False, "data_error": False}
    StagedAdviceOut.model_validate(staged)
    with pytest.raises(ValidationError, match="statutes"):
        StagedAdviceOut.model_validate({**staged, "statutes": [{"name": "BIM_BVT", "begin": "2022-10-10"}]})
    with pytest.raises(ValidationError, match="income"):
        BatchResult.model_validate({"position": 0, "staged": staged, "income": 3894819})
    terms = {"system": "uitpas", "valid_from": "2026-11-01", "valid_until": None,
             "key_parts": [["scheme", UITPAS], ["subject", ""]], "attributes": {}, "vehicle_plate": None,
             "amounts": {}, "percentages": {}, "basis": {}, "sources": []}
    GrantTermsOut.model_validate(terms)
    with pytest.raises(ValidationError, match="subject key part"):
        GrantTermsOut.model_validate({**terms, "key_parts": [["subject", "84640438954"]]})
    with pytest.raises(ValidationError, match="vin"):
        GrantTermsOut.model_validate({**terms, "vin": "WSY00000000000001"})
    # Every key part a subject kind supplies (the LEZ plate) has its field, so a new one is a reviewed change.
    assert {p.name for p in identity_parts()} <= set(GrantTermsOut.model_fields)


def test_only_the_scheme_runs_application_may_ask_for_what_a_grant_needs(world: World, service: RunningService,
                                                                         svc_ledger: Engine) -> None:
    with svc_ledger.connect() as conn:
        insz = conn.execute(select(Resident.insz).order_by(Resident.insz).limit(1)).scalar_one()
    counter = AdviceServiceClient(service.url, TOKENS["counter"], user="jan")
    with counter, pytest.raises(AdviceServiceError) as refused:
        counter.submit_batch("counter-grant-a", UITPAS, reference_date(world, UITPAS), [BatchSubject(insz=insz)],
                             purpose="grant")
    assert refused.value.status == 403
