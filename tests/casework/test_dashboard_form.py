"""The lookup's bezwaar form: behind Airflow's authentication, offered and accepted only for a user who may edit the
scheme (403 otherwise), posting the lookup's log reference (no INSZ in the page or a URL), kept with the user's
name; the lookup then shows the open bezwaar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from proactief.ledger.models import Bezwaar
from tests.citizen.ledger_data import ANNA, UITPAS, build
from tests.dags import airflow_env  # noqa: F401 (sets the Airflow environment before Airflow is imported)
from tests.dashboard.airflow_auth import bearer as _headers
from tests.dashboard.airflow_auth import dashboard_client

pytestmark = pytest.mark.integration


@pytest.fixture
def client(auth: Any, ledger: Engine) -> Iterator[Any]:
    build(ledger)
    with dashboard_client(ledger) as c:
        yield c


def _lookup(client: Any, headers: dict[str, str]) -> tuple[str, str]:
    page = client.post("lookup", data={"insz": ANNA, "scheme": UITPAS}, headers=headers)
    assert page.status_code == 200, page.text
    ref = re.search(r'name="lookup" value="([0-9a-f-]{36})"', page.text)
    return page.text, ref.group(1) if ref else ""


def _bezwaren(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Bezwaar.insz, Bezwaar.recorded_by, Bezwaar.channel))]  # type: ignore[misc]


def test_a_user_who_may_edit_the_scheme_records_a_bezwaar_by_reference(client: Any, auth: Any,
                                                                        ledger: Engine) -> None:
    headers = _headers(auth, "an.callcenter", "user")
    page, ref = _lookup(client, headers)
    assert 'id="bezwaar-form"' in page and ANNA not in page
    assert '<option value="web">webformulier</option>' in page  # the channels in Dutch, the codes stored

    done = client.post("bezwaar", data={"lookup": ref, "scheme": UITPAS, "channel": "phone",
                                        "received": "2026-03-02", "note": "per telefoon"}, headers=headers)

    assert done.status_code == 200 and "Bezwaar #1 geregistreerd" in done.text and ANNA not in done.text
    assert _bezwaren(ledger) == [(ANNA, "an.callcenter", "phone")]
    again, _ = _lookup(client, headers)
    assert 'id="casework"' in again and "Bezwaar #1 ontvangen op 02/03/2026 via telefoon" in again
    assert "Geregistreerd door an.callcenter" in again


def test_a_viewer_gets_no_form_and_a_403(client: Any, auth: Any, ledger: Engine) -> None:
    headers = _headers(auth, "bo.viewer", "viewer")
    page, ref = _lookup(client, headers)
    assert 'id="bezwaar-form"' not in page
    refused = client.post("bezwaar", data={"lookup": ref, "scheme": UITPAS, "channel": "phone",
                                           "received": "2026-03-02"}, headers=headers)
    assert refused.status_code == 403
    assert _bezwaren(ledger) == []


def test_no_login_no_bezwaar_and_another_users_lookup_does_not_name_anyone(client: Any, auth: Any,
                                                                            ledger: Engine) -> None:
    _, ref = _lookup(client, _headers(auth, "an.callcenter", "user"))
    data = {"lookup": ref, "scheme": UITPAS, "channel": "phone", "received": "2026-03-02"}
    assert client.post("bezwaar", data=data).status_code == 401
    assert client.post("bezwaar", data=data, headers=_headers(auth, "cas.other", "user")).status_code == 404
    assert _bezwaren(ledger) == []


def test_the_bezwaar_is_against_the_real_decision_the_lookup_shows_never_a_trial_runs(client: Any, auth: Any,
                                                                                      ledger: Engine) -> None:
    """Anna's newest decision is a trial run's (2026-12: nothing granted or sent); the lookup shows her real one
    (2026-10) and says the bezwaar is against it: so must the ledger be, with its deadline from that letter."""
    from proactief.casework import CaseworkError, record_bezwaar
    from proactief.ledger.models import DecisionRow, SchemeRun

    headers = _headers(auth, "an.callcenter", "user")
    page, ref = _lookup(client, headers)
    assert "<b>2026-10</b>" in page
    done = client.post("bezwaar", data={"lookup": ref, "scheme": UITPAS, "channel": "letter",
                                        "received": "2026-10-20"}, headers=headers)
    assert done.status_code == 200, done.text
    with ledger.connect() as conn:
        row = conn.execute(select(Bezwaar.period, DecisionRow.period, SchemeRun.dry_run, Bezwaar.deadline,
                                  Bezwaar.late)
                           .join(DecisionRow, DecisionRow.id == Bezwaar.decision_id)
                           .join(SchemeRun, SchemeRun.id == DecisionRow.run_id)).one()
        trial = conn.execute(select(DecisionRow.id).join(SchemeRun, SchemeRun.id == DecisionRow.run_id)
                             .where(DecisionRow.insz == ANNA, SchemeRun.dry_run.is_(True))).scalar_one()
    assert tuple(row) == ("2026-10", "2026-10", False, row.deadline, False)
    assert "termijn tot 31/10/2026" in done.text  # 30 days from the letter of 1 October, not from the trial run
    # named explicitly (CLI, JSON API), a trial run's decision is refused with a clear error
    with pytest.raises(CaseworkError, match="trial run"):
        record_bezwaar(ledger, insz=ANNA, scheme_id=UITPAS, channel="phone", received_on=row.deadline,
                       recorded_by="an.callcenter", decision_id=trial)
