"""What a scheme run stages of an advice, computed one way for both places that decide (issue 20).

The advice service deciding a run's chunk (``purpose: grant`` batches) and a run that asks MAGDA itself
(:func:`proactief.lifecycle.runs.query_chunk` in-process, the default) reduce an
:class:`~proactief.advice.engine.Advice` to the same staged summary here: the advice's JSON, the grant's terms,
the grant key and the household's recipient, and the transient / data-error flags the MAGDA data-quality gate
counts; both withhold objectors with :func:`objectors`. It lives with the service (the runs import it, as they
import the service's client) and loads neither Airflow, the advice engine nor the MAGDA client.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from proactief.ledger.models import OptOut
from proactief.schemes import Outcome, Scheme
from proactief.schemes.facts import DATA_ERROR_REASON, TRANSIENT_REASON
from proactief.schemes.subjects import identity_parts

if TYPE_CHECKING:
    from proactief.advice import Advice

__all__ = ["TRANSIENT_REASONS", "AnswerDates", "grant_key", "objectors", "staged_flags", "staged_summary"]

TRANSIENT_REASONS = frozenset({TRANSIENT_REASON, "CITY_DATA_UNAVAILABLE"})
"""An undetermined decision with one of these reasons waits for MAGDA or the city to answer: it is counted as
transient by the MAGDA data-quality gate (too many → the run stops instead of deciding). One with
``DATA_ERROR_REASON`` is quarantined instead: counted apart (``data_errors``), reported to the operators, not part
of the transient share — a retry does not mend a wrong number."""


def staged_flags(advice: Advice) -> dict[str, Any]:
    """``outcome``, ``transient`` and ``data_error`` of a staged advice (what the MAGDA gate counts)."""
    transient = advice.decision is Outcome.UNDETERMINED and bool(TRANSIENT_REASONS & set(advice.reasons))
    data_error = advice.decision is Outcome.UNDETERMINED and DATA_ERROR_REASON in advice.reasons
    return {"outcome": advice.decision.value, "transient": transient, "data_error": data_error}


def staged_summary(advice: Advice, scheme: Scheme, *, trace_as: Any = None) -> dict[str, Any]:
    """What is staged of an advice: its summary, and for a grant its terms (and, eligible, its key)."""
    summary = advice.to_json(trace_as=trace_as)
    if advice.grant is not None:
        summary["grant_terms"] = {
            "system": advice.grant.system,
            "valid_from": advice.grant.valid_from.isoformat(),
            "valid_until": advice.grant.valid_until.isoformat() if advice.grant.valid_until else None,
            "key_parts": [[k, v] for k, v in advice.grant.key_parts],
            "attributes": dict(advice.grant.attributes),
            **{part.name: getattr(advice.grant, part.name) for part in identity_parts()},
            "amounts": {k: str(v) for k, v in advice.amounts.items()},
            "percentages": {k: str(v) for k, v in advice.percentages.items()},
            "basis": dict(advice.grant.basis),
            "sources": list(dict.fromkeys(s.source for s in advice.trace if s.outcome.value in ("true", "false"))),
        }
        if advice.decision is Outcome.ELIGIBLE:
            # A household scheme asked about a member grants the household once, to its reference person.
            recipient = advice.household_reference or advice.subject
            summary["grant_key"] = grant_key(scheme, recipient, summary["grant_terms"])
            if advice.household_reference is not None:
                summary["grant_recipient"] = advice.household_reference
    return summary


def grant_key(scheme: Scheme, insz: str, terms: dict[str, Any]) -> str:
    """The scheme's idempotency key with the subject as its INSZ digest (stable, not reversible in a log)."""
    subject = hashlib.sha256(insz.encode()).hexdigest()[:20]
    return "|".join(subject if name == "subject" else str(value) for name, value in terms["key_parts"])


def objectors(engine: Engine, people: Iterable[str]) -> set[str]:
    """Who among ``people`` objects now, in a short read of its own (the advisor asks while no transaction is
    open): an objection recorded during a run is honoured from the next question on."""
    wanted = list(people)
    out: set[str] = set()
    with engine.connect() as conn:
        for i in range(0, len(wanted), 5000):
            out.update(conn.execute(select(OptOut.insz).where(OptOut.active.is_(True),
                                                              OptOut.insz.in_(wanted[i:i + 5000]))).scalars())
    return out


class AnswerDates:
    """An audit sink in front of the ledger's: passes every consultation on and keeps, per MAGDA service, the date
    of the latest answer (ok or definitive) — the as-of of what a run learnt from that source (no values)."""

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self.latest: dict[str, dt.date] = {}

    def record(self, consultations: Sequence[Any]) -> None:
        self._sink.record(consultations)
        with self._lock:
            for c in consultations:
                if str(getattr(c.outcome, "value", c.outcome)) in ("ok", "definitive"):
                    at = c.requested_at if c.requested_at.tzinfo is not None else c.requested_at.replace(tzinfo=dt.UTC)
                    day = at.astimezone(dt.UTC).date()
                    self.latest[c.service] = max(day, self.latest.get(c.service, day))
