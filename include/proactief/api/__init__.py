"""The JSON API for the city's other systems (issue 17.5): one person's status per scheme, and the writes (opt-out,
bezwaar) the call centre's CRM and "Mijn Gent" make. No Airflow here; ``plugins/proactief_airflow/api.py`` adds the
HTTP routes, the authentication and the per-scheme authorization."""

from __future__ import annotations

from proactief.api.status import (
    API_AFNEMER,
    API_SERVICE,
    BezwaarStatus,
    DecisionStatus,
    GrantStatus,
    LetterStatus,
    OptOutStatus,
    PersonStatus,
    Reason,
    SchemeStatus,
    person_status,
    status_and_audit,
)
from proactief.api.writes import record_bezwaar_once

__all__ = [
    "API_AFNEMER",
    "API_SERVICE",
    "BezwaarStatus",
    "DecisionStatus",
    "GrantStatus",
    "LetterStatus",
    "OptOutStatus",
    "PersonStatus",
    "Reason",
    "SchemeStatus",
    "person_status",
    "record_bezwaar_once",
    "status_and_audit",
]
