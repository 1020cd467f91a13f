"""The scheme runs' deadline reference: when the run was first queued, kept when a task is cleared.

Why not ``DeadlineReference.DAGRUN_QUEUED_AT``: Airflow 3.3.2 recalculates a pending ``DagRunQueuedAtDeadline``
whenever a task of the run is cleared and reads the stored interval (a serialized dict since 3.3) as seconds, so
``airflow tasks clear`` fails with ``TypeError: unsupported type for timedelta seconds component: dict`` and the
UI's / REST API's Clear answers HTTP 500 (apache/airflow issue 70368, fix proposed in pull request 70370). The
clear path recalculates only that built-in reference type, by name; this reference gives the same moment
(``dag_run.queued_at`` when the run is created) under another name, so clearing works. The one difference: a
clear does not move the deadline — the run must still be finished within its period's time after it was first
queued, which is what the operators' "Deadline gemist" mail is about (the business day).

Registered through the ``proactief_deadlines`` plugin (``plugins/proactief_deadlines.py``): the scheduler, the
api-server and the CLI decode it by its class path. ``_evaluate_with`` runs in those (core) processes only, so
its imports of Airflow's models are deferred into the method, as Airflow's custom-reference docs ask.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import BaseDeadlineReference

__all__ = ["FirstQueuedAtDeadline"]


class FirstQueuedAtDeadline(BaseDeadlineReference):
    """A DagRun's ``queued_at`` when the run is created (a later clear leaves the deadline where it was)."""

    required_kwargs = {"dag_id", "run_id"}

    def _evaluate_with(self, *, session: Any, **kwargs: Any) -> dt.datetime | None:
        """The run's queued_at, else (a run created as running) now: every scheme run gets its deadline."""
        from airflow.models import DagRun
        from sqlalchemy import select

        row = session.execute(select(DagRun.queued_at).where(DagRun.dag_id == kwargs["dag_id"],
                                                              DagRun.run_id == kwargs["run_id"])).one_or_none()
        if row is None:
            return None
        return row[0] or dt.datetime.now(dt.UTC)
