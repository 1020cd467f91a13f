"""E-mail the operators when a task fails (a failed data-quality gate is a task failure) or a run is late.

Both go through the SMTP provider's ``SmtpNotifier`` on the connection ``smtp_default`` to
``PROACTIEF_ALERT_EMAIL`` (default ``operators@proactief.gent.example``, comma-separated for several), from
``PROACTIEF_ALERT_FROM`` (else the connection's ``from_email`` extra, else ``airflow@proactief.gent.example``).
A message names the DAG, task and run, gives the exception's type and first line, and links to the UI; it
carries no personal data (the domain never puts an INSZ in an exception, and the message is built here, not
from a template that could render task data).

``report_data_errors`` tells the operators that MAGDA answered data errors (20002, 30004 …) for some persons of
a run: they are quarantined (no decision) while the run goes on for the others.

``ApprovalRequestNotifier`` tells the operators and the scheme owner that a run waits for a human decision
(``decision_quality.approve``): without it the first sign would be the missed deadline, hours later.

``deadline_missed`` is the deadline alerts' callback: it runs in the triggerer, which imports it from this
module (the plugins folder is on its ``sys.path``).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier

DEFAULT_RECIPIENT = "operators@proactief.gent.example"
DEFAULT_SENDER = "airflow@proactief.gent.example"
SMTP_CONN_ID = "smtp_default"
_MAX_SUMMARY = 500


def recipients() -> list[str]:
    raw = os.environ.get("PROACTIEF_ALERT_EMAIL") or DEFAULT_RECIPIENT
    return [r.strip() for r in raw.split(",") if r.strip()]


def exception_summary(exc: BaseException | str | None) -> str:
    """Type and first line of an exception, bounded: enough to act on, not a data dump."""
    if exc is None:
        return "(no exception recorded)"
    if isinstance(exc, str):
        text = exc
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= _MAX_SUMMARY else text[:_MAX_SUMMARY] + "…"


def _base_url() -> str:
    try:
        from airflow.sdk import conf

        return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")
    except Exception:  # noqa: BLE001 - a link is a nicety; never let it stop the alert
        return "http://localhost:8080"


def run_link(dag_id: str, run_id: str | None, task_id: str | None = None) -> str:
    url = f"{_base_url()}/dags/{quote(dag_id, safe='')}"
    if run_id:
        url += f"/runs/{quote(run_id, safe='')}"
        if task_id:
            url += f"/tasks/{quote(task_id, safe='')}"
    return url


def _task_of(context: Mapping[str, Any]) -> tuple[Any, str, str, str]:
    """The task instance of a callback context and its DAG, task and run ids ("?" where unknown)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "?"
    return ti, dag_id, task_id, run_id


