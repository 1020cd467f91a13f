"""The advice service as its own process (issue 20): the real ``proactief advice-service`` (uvicorn) on a real
PostgreSQL ledger, asking the real simulator over HTTP.

A subject's advice through the service is the in-process engine's advice; the answer carries no MAGDA value;
callers without a valid token are refused; a batch id submitted twice asks MAGDA once; every call is audited
with the calling application and user, and no INSZ reaches the service's log.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from sqlalchemy import Engine, create_engine, select

from proactief.advice import Advisor
from proactief.advice.city import EmptyCityData
from proactief.advice.cli import advise_cli
from proactief.advice_service.city import SubmittedCity
from proactief.advice_service.cli import advise_via_service
from proactief.advice_service.client import AdviceServiceClient, AdviceServiceError
from proactief.advice_service.models import AdviceOut, BatchSubject, CityFacts, OcmwPeriodIn
from proactief.advice_service.service import ADVICE_SERVICE
from proactief.advice_service.store import BATCH_SERVICE
from proactief.ledger.models import AdviceBatchItem, MagdaConsultation
from proactief.magda import reference
from proactief.magda.audit import MemoryAuditSink
from proactief.magda.config import MagdaConfig
from proactief.schemes import load_scheme
from proactief_sim.simulator.testing import RunningSimulator
from tests.advice.conftest import AFNEMER, make_client
from tests.advice_service.service_harness import TOKENS, RunningService, json_leaves, running_service
from tests.lifecycle.ledger_rows import make_insz

pytestmark = pytest.mark.integration

RUN = dt.date(2026, 11, 1)
UITPAS = "uitpas-kansentarief"
HOUSEHOLD = "84640438954"  # Gent, BIM_BVT; partner and son (GeefPersoon lists them)
LEEFLOON = "86710585636"  # LIVING_WAGES_PCSA_HELP
DESTELBERGEN = "73640618960"  # main residence outside Ghent
PERSONAS = (HOUSEHOLD, LEEFLOON, DESTELBERGEN)
GEEF_PERSOON = "Persoon.GeefPersoon-02.02"


@pytest.fixture(scope="module")
def service(ledger_url: str, sim: RunningSimulator, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RunningService]:
    with running_service(ledger_url, sim.base_url, tmp_path_factory.mktemp("advice-service"),
                         env={"PROACTIEF_ADVICE_CHUNK_SIZE": "5"}) as running:
        yield running


@pytest.fixture(scope="module")
def ledger(ledger_url: str) -> Iterator[Engine]:
    engine = create_engine(ledger_url)
    yield engine
    engine.dispose()


def counter(service: RunningService, user: str = "jan") -> AdviceServiceClient:
    return AdviceServiceClient(service.url, TOKENS["counter"], user=user)


def in_process(sim: RunningSimulator, scheme_id: str, insz: str) -> dict[str, Any]:
    scheme = load_scheme(scheme_id)
    with make_client(sim.base_url, MemoryAuditSink()) as client:
        return Advisor(client, scheme, EmptyCityData()).advise_one(insz, scheme.reference_date_for(RUN)).to_json()


def without_refs(advice: dict[str, Any]) -> dict[str, Any]:
    """The advice without its consultation references (each ask has its own)."""
    return {k: v for k, v in advice.items() if k != "consultations"}


@pytest.mark.parametrize("insz", PERSONAS)
def test_one_subject_is_decided_as_the_in_process_engine_decides(service: RunningService, sim: RunningSimulator,
                                                                  ledger: Engine, insz: str) -> None:
    d = load_scheme(UITPAS).reference_date_for(RUN)
    with counter(service, user="jan") as svc:
        advice = svc.advise(UITPAS, d, insz)
    expected = in_process(sim, UITPAS, insz)
    assert without_refs(advice.to_json()) == without_refs(expected)
    assert advice.consultation_count == len(advice.consultations) >= 1
    with ledger.connect() as conn:
        rows = conn.execute(select(MagdaConsultation.service, MagdaConsultation.consulted_by,
                                   MagdaConsultation.question_ref, MagdaConsultation.outcome)
                            .where(MagdaConsultation.subject_insz == insz)).all()
    # the call itself, with the application and the user, and its decision
    calls = {(r.consulted_by, r.outcome) for r in rows if r.service == ADVICE_SERVICE}
    assert ("counter/jan", advice.decision) in calls
    # the MAGDA questions it rests on, recorded by the service with the same caller
    asked = {r.question_ref for r in rows if r.consulted_by == "counter/jan" and r.service != ADVICE_SERVICE}
    assert set(advice.consultations) <= asked


def _raw_values(insz: str) -> set[str]:
    """Every value in the simulator's answers about the person (statute names and periods, addresses, names,
    birth dates, household members' INSZ, amounts): the leaves under ``Inhoud`` of each canned answer, of four
    characters or more."""
    values: set[str] = set()
    for path in reference.testcases_root().rglob(f"{insz}.xml"):
        for inhoud in etree.parse(str(path)).iter("{*}Inhoud", "Inhoud"):
            for el in inhoud.iter():
                text = (el.text or "").strip()
                if len(text) >= 4 and len(el) == 0:  # not the one-digit result codes
                    values.add(text)
    return values


def test_the_answer_carries_no_raw_magda_value(service: RunningService) -> None:
    raw = _raw_values(HOUSEHOLD)
    assert {"BIM_BVT", "44021"} <= raw and any(re.fullmatch(r"\d{11}", v) and v != HOUSEHOLD for v in raw)
    d = load_scheme(UITPAS).reference_date_for(RUN)
    with counter(service) as svc:
        advice = svc.advise(UITPAS, d, HOUSEHOLD)
    assert advice.decision == "eligible"
    body = json.dumps(advice.to_json(), ensure_ascii=False)
    strings = set(json_leaves(advice.to_json()))
    for value in raw:
        assert value not in strings, f"a MAGDA value is in the answer: {value!r}"
        if any(ch.isdigit() for ch in value) and len(value) >= 4:
            assert value not in body, f"a MAGDA value is in the answer: {value!r}"
    assert HOUSEHOLD not in body
    # the boundary is the response model: a field for a raw value is refused, not passed on
    smuggled = {**advice.to_json(), "statutes": {"BIM_BVT": ["2024-01-01", "2030-01-01"]}}
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        AdviceOut.model_validate(smuggled)
    with pytest.raises(ValueError):
        AdviceOut.model_validate({**advice.to_json(), "reasons": ["income 23456.78"]})



@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKENS['counter']}", "Bearer "])
def test_a_call_without_a_valid_token_is_refused(service: RunningService, authorization: str | None,
                                                 ledger: Engine) -> None:
    headers = {"X-Proactief-User": "jan"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = {"scheme": UITPAS, "reference_date": "2026-11-01", "insz": LEEFLOON}
    before = _rows(ledger, LEEFLOON)
    r = requests.post(service.url + "/v1/advice", json=body, headers=headers, timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    for method, path in (("POST", "/v1/batches"), ("GET", "/v1/batches/any")):
        assert requests.request(method, service.url + path, json={}, headers=headers, timeout=10).status_code == 401
    assert _rows(ledger, LEEFLOON) == before  # nothing was asked, nothing audited
    # a valid token without the user it acts for is refused too (every call is audited with both)
    r = requests.post(service.url + "/v1/advice", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {TOKENS['counter']}"})
    assert r.status_code == 400


def _rows(ledger: Engine, insz: str) -> int:
    with ledger.connect() as conn:
        return len(conn.execute(select(MagdaConsultation.id).where(MagdaConsultation.subject_insz == insz)).all())


def _asked(ledger: Engine, subjects: list[str], consulted_by: str) -> Counter[str]:
    """MAGDA questions per subject recorded for the caller (not the service's own submission rows)."""
    with ledger.connect() as conn:
        rows = conn.execute(select(MagdaConsultation.subject_insz)
                            .where(MagdaConsultation.subject_insz.in_(subjects),
                                   MagdaConsultation.consulted_by == consulted_by,
                                   MagdaConsultation.service.not_in((BATCH_SERVICE, ADVICE_SERVICE)))).scalars()
        return Counter(rows)


def test_a_batch_submitted_twice_is_one_batch_and_asks_magda_once(service: RunningService, ledger: Engine,
                                                                   sim: RunningSimulator) -> None:
    d = load_scheme(UITPAS).reference_date_for(RUN)
    subjects = [LEEFLOON] + [make_insz(5000 + i) for i in range(9)]
    ocmw = CityFacts(ocmw=[OcmwPeriodIn(kind="budgetbeheer", begin=dt.date(2026, 1, 1))])
    batch = [BatchSubject(insz=s, key=f"row-{n}", city=ocmw if n == 0 else CityFacts())
             for n, s in enumerate(subjects)]
    airflow = AdviceServiceClient(service.url, TOKENS["airflow"], user="uitpas/run-7")
    first = airflow.submit_batch("uitpas-2026-11-01-chunk-1", UITPAS, d, batch)
    again = airflow.submit_batch("uitpas-2026-11-01-chunk-1", UITPAS, d, batch)
    assert first.total == again.total == len(subjects)
    results = airflow.wait_for_batch("uitpas-2026-11-01-chunk-1", timeout=60, poll=0.1)
    asked = _asked(ledger, subjects, "airflow/uitpas/run-7")
    # submitted again once decided: the same batch, nothing asked
    done = airflow.submit_batch("uitpas-2026-11-01-chunk-1", UITPAS, d, batch)
    assert done.state == "done" and done.decided == len(subjects)
    assert _asked(ledger, subjects, "airflow/uitpas/run-7") == asked
    with ledger.connect() as conn:
        attempts = conn.execute(select(AdviceBatchItem.attempts)
                                .where(AdviceBatchItem.batch_id == "uitpas-2026-11-01-chunk-1")).scalars().all()
    assert attempts == [1] * len(subjects)  # each subject decided by one claim
    assert set(asked) == set(subjects)
    # every result, in submission order, keys echoed; the same advice as one subject asked alone
    assert [r.position for r in results] == list(range(len(subjects)))
    assert [r.key for r in results] == [f"row-{n}" for n in range(len(subjects))]
    assert results[0].advice is not None and results[0].advice.decision == "eligible"
    assert "CITY_BUDGETBEHEER" in results[0].advice.reasons  # the city's fact, as submitted
    # the same advice as a run decides it in-process (bulk: statutes through the list service first)
    with make_client(sim.base_url, MemoryAuditSink()) as client:
        run = {a.subject: a.to_json() for a in Advisor(client, UITPAS, SubmittedCity(
            (b.insz, b.city) for b in batch)).advise_many(subjects, d)}
    for r in results:
        assert r.advice is not None
        assert without_refs(r.advice.to_json()) == without_refs(run[subjects[r.position]])
    assert {r.advice.decision for r in results[1:] if r.advice is not None} == {"not_eligible"}  # not in Ghent
    # paged: two pages of 5
    page = airflow.batch("uitpas-2026-11-01-chunk-1", limit=5)
    assert [r.position for r in page.results] == [0, 1, 2, 3, 4] and page.next_offset == 5
    assert airflow.batch("uitpas-2026-11-01-chunk-1", offset=5, limit=5).next_offset is None
    # the same id with other subjects is refused; another application does not see the batch
    with pytest.raises(AdviceServiceError) as conflict:
        airflow.submit_batch("uitpas-2026-11-01-chunk-1", UITPAS, d, batch[:3])
    assert conflict.value.status == 409
    with counter(service) as svc, pytest.raises(AdviceServiceError) as hidden:
        svc.batch("uitpas-2026-11-01-chunk-1")
    assert hidden.value.status == 404
    airflow.close()


def test_the_advise_command_asks_the_service_and_prints_what_it_prints_in_process(
        service: RunningService, sim: RunningSimulator) -> None:
    config = MagdaConfig(base_url=sim.base_url, identificatie=AFNEMER, backoff_base=0.0, backoff_cap=0.0)
    code, local = advise_cli(UITPAS, HOUSEHOLD, RUN, as_json=True, config=config)
    via_code, via = advise_via_service(UITPAS, HOUSEHOLD, RUN, service_url=service.url, token=TOKENS["counter"],
                                       user="callcenter", as_json=True)
    assert code == via_code == 0
    assert without_refs(json.loads(via)) == without_refs(json.loads(local))
    text_code, text = advise_via_service(UITPAS, HOUSEHOLD, RUN, service_url=service.url, token=TOKENS["counter"],
                                         user="callcenter")
    assert text_code == 0 and text.startswith(f"{UITPAS} on ") and ": eligible" in text.splitlines()[0]
    refused = advise_via_service(UITPAS, HOUSEHOLD, RUN, service_url=service.url, token="wrong", user="x")
    assert refused[0] == 1 and "401" in refused[1] and HOUSEHOLD not in refused[1]


def test_no_insz_reaches_the_service_log(service: RunningService) -> None:
    """Last in the module: everything above went through this instance."""
    log = Path(service.log).read_text()
    assert "POST /v1/advice" in log
    for insz in (*PERSONAS, make_insz(5000)):
        assert insz not in log


def _object(ledger: Engine, people: set[str], active: bool) -> None:
    from sqlalchemy import delete, insert

    from proactief.ledger.models import OptOut

    with ledger.begin() as conn:
        conn.execute(delete(OptOut).where(OptOut.insz.in_(people)))
        if active:
            conn.execute(insert(OptOut), [{"insz": i, "active": True, "since": dt.datetime.now(dt.UTC),
                                           "channel": "web"} for i in people])


def _asked_about(ledger: Engine, people: set[str], by: str) -> set[str]:
    with ledger.connect() as conn:
        return set(conn.execute(select(MagdaConsultation.subject_insz).where(
            MagdaConsultation.consulted_by == by, MagdaConsultation.service != ADVICE_SERVICE,
            MagdaConsultation.subject_insz.in_(people))).scalars())


def test_an_objector_at_the_counter_is_not_asked_about_and_the_call_says_so(service: RunningService,
                                                                            ledger: Engine) -> None:
    d = load_scheme(UITPAS).reference_date_for(RUN)
    _object(ledger, {LEEFLOON}, True)
    try:
        with counter(service, user="objection-check") as svc, pytest.raises(AdviceServiceError) as refused:
            svc.advise(UITPAS, d, LEEFLOON)
        assert refused.value.status == 409 and LEEFLOON not in str(refused.value)
        assert _asked_about(ledger, {LEEFLOON}, "counter/objection-check") == set()
    finally:
        _object(ledger, {LEEFLOON}, False)


def test_household_members_who_objected_are_not_asked_about_for_a_counter_call(service: RunningService,
                                                                               ledger: Engine) -> None:
    members = {v for v in _raw_values(HOUSEHOLD) if re.fullmatch(r"\d{11}", v) and v != HOUSEHOLD}
    assert members
    scheme = "ivago-tegemoetkoming"  # a household scheme: it asks about the members' statutes
    d = load_scheme(scheme).reference_date_for(RUN)
    with counter(service, user="household-open") as svc:
        svc.advise(scheme, d, HOUSEHOLD)
    assert _asked_about(ledger, members, "counter/household-open"), "the scheme asks nothing about the members"
    _object(ledger, members, True)
    try:
        with counter(service, user="household-objected") as svc:
            advice = svc.advise(scheme, d, HOUSEHOLD)
        assert _asked_about(ledger, members, "counter/household-objected") == set()
        assert advice.decision in ("eligible", "not_eligible", "undetermined")
    finally:
        _object(ledger, members, False)
