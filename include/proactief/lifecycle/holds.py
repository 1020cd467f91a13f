"""Holding a scheme: what "pause" means beyond the scheme's own DAG.

Pausing a scheme DAG in Airflow stops its scheduled runs, but two other DAGs act for every scheme:
``outbox_dispatch`` delivers grants and sends letters, ``reevaluate_mutations`` decides the persons MAGDA reports
as changed. An operator who pauses a scheme because something is wrong (a rule, a downstream system, a letter)
expects all of it to stop. A hold, recorded in the ledger with who and why, does that:

- the outbox leaves the scheme's grant rows and notifications ``pending`` (no attempt is spent, nothing expires);
  a notice that combines a held scheme with another waits as a whole (a letter is never sent half);
- a mutation re-evaluation selects nobody for a held scheme (its persons are decided at the scheme's next run).

Releasing the hold lets the next dispatch deliver what waited. Decisions and grants already made stay: a hold
stops what leaves the city, it does not undo; to undo, re-decide the period (runbook).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from proactief.ledger.models import SchemeHold
from proactief.schemes import scheme_ids

__all__ = ["HoldError", "held_schemes", "hold_scheme", "holds", "release_scheme"]


class HoldError(ValueError):
    """An unknown scheme, a scheme already held, or one that is not held."""


_NUMBER_LIKE_INSZ = re.compile(r"(?<!\d)\d{2}\.?\d{2}\.?\d{2}[-.]?\d{3}\.?\d{2}(?!\d)")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _known(scheme_id: str) -> str:
    if scheme_id not in scheme_ids():
        raise HoldError(f"unknown scheme {scheme_id!r}; known: {', '.join(scheme_ids())}")
    return scheme_id


def held_schemes(conn: Connection) -> set[str]:
    """The schemes on hold now, read in the caller's transaction."""
    return set(conn.execute(select(SchemeHold.scheme_id).where(SchemeHold.released_at.is_(None))).scalars())


def hold_scheme(engine: Engine, scheme_id: str, *, by: str, reason: str) -> int:
    """Put a scheme on hold; returns the hold's id. Who and why are required: the next operator must know."""
    if not by.strip() or not reason.strip():
        raise HoldError("a hold needs who (--by) and why (--reason)")
    if _NUMBER_LIKE_INSZ.search(reason):  # the reason is shown on the dashboard and in the CLI
        raise HoldError("a hold's reason must not name a person (it contains an 11-digit number)")
    with engine.begin() as conn:
        if _known(scheme_id) in held_schemes(conn):
            raise HoldError(f"{scheme_id} is already on hold")
        return int(conn.execute(SchemeHold.__table__.insert().values(
            scheme_id=scheme_id, held_at=_now(), held_by=by.strip(), reason=reason.strip())).inserted_primary_key[0])


def release_scheme(engine: Engine, scheme_id: str, *, by: str) -> None:
    """End the hold: the next outbox dispatch delivers what waited."""
    if not by.strip():
        raise HoldError("a release needs who (--by)")
    with engine.begin() as conn:
        done = conn.execute(update(SchemeHold).where(SchemeHold.scheme_id == _known(scheme_id),
                                                     SchemeHold.released_at.is_(None))
                            .values(released_at=_now(), released_by=by.strip())).rowcount
    if not done:
        raise HoldError(f"{scheme_id} is not on hold")


def holds(engine: Engine, *, scheme_id: str | None = None) -> list[dict[str, Any]]:
    """Every hold (current and past), newest first: scheme, since, by whom, why, released when and by whom."""
    stmt = select(SchemeHold.__table__).order_by(SchemeHold.held_at.desc(), SchemeHold.id.desc())
    if scheme_id is not None:
        stmt = stmt.where(SchemeHold.scheme_id == _known(scheme_id))
    with engine.connect() as conn:
        return [{"id": h.id, "scheme": h.scheme_id, "held_at": h.held_at, "held_by": h.held_by, "reason": h.reason,
                 "released_at": h.released_at, "released_by": h.released_by, "active": h.released_at is None}
                for h in conn.execute(stmt)]
