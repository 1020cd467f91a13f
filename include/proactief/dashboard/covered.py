"""Which eligible persons have the benefit: a decision's grant key matched with the live grants, in Python.

The grant key sits in the decision's JSON ``advice``; a join on that expression left PostgreSQL without an
estimate, and it compared every decision with every grant (63-71 s for one UiTPAS run of the e2e ledger, which
timed out the dashboard in the browser). Here each table is read once with an indexed query and the match is a
dict lookup: linear in the decisions read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, or_, select

from proactief.ledger.models import DecisionRow, GrantRow, Notice, OutboxMessage

__all__ = ["NOT_HELD", "decisions_with_keys", "failed_delivery", "live_grants", "notified"]

CHUNK = 5000


NOT_HELD = ("cancelled", "expired")
"""A cancelled grant (objection before delivery) and one that expired waiting for a card reached nobody."""


def live_grants(conn: Connection, scheme_id: str) -> dict[str, int]:
    """Grant key -> grant id of the scheme's grants someone holds (not cancelled, not expired)."""
    return dict(conn.execute(select(GrantRow.grant_key, GrantRow.id)
                             .where(GrantRow.scheme_id == scheme_id, GrantRow.status.not_in(NOT_HELD))).all())


def decisions_with_keys(conn: Connection, run_ids: Sequence[int],
                        decision: str | None = None) -> list[tuple[int, str, str, str | None]]:
    """(run id, subject, decision, grant key) of the runs' decisions (of one outcome when ``decision`` is given)."""
    query = select(DecisionRow.run_id, DecisionRow.insz, DecisionRow.decision,
                   DecisionRow.advice["grant_key"].as_string()).where(DecisionRow.run_id.in_(run_ids))
    if decision is not None:
        query = query.where(DecisionRow.decision == decision)
    return [(int(r), i, d, k) for r, i, d, k in conn.execute(query)] if run_ids else []


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(set(ids))
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def notified(conn: Connection, grant_ids: Iterable[int]) -> set[int]:
    """The grants among ``grant_ids`` whose notification was sent."""
    out: set[int] = set()
    for part in _chunks(grant_ids):
        out.update(conn.execute(select(OutboxMessage.grant_id).where(
            OutboxMessage.grant_id.in_(part), OutboxMessage.kind == "notify",
            OutboxMessage.status == "sent")).scalars())
    return out


def failed_delivery(conn: Connection, grant_ids: Iterable[int]) -> set[int]:
    """The grants among ``grant_ids`` with an outbox row or a notice that failed."""
    out: set[int] = set()
    for part in _chunks(grant_ids):
        out.update(conn.execute(select(OutboxMessage.grant_id).select_from(OutboxMessage)
                                .outerjoin(Notice, Notice.id == OutboxMessage.notice_id)
                                .where(OutboxMessage.grant_id.in_(part),
                                       or_(OutboxMessage.status == "failed", Notice.status == "failed"))).scalars())
    return out
