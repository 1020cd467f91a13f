"""Casework after a decision (issue 17.3): an objection (*bezwaar*) against one decision, a case worker's decision
by hand with four eyes on a grant, and the letter that tells it. No Airflow here; the CLI, the dashboard and the
outbox DAG call these functions. The automatic runs respect a manual decision (``lifecycle.manual_decisions``)."""

from __future__ import annotations

from proactief.casework.core import (
    BEZWAAR_CHANNEL_LABELS,
    BEZWAAR_CHANNELS,
    BEZWAAR_TERMIJN_DAGEN,
    CaseworkError,
    CaseworkItem,
    NotAllowed,
    bezwaar_deadline_days,
    casework_counts,
    casework_of,
    confirm_manual_decision,
    list_casework,
    record_bezwaar,
    record_manual_decision,
    withdraw_bezwaar,
)
from proactief.casework.letters import dispatch_decision_letters, render_decision_letter

__all__ = [
    "BEZWAAR_CHANNEL_LABELS",
    "BEZWAAR_CHANNELS",
    "BEZWAAR_TERMIJN_DAGEN",
    "CaseworkError",
    "CaseworkItem",
    "NotAllowed",
    "bezwaar_deadline_days",
    "casework_counts",
    "casework_of",
    "confirm_manual_decision",
    "dispatch_decision_letters",
    "list_casework",
    "record_bezwaar",
    "record_manual_decision",
    "render_decision_letter",
    "withdraw_bezwaar",
]
