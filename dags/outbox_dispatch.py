"""Outbox dispatch: deliver granted benefits to the systems that pay them out, then tell citizens.

Hourly from 07:00 to 20:00 (Europe/Brussels), after the scheme runs of 06:00, so every benefit a person was
granted that morning goes out in **one** combined message ("Wat de stad u toekent").

- `deliver_grants`: UiTPAS (kansentarief via the UiTPAS API), IVAGO (daily voucher file), school billing
  (export per school year), LEZ (MAGDA RegistreerLEZGegevens). Each adapter reads before it writes, so a retry
  never grants twice.
- `send_notices`: e-mail (SMTP), letter (PDF for the print service), eBox — only for grants the downstream
  system has: the letter may not promise what the UiTPAS counter does not know yet. The opt-out is checked again just
  before sending; the message id is derived from the outbox rows, so a resend is detectable.
- A person entitled to the kansentarief without a UiTPAS is not a failure: the grant waits for the pass
  (`waiting_card`, "wacht op pas"), the letter goes at once and says how to get the pass, every dispatch asks
  UiTPAS again (`card_arrived` when the pass is there: no second letter) and the wait expires after the scheme's
  `grant.awaiting_card` days (`expired`; `proactief outbox cards`, runbook: "Grants waiting for a pass").
- `send_decision_letters`: the letter telling a case worker's decision on an objection (a manual grant's once the
  downstream system has the grant); failures wait or show in `proactief bezwaar list`.
- A downstream outage leaves the rows pending with a back-off: the next hour tries again; nothing is lost.
  Rows that need a person (rejected, or still failing after 8 attempts) fail `report`, which e-mails the
  operators (runbook: "Outbox rows failed").

Returns counts per channel only, never personal data.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, task
from airflow.sdk.exceptions import AirflowFailException
from proactief_airflow import runtime
from proactief_airflow.factory import OWNER_TEAM, SERVICE_START_DATE, default_args

with DAG(
    dag_id="outbox_dispatch",
    description="Deliver grants downstream (UiTPAS, IVAGO, school billing, LEZ) and send the citizens' notices",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 7-20 * * *", timezone="Europe/Brussels"),
    start_date=SERVICE_START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(OWNER_TEAM),
    tags=["proactief", "outbox", "notify"],
):

    @task
    def deliver_grants() -> dict[str, Any]:
        from proactief.lifecycle.outbox import dispatch_grants
        from proactief.wiring import grant_adapters

        with runtime.ledger() as engine:
            adapters = grant_adapters(runtime.delivery_config(), magda=runtime.magda_config(), engine=engine)
            return dispatch_grants(engine, adapters)

    @task
    def send_notices() -> dict[str, Any]:
        from proactief.lifecycle.outbox import dispatch_notices
        from proactief.notify.render import render
        from proactief.wiring import notice_channels

        with runtime.ledger() as engine:
            return dispatch_notices(engine, notice_channels(runtime.delivery_config()), render)

    @task
    def send_decision_letters() -> dict[str, Any]:
        """Letters telling a case worker's decision on an objection (bezwaar_beslissing), same channels."""
        from proactief.casework import dispatch_decision_letters
        from proactief.wiring import notice_channels

        with runtime.ledger() as engine:
            return dispatch_decision_letters(engine, notice_channels(runtime.delivery_config()))

    @task
    def report(grants: dict[str, Any], notices: dict[str, Any]) -> dict[str, Any]:
        from proactief.lifecycle.outbox import delivery_status

        with runtime.ledger() as engine:
            status = delivery_status(engine)
        new_failures = sum(int(v.get("failed", 0)) for v in (*grants.values(), *notices.values()))
        if new_failures:
            raise AirflowFailException(f"{new_failures} outbox rows failed and need a person "
                                       f"(runbook: 'Outbox rows failed'); status: {status}")
        return {"grants": grants, "notices": notices, "status": status}

    grants = deliver_grants()
    notices = send_notices()
    grants >> notices  # a letter only tells what the downstream system already has
    grants >> send_decision_letters()
    report(grants, notices)
