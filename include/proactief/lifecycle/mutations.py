"""MAGDA mutation notifications: who changed since the last read, staged for the schemes to re-evaluate.

The cursor is the ``Ontvangstreferte`` of the last stored batch. Sending it with the next read acknowledges that
batch, so MAGDA forgets a batch only after the ledger has it: a read whose answer is lost (crash, timeout)
gets the same batch again. A retried task (same ``external_id``) gets its stored batch back without asking MAGDA
again. Persons with an active objection are not staged.

A batch is re-evaluated per scheme. Airflow may merge several batch events into one ``reevaluate_mutations`` run;
that run takes every batch it was triggered by, plus every older batch a scheme has not decided yet (its run
failed, was rejected at the approval gate, or the scheme was on hold). A scheme's run records the batches it
decided when it finishes (``mark_batches_decided``); a batch is ``done`` once every scheme decided it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from proactief.insz import is_valid_insz
from proactief.ledger.models import MutationBatch, MutationBatchScheme, MutationSubject
from proactief.lifecycle.optout import opted_out_among

if TYPE_CHECKING:
    from proactief.magda.config import MagdaConfig

__all__ = ["MutationFetchError", "batches_to_reevaluate", "fetch_mutations", "mark_batches_decided",
           "pending_batches", "subjects_of_batch"]

log = logging.getLogger("proactief.lifecycle.mutations")


class MutationFetchError(RuntimeError):
    """MAGDA did not deliver the next batch (still unavailable after retries, or the receipt was refused)."""


def _batch_of(engine: Engine, external_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(MutationBatch.id, MutationBatch.persons)
                           .where(MutationBatch.external_id == external_id)).first()
    return None if row is None else {"batch_id": int(row.id), "persons": int(row.persons), "skipped_opted_out": 0,
                                     "again": True}


def fetch_mutations(engine: Engine, magda: MagdaConfig, *, external_id: str | None = None,
                    purpose: str | None = None) -> dict[str, Any]:
    """Read the next mutation batch and stage its persons; ``{"batch_id", "persons", "skipped_opted_out"}``.

    ``batch_id`` is ``None`` when nothing was pending (30016): nothing is stored then. Raises
    :class:`MutationFetchError` when MAGDA stays unavailable (retry later) or refuses the stored receipt (30014:
    needs a person), and the client's configuration errors as they are.
    """
    from proactief.ledger.audit import LedgerAuditSink
    from proactief.magda.audit import OutcomeClass
    from proactief.magda.client import MagdaClient

    if external_id is not None and (found := _batch_of(engine, external_id)) is not None:
        return found
    with engine.connect() as conn:
        cursor = conn.execute(select(MutationBatch.receipt).where(MutationBatch.receipt.is_not(None))
                              .order_by(MutationBatch.id.desc()).limit(1)).scalar_one_or_none()
    with MagdaClient(magda, LedgerAuditSink(engine)) as client:
        ans = client.geef_persoon_mutaties(cursor, purpose=purpose)
    if ans.outcome is OutcomeClass.TRANSIENT:
        raise MutationFetchError(f"MAGDA mutations unavailable ({ans.code or ans.detail or 'transient'}); "
                                 "the batch stays at MAGDA, try again later")
    if ans.outcome not in (OutcomeClass.OK, OutcomeClass.DEFINITIVE):
        raise MutationFetchError(f"MAGDA refused the mutation read: {ans.outcome.value} "
                                 f"{ans.code or ans.detail or ''}".rstrip())
    notes = ans.value
    if notes is None or not notes.mutaties:
        log.info("MAGDA mutations: nothing pending")
        return {"batch_id": None, "persons": 0, "skipped_opted_out": 0}
    people: dict[str, None] = {}
    invalid = 0
    for m in notes.mutaties:
        for insz in (m.insz, m.nieuw_insz):
            if not insz:
                continue
            if is_valid_insz(insz):
                people[insz] = None
            else:
                invalid += 1
    with engine.begin() as conn:
        opted = opted_out_among(conn, people)
        subjects = [p for p in people if p not in opted]
        try:
            with conn.begin_nested():
                batch_id = int(conn.execute(insert(MutationBatch).values(
                    fetched_at=dt.datetime.now(dt.UTC), receipt=notes.ontvangstreferte, persons=len(subjects),
                    external_id=external_id).returning(MutationBatch.id)).scalar_one())
        except IntegrityError:  # the same task ran twice at once: the other attempt stored the batch
            found = _batch_of(engine, external_id) if external_id is not None else None
            if found is None:
                raise
            return found
        if subjects:
            conn.execute(insert(MutationSubject), [{"batch_id": batch_id, "insz": s} for s in subjects])
    if invalid:
        log.warning("MAGDA mutations: %d notification(s) named a malformed INSZ and were ignored", invalid)
    log.info("MAGDA mutations: batch %d with %d person(s) (%d with an objection left out)", batch_id,
             len(subjects), len(opted))
    return {"batch_id": batch_id, "persons": len(subjects), "skipped_opted_out": len(opted)}


def subjects_of_batch(engine: Engine, batch_id: int) -> list[str]:
    """The persons a stored batch names (for a re-evaluation run; never for logs or XCom)."""
    with engine.connect() as conn:
        return list(conn.execute(select(MutationSubject.insz).where(MutationSubject.batch_id == batch_id)
                                 .order_by(MutationSubject.insz)).scalars())


def batches_to_reevaluate(conn: Connection, scheme_id: str, triggered: Iterable[int]) -> list[int]:
    """The batches a re-evaluation run of ``scheme_id`` covers: those it was triggered by and every older one the
    scheme has not decided, less those it already decided. Newer undecided batches are left to their own event."""
    wanted = {int(b) for b in triggered}
    if not wanted:
        return []
    decided = select(MutationBatchScheme.batch_id).where(MutationBatchScheme.scheme_id == scheme_id)
    older = conn.execute(select(MutationBatch.id).where(MutationBatch.done_at.is_(None),
                                                        MutationBatch.id <= max(wanted))).scalars()
    known = set(conn.execute(select(MutationBatch.id).where(MutationBatch.id.in_(wanted))).scalars())
    done = set(conn.execute(decided).scalars())
    return sorted((known | set(older)) - done)


def mark_batches_decided(conn: Connection, scheme_id: str, batches: Iterable[int], run_id: int,
                         schemes: Iterable[str]) -> list[int]:
    """Record that ``scheme_id`` decided ``batches`` (idempotent) and mark done those every one of ``schemes`` has
    decided; returns the batches that became done."""
    batches = sorted({int(b) for b in batches})
    if not batches:
        return []
    at = dt.datetime.now(dt.UTC)
    have = set(conn.execute(select(MutationBatchScheme.batch_id).where(
        MutationBatchScheme.scheme_id == scheme_id, MutationBatchScheme.batch_id.in_(batches))).scalars())
    new = [{"batch_id": b, "scheme_id": scheme_id, "run_id": run_id, "decided_at": at}
           for b in batches if b not in have]
    if new:
        conn.execute(insert(MutationBatchScheme), new)
    needed = sorted(set(schemes))
    complete = [int(b) for b, n in conn.execute(
        select(MutationBatchScheme.batch_id, func.count(MutationBatchScheme.scheme_id))
        .where(MutationBatchScheme.batch_id.in_(batches), MutationBatchScheme.scheme_id.in_(needed))
        .group_by(MutationBatchScheme.batch_id)) if n == len(needed)]
    if complete:
        complete = list(conn.execute(update(MutationBatch).where(
            MutationBatch.id.in_(complete), MutationBatch.done_at.is_(None)).values(done_at=at)
            .returning(MutationBatch.id)).scalars())
        log.info("mutation batch(es) %s done: every scheme decided their persons", sorted(complete))
    return sorted(complete)


def pending_batches(engine: Engine) -> dict[int, list[str]]:
    """Batches not done yet, each with the schemes that decided it so far (for operators and tests)."""
    with engine.connect() as conn:
        open_ = list(conn.execute(select(MutationBatch.id).where(MutationBatch.done_at.is_(None))
                                  .order_by(MutationBatch.id)).scalars())
        out: dict[int, list[str]] = {int(b): [] for b in open_}
        for b, s in conn.execute(select(MutationBatchScheme.batch_id, MutationBatchScheme.scheme_id)
                                 .where(MutationBatchScheme.batch_id.in_(open_))
                                 .order_by(MutationBatchScheme.scheme_id)):
            out[int(b)].append(s)
    return out
