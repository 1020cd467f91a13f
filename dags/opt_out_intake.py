"""Opt-out intake: apply the objection files the contact centre and the web form drop in the inbox.

Every 15 minutes, each ``*.csv`` in ``PROACTIEF_OPTOUT_INBOX`` (columns ``insz,action,channel,at``; action
``object`` or ``withdraw``) is applied with ``import_objections`` — an objection takes effect at once: pending
notices cancelled, staged facts deleted — and moved to ``processed/`` (or ``failed/`` when the file cannot be
read at all). A file with rejected lines (bad INSZ, action or date) has its valid lines applied and a
``processed/<file>.rejected.txt`` next to it naming each rejected line by number and reason (never its content).
Either way the task then fails and e-mails the operators: an objection that was not recorded needs a person.
Re-applying a file changes nothing. The other way in is the command ``proactief optout add``.

Then every new objection (from a file, the command or the dashboard) is unsubscribed from MAGDA's repertorium
(``RegistreerUitschrijving``), once; one MAGDA could not take is tried again at the next intake (``unsubscribe``
in the task's result: ``failed`` > 0 is logged as a warning, it does not fail the task).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, task
from airflow.sdk.exceptions import AirflowFailException
from proactief_airflow import runtime
from proactief_airflow.factory import OWNER_CONTACT_CENTRE, SERVICE_START_DATE, default_args

with DAG(
    dag_id="opt_out_intake",
    description="Apply objection (opt-out) files from the intake inbox",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="Europe/Brussels"),
    start_date=SERVICE_START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(OWNER_CONTACT_CENTRE),
    tags=["proactief", "opt-out"],
):

    @task
    def apply_intake_files() -> dict[str, Any]:
        import os
        import shutil
        from pathlib import Path

        from proactief.ledger.audit import LedgerAuditSink
        from proactief.lifecycle import import_objections
        from proactief.lifecycle.optout import IntakeFileError, unsubscribe_objectors
        from proactief.magda.client import MagdaClient

        raw = os.environ.get("PROACTIEF_OPTOUT_INBOX")
        if not raw:
            raise AirflowFailException("PROACTIEF_OPTOUT_INBOX is not set")
        inbox = Path(raw)
        processed, failed = inbox / "processed", inbox / "failed"
        processed.mkdir(parents=True, exist_ok=True)
        totals = {"files": 0, "recorded": 0, "withdrawn": 0, "unchanged": 0, "rejected": 0}
        unreadable: list[str] = []
        with_rejections: list[str] = []
        with runtime.ledger() as engine:
            for path in sorted(p for p in inbox.glob("*.csv") if p.is_file()):
                try:
                    out = import_objections(engine, path)
                except IntakeFileError:
                    failed.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(path), failed / path.name)
                    unreadable.append(path.name)
                    continue
                totals["files"] += 1
                for key in ("recorded", "withdrawn", "unchanged", "rejected"):
                    totals[key] += int(out.get(key, 0))
                if out.get("rejected"):
                    listed = list(out.get("errors") or [])
                    more = int(out["rejected"]) - len(listed)
                    report = "\n".join(listed + ([f"... and {more} more"] if more > 0 else [])) + "\n"
                    (processed / f"{path.name}.rejected.txt").write_text(report, encoding="utf-8")
                    with_rejections.append(path.name)
                shutil.move(str(path), processed / path.name)
            with MagdaClient(runtime.magda_config(), LedgerAuditSink(engine)) as client:
                unsubscribed = unsubscribe_objectors(engine, client)
        problems = []
        if unreadable:
            problems.append(f"{len(unreadable)} intake file(s) could not be read, moved to failed/: "
                            f"{', '.join(unreadable)}")
        if with_rejections:
            problems.append(f"{totals['rejected']} line(s) rejected (not recorded) in {', '.join(with_rejections)}; "
                            "the reasons per line are in processed/<file>.rejected.txt")
        if problems:
            raise AirflowFailException("; ".join(problems) + f" (applied: {totals}; repertorium: {unsubscribed})")
        return {**totals, "unsubscribe": unsubscribed}

    apply_intake_files()
