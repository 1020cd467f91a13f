"""The call centre asks Automatisch Advies now, from the lookup: the dashboard sends the looked-up person (named by
the lookup's log reference, never an INSZ in the page) to the real advice service, which asks the real simulator
and audits its questions with the staff account; the page shows the service's advice in plain Dutch. Without the
service configured there is no button; a service that does not answer gives a clear sentence, not an error page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select

from proactief.advice_service.client import AdviceServiceClient
from proactief.ledger.models import MagdaConsultation
from proactief.schemes import load_scheme
from proactief_sim.simulator.testing import RunningSimulator
from tests.advice_service.service_harness import TOKENS, RunningService, running_service
from tests.dashboard.airflow_auth import bearer, dashboard_client

pytestmark = pytest.mark.integration

UITPAS = "uitpas-kansentarief"
HOUSEHOLD = "84640438954"  # MAGDA-Mock persona: Gent, BIM_BVT
REF = re.compile(r'id="live-form">\s*<input type="hidden" name="lookup" value="([^"]+)"')


@pytest.fixture(scope="module")
def service(ledger_url: str, sim: RunningSimulator, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RunningService]:
    with running_service(ledger_url, sim.base_url, tmp_path_factory.mktemp("advice-service"),
                         instance="advice-dashboard") as running:
        yield running


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Engine]:
    engine = create_engine(ledger_url)
    yield engine
    engine.dispose()


@pytest.fixture
def client(ledger: Engine) -> Iterator[Any]:
    with dashboard_client(ledger) as c:
        yield c


def _lookup(client: Any, headers: dict[str, str]) -> Any:
    page = client.post("lookup", data={"insz": HOUSEHOLD, "scheme": UITPAS}, headers=headers)
    assert page.status_code == 200, page.text
    return page


def test_asking_now_shows_the_services_advice_and_the_service_audits_the_staff_account(
        client: Any, auth: Any, service: RunningService, ledger: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROACTIEF_ADVICE_URL", service.url)
    monkeypatch.setenv("PROACTIEF_ADVICE_TOKEN", TOKENS["counter"])
    headers = bearer(auth, "an.callcenter", "viewer")
    page = _lookup(client, headers)
    found = REF.search(page.text)
    assert found, page.text  # nobody decided this person yet: the button is there all the same
    answer = client.post("advies", data={"lookup": found.group(1), "scheme": UITPAS}, headers=headers)
    assert answer.status_code == 200, answer.text
    with AdviceServiceClient(service.url, TOKENS["counter"], user="test") as svc:
        expected = svc.advise(UITPAS, load_scheme(UITPAS).reference_date_for(dt.date.today()), HOUSEHOLD)
    assert f'id="live-decision" data-decision="{expected.decision}"' in answer.text
    assert "Wat Automatisch Advies naging" in answer.text and "hoofdverblijfplaats in Gent" in answer.text
    assert HOUSEHOLD not in answer.text
    with ledger.connect() as conn:
        by_staff = set(conn.execute(select(MagdaConsultation.service).where(
            MagdaConsultation.consulted_by == "counter/an.callcenter",
            MagdaConsultation.subject_insz == HOUSEHOLD)).scalars())
    assert "Proactief.Adviesdienst.Advies" in by_staff and any(s.startswith(("Persoon.", "SocZek.")) for s in by_staff)


def test_another_staff_accounts_lookup_reference_asks_nothing(
        client: Any, auth: Any, service: RunningService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROACTIEF_ADVICE_URL", service.url)
    monkeypatch.setenv("PROACTIEF_ADVICE_TOKEN", TOKENS["counter"])
    ref = REF.search(_lookup(client, bearer(auth, "first.agent", "viewer")).text)
    assert ref
    other = client.post("advies", data={"lookup": ref.group(1), "scheme": UITPAS},
                        headers=bearer(auth, "second.agent", "viewer"))
    assert other.status_code == 404


def test_without_the_service_there_is_no_button_and_a_silent_service_gets_a_sentence(
        client: Any, auth: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROACTIEF_ADVICE_URL", raising=False)
    monkeypatch.delenv("PROACTIEF_ADVICE_TOKEN", raising=False)
    headers = bearer(auth, "an.callcenter", "viewer")
    page = _lookup(client, headers)
    assert 'id="live-form"' not in page.text
    assert client.post("advies", data={"lookup": "x", "scheme": UITPAS}, headers=headers).status_code == 404
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("PROACTIEF_ADVICE_URL", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("PROACTIEF_ADVICE_TOKEN", TOKENS["counter"])
    ref = REF.search(_lookup(client, headers).text)
    assert ref
    answer = client.post("advies", data={"lookup": ref.group(1), "scheme": UITPAS}, headers=headers)
    assert answer.status_code == 200
    assert 'id="live-error"' in answer.text and "niet bereikbaar" in answer.text