def failure_message(context: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and HTML body for a failed task, from the task context."""
    ti, dag_id, task_id, run_id = _task_of(context)
    map_index = getattr(ti, "map_index", -1)
    try_number = getattr(ti, "try_number", None)
    where = f"{task_id}[{map_index}]" if map_index is not None and map_index >= 0 else task_id
    summary = exception_summary(context.get("exception"))
    link = run_link(dag_id, run_id, task_id)
    subject = f"[Proactief] Taak mislukt: {dag_id} / {where} / {run_id}"
    body = (
        f"<p>De taak <b>{html.escape(where)}</b> van DAG <b>{html.escape(dag_id)}</b> is mislukt "
        f"(run {html.escape(run_id)}, poging {try_number if try_number is not None else '?'}).</p>"
        f"<p>Fout: <code>{html.escape(summary)}</code></p>"
        f"<p>Log en details: <a href=\"{html.escape(link)}\">{html.escape(link)}</a></p>"
        "<p>Dit bericht bevat geen persoonsgegevens; de details staan in de Airflow-log en het grootboek.</p>"
    )
    return subject, body


def deadline_message(context: Mapping[str, Any] | None, scheme_title: str | None = None) -> tuple[str, str]:
    """Subject and HTML body for a missed deadline, from the simple context the scheduler passes."""
    context = context or {}
    dag_run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id = str(dag_run.get("dag_id", "?"))
    run_id = str(dag_run.get("dag_run_id") or dag_run.get("run_id") or "?")
    state = dag_run.get("state", "?")
    when = deadline.get("deadline_time", "?")
    link = run_link(dag_id, run_id)
    name = f" ({scheme_title})" if scheme_title else ""
    subject = f"[Proactief] Deadline gemist: {dag_id} / {run_id}"
    body = (
        f"<p>De run <b>{html.escape(run_id)}</b> van DAG <b>{html.escape(dag_id)}</b>{html.escape(name)} "
        f"was niet klaar op de deadline ({html.escape(str(when))}); toestand: {html.escape(str(state))}.</p>"
        f"<p>Bekijk de run: <a href=\"{html.escape(link)}\">{html.escape(link)}</a></p>"
    )
    return subject, body


def _smtp_notifier(subject: str, body: str) -> Any:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    class AlertEmail(SmtpNotifier):
        """SmtpNotifier whose sender falls back to ours when neither env nor connection names one."""

        def _build_email_content(self, smtp: Any, context: Any) -> None:
            if self.from_email is None:
                self.from_email = smtp.from_email or DEFAULT_SENDER
            super()._build_email_content(smtp, context)

    return AlertEmail(to=recipients(), from_email=os.environ.get("PROACTIEF_ALERT_FROM") or None,
                      subject=subject, html_content=body, smtp_conn_id=SMTP_CONN_ID)


class OperatorFailureNotifier(BaseNotifier):
    """Task failure callback (in every DAG's ``default_args``): one e-mail when a task fails for good.

    Deliberately has no template fields: the subject and body are built in Python from the context, so nothing
    a task produced is ever rendered into the message.
    """

    template_fields = ()

    def notify(self, context: Any) -> None:
        subject, body = failure_message(context)
        # subject, body and sender are all set, so SmtpNotifier renders none of its default templates.
        _smtp_notifier(subject, body).notify(context)


def approval_message(context: Mapping[str, Any], scheme_title: str, check_task_id: str) -> tuple[str, str]:
    """Subject and HTML body asking for a decision on a run the decisions check stopped (counts only)."""
    ti, dag_id, task_id, run_id = _task_of(context)
    checked: Any = None
    if ti is not None and hasattr(ti, "xcom_pull"):
        try:
            checked = ti.xcom_pull(task_ids=check_task_id)
        except Exception:  # noqa: BLE001 - the summary is a nicety; the request must go out
            checked = None
    summary = exception_summary(str(checked.get("summary"))) if isinstance(checked, Mapping) else "(zie de taak)"
    link = run_link(dag_id, run_id, task_id)
    subject = f"[Proactief] Goedkeuring nodig: {dag_id} / {run_id}"
    body = (
        f"<p>De run <b>{html.escape(run_id)}</b> van <b>{html.escape(scheme_title)}</b> wacht op een beslissing. "
        "De controle van de beslissingen vond een afwijking tegenover de vorige run; er wordt niets toegekend of "
        "verstuurd tot iemand goedkeurt.</p>"
        f"<p>Controle: <code>{html.escape(summary)}</code></p>"
        f"<p>Goedkeuren of afwijzen: <a href=\"{html.escape(link)}\">{html.escape(link)}</a> "
        "(zonder antwoord binnen 7 dagen geldt de run als afgewezen).</p>"
        "<p>Dit bericht bevat geen persoonsgegevens.</p>"
    )
    return subject, body


def data_error_message(context: Mapping[str, Any], count: int) -> tuple[str, str]:
    """Subject and HTML body telling the operators that MAGDA answered data errors: records in quarantine."""
    _ti, dag_id, _task_id, run_id = _task_of(context)
    link = run_link(dag_id, run_id)
    subject = f"[Proactief] Gegevensfout bij MAGDA: {dag_id} / {run_id}"
    body = (
        f"<p>MAGDA antwoordde voor <b>{count}</b> {'persoon' if count == 1 else 'personen'} in run "
        f"<b>{html.escape(run_id)}</b> van DAG <b>{html.escape(dag_id)}</b> met een gegevensfout (20002 ongeldig "
        "INSZ, 30004 nieuw INSZ, …). Voor hen is niets beslist (<code>undetermined</code>, reden "
        "<code>MAGDA_DATA_ERROR</code>): ze staan in quarantaine tot hun gegevens rechtgezet zijn. De run gaat verder "
        "voor de anderen.</p>"
        "<p>Wat te doen: zie het draaiboek, sectie <i>MAGDA errors and undetermined</i> (populatiesync, "
        "bevolkingsregister).</p>"
        f"<p>Run: <a href=\"{html.escape(link)}\">{html.escape(link)}</a></p>"
        "<p>Dit bericht bevat geen persoonsgegevens.</p>"
    )
    return subject, body


def _send_or_log(subject: str, body: str, context: Any, what: str, extra_to: str | None = None) -> None:
    """Send a message that must never fail its task (the task's work is done and recorded elsewhere): a mail
    that cannot go out is logged."""
    import logging

    notifier = _smtp_notifier(subject, body)
    if extra_to and "@" in extra_to and extra_to not in notifier.to:
        notifier.to = [*notifier.to, extra_to]
    try:
        notifier.notify(context)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        logging.getLogger(__name__).warning("%s e-mail not sent: %s", what, exception_summary(exc))


def report_data_errors(context: Mapping[str, Any], count: int) -> None:
    """E-mail the operators about quarantined records. Never fails the task: the check itself passed (the
    count stays in the run's figures and the DQ result)."""
    _send_or_log(*data_error_message(context, count), context, "data-error")


class ApprovalRequestNotifier(BaseNotifier):
    """Notifier of the ``approve`` step: one e-mail to the operators and the scheme owner when a run waits.

    Never fails the step: a mail that cannot go out is logged, and the request is still in the UI."""

    template_fields = ()

    def __init__(self, scheme_title: str, owner_contact: str | None, check_task_id: str) -> None:
        super().__init__()
        self.scheme_title = scheme_title
        self.owner_contact = owner_contact
        self.check_task_id = check_task_id

    def notify(self, context: Any) -> None:
        subject, body = approval_message(context, self.scheme_title, self.check_task_id)
        _send_or_log(subject, body, context, "approval request", extra_to=self.owner_contact)


notify_operators = OperatorFailureNotifier()
"""The shared instance for ``default_args["on_failure_callback"]``."""


async def deadline_missed(context: dict[str, Any] | None = None, scheme_title: str | None = None,
                          **_: Any) -> str:
    """Deadline alert callback (runs in the triggerer): e-mail the operators that a run is late."""
    subject, body = deadline_message(context, scheme_title)
    await _smtp_notifier(subject, body).async_notify(context or {})
    return subject
