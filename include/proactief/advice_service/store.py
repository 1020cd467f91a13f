"""Batches in the ledger: submitted once, claimed chunk by chunk under a lease, decided once.

Why in the ledger: every instance behind the service's URL shares it, so any of them answers a poll, and an
instance that dies leaves its claimed chunk to the others when its lease runs out (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: two instances never claim the same subject). A result is written only under the claim that asked for
it, so a late writer whose lease was taken over cannot overwrite (or duplicate) its successor's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from proactief.advice_service.models import BatchRequest, BatchResult, BatchStatus, CityFacts
from proactief.ledger.audit import _retain_until
from proactief.ledger.models import AdviceBatch, AdviceBatchItem, MagdaConsultation

__all__ = ["BatchConflict", "BatchNotFound", "Claimed", "claim", "complete", "release", "renew", "status", "submit"]

PENDING, CLAIMED, DONE, FAILED = "pending", "claimed", "done", "failed"
BATCH_SERVICE = "Proactief.Adviesdienst.Batch"
"""Audit ``service`` of a subject submitted in a batch (who asked the service about whom, for which scheme)."""


class BatchNotFound(LookupError):
    """No such batch for this application (another application's batch is not shown either)."""


class BatchConflict(ValueError):
    """The batch id is taken by a different request: a caller must not reuse an id for other subjects."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(request: BatchRequest) -> str:
    """The request's content, canonical: the same batch submitted again has the same digest."""
    content = request.model_dump(mode="json")
    if content["purpose"] == "advice":  # the default: the digest of a batch stored before migration 0015
        del content["purpose"]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def submit(engine: Engine, request: BatchRequest, *, application: str, user: str, hoedanigheid: str,
           retention_days: int) -> tuple[BatchStatus, bool]:
    """Store the batch (and one audit row per subject), or find the same one: ``(status, created)``."""
    now = _now()
    fingerprint = digest(request)
    consulted_by = f"{application}/{user}"[:120]
    try:
        with engine.begin() as conn:
            conn.execute(insert(AdviceBatch).values(
                batch_id=request.batch_id, application=application, requested_by=user[:120],
                scheme_id=request.scheme, reference_date=request.reference_date, digest=fingerprint,
                total=len(request.subjects), created_at=now, finished_at=None, purpose=request.purpose, work=None,
                retain_until=(now + dt.timedelta(days=retention_days)).date()))
            conn.execute(insert(AdviceBatchItem), [
                {"batch_id": request.batch_id, "position": i, "subject_insz": s.insz, "key": s.key,
                 "city": s.city.model_dump(mode="json"), "state": PENDING, "claimed_by": None, "claim": None,
                 "claimed_until": None, "attempts": 0, "result": None, "decided_by": None, "decided_at": None}
                for i, s in enumerate(request.subjects)])
            ref = str(uuid.uuid4())
            conn.execute(insert(MagdaConsultation), [
                {"message_ref": ref, "question_ref": ref, "service": BATCH_SERVICE,
                 "afnemer": f"Stad Gent – Automatisch Advies ({application})"[:120], "hoedanigheid": hoedanigheid[:40],
                 "gebruiker": None, "subject_insz": insz, "requested_at": now, "outcome": "submitted",
                 "code": None, "purpose": request.scheme[:80], "duration_ms": None,
                 "retain_until": _retain_until(now), "consulted_by": consulted_by}
                for insz in dict.fromkeys(s.insz for s in request.subjects)])
    except IntegrityError:
        with engine.connect() as conn:
            row = conn.execute(select(AdviceBatch).where(AdviceBatch.batch_id == request.batch_id)).one_or_none()
        if row is None:
            raise
        if row.application != application:
            raise BatchNotFound(request.batch_id) from None
        if row.digest != fingerprint:
            raise BatchConflict(f"batch {request.batch_id} exists with other content") from None
        return status(engine, request.batch_id, application=application, offset=0, limit=0), False
    return status(engine, request.batch_id, application=application, offset=0, limit=0), True


def status(engine: Engine, batch_id: str, *, application: str, offset: int, limit: int) -> BatchStatus:
    """Progress and one page of decided results (by position) of the caller's own batch."""
    with engine.connect() as conn:
        batch = conn.execute(select(AdviceBatch).where(AdviceBatch.batch_id == batch_id)).one_or_none()
        if batch is None or batch.application != application:
            raise BatchNotFound(batch_id)
        counts = dict(conn.execute(select(AdviceBatchItem.state, func.count())
                                   .where(AdviceBatchItem.batch_id == batch_id)
                                   .group_by(AdviceBatchItem.state)).all())
        rows = conn.execute(select(AdviceBatchItem.position, AdviceBatchItem.key, AdviceBatchItem.state,
                                   AdviceBatchItem.result)
                            .where(AdviceBatchItem.batch_id == batch_id,
                                   AdviceBatchItem.state.in_((DONE, FAILED)))
                            .order_by(AdviceBatchItem.position).offset(offset).limit(limit + 1)).all()
    decided, failed = int(counts.get(DONE, 0)), int(counts.get(FAILED, 0))
    finished = decided + failed
    state = "done" if finished == batch.total else ("pending" if finished == 0 and not counts.get(CLAIMED) else
                                                    "running")
    page = rows[:limit]
    as_ = "staged" if batch.purpose == "grant" else "advice"
    results = [BatchResult(position=r.position, key=r.key,
                           **{as_: r.result if r.state == DONE else None},
                           error=(r.result or {}).get("error") if r.state == FAILED else None)
               for r in page]
    more = len(rows) > limit
    work = batch.work or {}
    return BatchStatus(batch_id=batch_id, scheme=batch.scheme_id, reference_date=batch.reference_date,
                       state=state, total=batch.total, decided=decided, failed=failed, offset=offset,
                       results=results, next_offset=offset + len(page) if more else None, purpose=batch.purpose,
                       answered=work.get("answered", {}), withheld_questions=int(work.get("withheld", 0)))


@dataclass(frozen=True)
class Claimed:
    """A chunk of one batch this instance now decides: ``subjects`` are (position, INSZ, city facts)."""

    batch_id: str
    scheme_id: str
    reference_date: dt.date
    consulted_by: str
    claim: str
    subjects: tuple[tuple[int, str, CityFacts], ...]
    purpose: str = "advice"


def claim(engine: Engine, *, instance: str, size: int, lease_seconds: float) -> Claimed | None:
    """Claim up to ``size`` open subjects of the oldest batch with work (pending, or claimed under a lease that
    ran out: a dead instance's), or None when there is nothing to do."""
    now = _now()
    token = str(uuid.uuid4())
    open_ = or_(AdviceBatchItem.state == PENDING,
                and_(AdviceBatchItem.state == CLAIMED, AdviceBatchItem.claimed_until < now))
    with engine.begin() as conn:
        first = conn.execute(select(AdviceBatchItem.batch_id).where(open_)
                             .order_by(AdviceBatchItem.batch_id).limit(1)
                             .with_for_update(skip_locked=True)).first()
        if first is None:
            return None
        rows = conn.execute(select(AdviceBatchItem.position, AdviceBatchItem.subject_insz, AdviceBatchItem.city)
                            .where(AdviceBatchItem.batch_id == first.batch_id, open_)
                            .order_by(AdviceBatchItem.position).limit(size)
                            .with_for_update(skip_locked=True)).all()
        if not rows:
            return None
        conn.execute(update(AdviceBatchItem)
                     .where(AdviceBatchItem.batch_id == first.batch_id,
                            AdviceBatchItem.position.in_([r.position for r in rows]))
                     .values(state=CLAIMED, claimed_by=instance[:80], claim=token,
                             claimed_until=now + dt.timedelta(seconds=lease_seconds),
                             attempts=AdviceBatchItem.attempts + 1))
        batch = conn.execute(select(AdviceBatch).where(AdviceBatch.batch_id == first.batch_id)).one()
    return Claimed(batch.batch_id, batch.scheme_id, batch.reference_date,
                   f"{batch.application}/{batch.requested_by or '-'}"[:120], token,
                   tuple((r.position, r.subject_insz, CityFacts.model_validate(r.city)) for r in rows),
                   batch.purpose)


def renew(engine: Engine, claims: Sequence[str], lease_seconds: float) -> None:
    """Heartbeat: extend the leases of the chunks this instance is still deciding."""
    if not claims:
        return
    with engine.begin() as conn:
        conn.execute(update(AdviceBatchItem)
                     .where(AdviceBatchItem.claim.in_(list(claims)), AdviceBatchItem.state == CLAIMED)
                     .values(claimed_until=_now() + dt.timedelta(seconds=lease_seconds)))


_COMPLETE_PG = text("""
UPDATE advice_batch_item AS i
SET state = :state, result = v.result, decided_by = :decided_by, decided_at = :decided_at
FROM (SELECT unnest(CAST(:positions AS integer[])) AS position, unnest(CAST(:results AS text[]))::json AS result) AS v
WHERE i.batch_id = :batch_id AND i.position = v.position AND i.claim = :claim AND i.state = :claimed
""")


def complete(engine: Engine, chunk: Claimed, results: Mapping[int, dict[str, Any]], *, instance: str,
             failed: bool = False, answered: Mapping[str, dt.date] | None = None, withheld: int = 0) -> int:
    """Write the chunk's results under its claim; returns how many were written (0: the claim was taken over).

    ``answered`` (MAGDA service → date of its latest ok/definitive answer) and ``withheld`` (questions withheld
    for objectors) are merged into the batch's ``work`` when any result was written."""
    now = _now()
    written = 0
    work: dict[str, Any] = {}
    with engine.begin() as conn:
        if answered or withheld:  # lock the batch row first: chunks of one batch finish side by side
            work = conn.execute(select(AdviceBatch.work).where(AdviceBatch.batch_id == chunk.batch_id)
                                .with_for_update()).scalar_one_or_none() or {}
        state = FAILED if failed else DONE
        if conn.dialect.name == "postgresql" and results:
            # One statement for the chunk: an UPDATE per subject cost a round trip each (most of a whole-city
            # batch's time in the service).
            written = conn.execute(_COMPLETE_PG, {
                "state": state, "decided_by": instance[:80], "decided_at": now, "batch_id": chunk.batch_id,
                "claim": chunk.claim, "claimed": CLAIMED, "positions": list(results),
                "results": [json.dumps(r) for r in results.values()]}).rowcount or 0
        else:
            for position, result in results.items():
                written += conn.execute(update(AdviceBatchItem)
                                        .where(AdviceBatchItem.batch_id == chunk.batch_id,
                                               AdviceBatchItem.position == position,
                                               AdviceBatchItem.claim == chunk.claim,
                                               AdviceBatchItem.state == CLAIMED)
                                        .values(state=state, result=result,
                                                decided_by=instance[:80], decided_at=now)).rowcount or 0
        if written and (answered or withheld):
            dates = {k: dt.date.fromisoformat(v) for k, v in (work.get("answered") or {}).items()}
            for service, day in (answered or {}).items():
                dates[service] = max(day, dates.get(service, day))
            merged = {"answered": {k: v.isoformat() for k, v in sorted(dates.items())},
                      "withheld": int(work.get("withheld", 0)) + withheld}
            conn.execute(update(AdviceBatch).where(AdviceBatch.batch_id == chunk.batch_id).values(work=merged))
        left = conn.execute(select(func.count()).select_from(AdviceBatchItem)
                            .where(AdviceBatchItem.batch_id == chunk.batch_id,
                                   AdviceBatchItem.state.in_((PENDING, CLAIMED)))).scalar_one()
        if left == 0:
            conn.execute(update(AdviceBatch).where(AdviceBatch.batch_id == chunk.batch_id,
                                                   AdviceBatch.finished_at.is_(None)).values(finished_at=now))
    return written


def release(engine: Engine, chunk: Claimed) -> None:
    """Give a chunk back (this instance stops, or MAGDA was unavailable): another claim will take it."""
    with engine.begin() as conn:
        conn.execute(update(AdviceBatchItem)
                     .where(AdviceBatchItem.claim == chunk.claim, AdviceBatchItem.state == CLAIMED)
                     .values(state=PENDING, claimed_by=None, claim=None, claimed_until=None))
