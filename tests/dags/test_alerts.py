"""Operator alerts go out through a real SMTP server: a failed task (a failed DQ gate included) and a missed
deadline each produce one e-mail to PROACTIEF_ALERT_EMAIL naming DAG, task and run, with the error summary and a
link, and no personal data."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from proactief_airflow.alerts import (
    DEFAULT_RECIPIENT,
    deadline_missed,
    exception_summary,
    failure_message,
    notify_operators,
)

from tests.dags.airflow_env import Sink, message_text

INSZ = "85073003328"


def _context(exc: BaseException) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="uitpas-kansentarief", task_id="magda_quality.check_magda_results",
                         run_id="scheduled__2026-11-01T05:00:00+00:00", map_index=-1, try_number=1)
    return {"ti": ti, "task_instance": ti, "exception": exc, "run_id": ti.run_id}


def test_a_failed_dq_gate_emails_the_operators_with_the_summary_and_a_link(smtp: Sink) -> None:
    exc = AirflowFailException("data-quality gate magda_results failed for run 7: 3 of 40 subjects transient "
                               "(7.5% > 5.0%)")
    notify_operators(_context(exc))
    (msg,) = smtp.messages
    assert msg["To"] == "ops@proactief.test"
    assert msg["From"] == "airflow@proactief.test"
    subject = str(msg["Subject"])
    assert "uitpas-kansentarief" in subject and "magda_quality.check_magda_results" in subject
    assert "scheduled__2026-11-01T05:00:00+00:00" in subject
    body = message_text(msg)
    assert "AirflowFailException: data-quality gate magda_results failed for run 7" in body
    assert "/dags/uitpas-kansentarief/runs/scheduled__2026-11-01T05%3A00%3A00%2B00%3A00/tasks/" in body


def test_the_message_is_built_without_templates_and_bounded() -> None:
    subject, body = failure_message(_context(ValueError("{{ params.insz }}\nsecond line " + INSZ)))
    assert "{{ params.insz }}" in body  # shown literally, never rendered
    assert INSZ not in body  # only the first line of an exception goes out
    assert len(exception_summary(RuntimeError("x" * 5000))) <= 501


def test_the_default_recipient_is_the_operators_mailbox(monkeypatch: pytest.MonkeyPatch) -> None:
    from proactief_airflow.alerts import recipients

    monkeypatch.delenv("PROACTIEF_ALERT_EMAIL", raising=False)
    assert recipients() == [DEFAULT_RECIPIENT] == ["operators@proactief.gent.example"]


def test_a_missed_deadline_emails_the_operators(smtp: Sink) -> None:
    context = {"dag_run": {"dag_id": "uitpas-kansentarief", "dag_run_id": "manual__2026-11-01", "state": "running"},
               "deadline": {"id": "d1", "deadline_time": "2026-11-01T11:00:00+00:00"}}
    subject = asyncio.run(deadline_missed(context=context, scheme_title="UiTPAS Gent met kansentarief"))
    (msg,) = smtp.messages
    assert str(msg["Subject"]) == subject
    assert "Deadline gemist" in subject and "uitpas-kansentarief" in subject and "manual__2026-11-01" in subject
    body = message_text(msg)
    assert "2026-11-01T11:00:00+00:00" in body and "UiTPAS Gent met kansentarief" in body


class _WaitingTask(SimpleNamespace):
    def xcom_pull(self, task_ids: str) -> dict[str, Any]:
        assert task_ids == "decision_quality.check_decisions"
        return {"summary": "eligible share 23.4% vs 12.1% in the previous run (+11.3 points, threshold 10.0)"}


def test_a_run_waiting_for_approval_emails_the_operators_and_the_scheme_owner_with_the_check_summary(
        smtp: Sink) -> None:
    from proactief_airflow.alerts import ApprovalRequestNotifier

    ti = _WaitingTask(dag_id="uitpas-kansentarief", task_id="decision_quality.approve",
                      run_id="scheduled__2026-11-01T05:00:00+00:00", map_index=-1, try_number=1)
    ApprovalRequestNotifier("UiTPAS Gent met kansentarief", "uitpas@stad.gent",
                            "decision_quality.check_decisions")({"ti": ti, "task_instance": ti, "run_id": ti.run_id})
    (msg,) = smtp.messages
    assert msg["To"] == "ops@proactief.test, uitpas@stad.gent"
    assert "Goedkeuring nodig" in str(msg["Subject"]) and "uitpas-kansentarief" in str(msg["Subject"])
    body = message_text(msg)
    assert "+11.3 points" in body and "UiTPAS Gent met kansentarief" in body
    assert "/tasks/decision_quality.approve" in body


def test_an_approval_request_that_cannot_be_mailed_does_not_fail_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from proactief_airflow import alerts

    class Down:
        to: list[str] = []

        def notify(self, context: Any) -> None:
            raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(alerts, "_smtp_notifier", lambda subject, body: Down())
    ti = SimpleNamespace(dag_id="lez-vrijstelling", task_id="decision_quality.approve", run_id="manual__1")
    alerts.ApprovalRequestNotifier("LEZ", None, "decision_quality.check_decisions")({"ti": ti})


def test_a_data_error_report_that_cannot_be_mailed_does_not_fail_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from proactief_airflow import alerts

    class Down:
        def notify(self, context: Any) -> None:
            raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(alerts, "_smtp_notifier", lambda subject, body: Down())
    ti = SimpleNamespace(dag_id="onderwijskorting", task_id="magda_quality.check_magda_results", run_id="manual__1")
    alerts.report_data_errors({"ti": ti}, 3)  # logged, not raised
    subject, body = alerts.data_error_message({"ti": ti}, 3)
    assert subject == "[Proactief] Gegevensfout bij MAGDA: onderwijskorting / manual__1"
    assert "<b>3</b> personen" in body and "geen persoonsgegevens" in body


@pytest.mark.integration
def test_a_stale_source_fails_the_population_gate_and_the_email_names_the_source_and_its_age(
        smtp: Sink, ledger: Any, tmp_path: Any) -> None:
    import datetime as dt

    from proactief_airflow.factory import _fail_unless

    from proactief.lifecycle import check, import_city_data, open_run, select_population
    from proactief_sim.population import generate

    generate(60, 4, out=tmp_path, as_of=dt.date(2026, 11, 1))
    import_city_data(ledger, tmp_path, as_of=dt.date(2026, 10, 1))  # a month old on the run's D
    run_id = open_run(ledger, "uitpas-kansentarief", dt.date(2026, 11, 1), external_id="t/stale")
    select_population(ledger, run_id)
    result = check(ledger, run_id, "population")
    with pytest.raises(AirflowFailException) as failed:
        _fail_unless("population", run_id, result)
    ti = SimpleNamespace(dag_id="uitpas-kansentarief", task_id="population_quality.check_population",
                         run_id="scheduled__2026-11-01T05:00:00+00:00", map_index=-1, try_number=1)
    notify_operators({"ti": ti, "task_instance": ti, "exception": failed.value, "run_id": ti.run_id})
    (msg,) = smtp.messages
    assert "population_quality.check_population" in str(msg["Subject"])
    body = message_text(msg)
    assert "resident extract is as of 2026-10-01 (31 days before 2026-11-01); allowed 8 days: STALE" in body
    residents = (tmp_path / "residents.csv").read_text().splitlines()[1:]
    assert not any(line.split(",", 1)[0] in body for line in residents)  # no national number
