"""The outbox dispatcher: hand pending grants to their downstream systems and send pending notices.

Exactly once, or detectably twice, by construction:

- A batch of due outbox rows is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL) and stays locked
  while its adapter delivers it; the outcome is written in the same transaction. A killed dispatcher rolls back,
  the rows are due again, and the adapters are idempotent by grant key (they read before they write), so the
  downstream system ends up with the benefit once. Two dispatchers never take the same rows.
- A transient failure (outage, 5xx, 429) leaves the row ``pending`` with ``attempts`` + 1 and a back-off in
  ``next_attempt_at``; after ``max_attempts`` it becomes ``failed`` (a person looks; the run report and the
  dispatch figures show it). A permanent failure is ``failed`` at once. Nothing is ever dropped.
- No card yet ("wacht op pas"): an adapter that answers :class:`AwaitingCard` (UiTPAS: the person has no pass, or
  no membership of the card system) puts the grant row in ``waiting_card``: not a failure, no attempt spent. The
  citizen's notification goes out at once (the letter says the kansentarief is ready and how to get the pass). Every
  later dispatch asks once more; when the pass is there the benefit is written and the row becomes ``sent`` (the
  letter went already: no second one). After the scheme's wait (``terms["awaiting_card"]["wait_days"]``, counted
  from the grant; never past the grant's end) the row and its grant become ``expired``.
- Notifications: once the downstream system has the grant (or the grant waits for a card), every pending
  notification of one addressee and channel becomes one :class:`Notice` (one combined letter for several benefits;
  a child's onderwijskorting is addressed to a parent, ``outbox.addressee``, so a family gets one message listing
  every child: :mod:`proactief.lifecycle.addressees`; it waits while a sibling's grant is still on its way),
  whose message id is derived from its outbox rows; a resend after a crash between sending and recording
  carries the same ``Message-ID``, so the receiving side can tell.
- The opt-out is checked again in the claiming transaction, just before delivering or sending: an objection that
  arrived after the grant cancels what was not delivered yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from proactief.delivery import AwaitingCard, Delivered, DeliveryError, TransientDeliveryError
from proactief.grants.base import GrantAdapter, GrantOrder
from proactief.ledger.models import GrantRow, Notice, OptOut, OutboxMessage, Resident
from proactief.lifecycle.addressees import household_parents, names
from proactief.lifecycle.holds import held_schemes

if TYPE_CHECKING:
    from proactief.notify.model import BenefitLine, CardInfo, NoticeChannel, RenderedNotice
    from proactief.notify.model import Notice as NoticeData

__all__ = ["DEFAULT_CARD_WAIT_DAYS", "EXPIRED", "WAITING_CARD", "backoff", "card_deadline", "card_waits",
           "delivery_status", "dispatch_grants", "dispatch_notices", "failed_rows", "requeue_failed"]

log = logging.getLogger("proactief.outbox")

GRANT_KINDS = ("grant", "revoke")
NOTIFY_STOP = "notify_stop"
"""The outbox kind of a "benefit stops" notification (queued with a ``revoke``)."""
NOTIFY_RENEW = "notify_renew"
"""The outbox kind of a "benefit runs longer" notification (queued with a renewal grant, never with ``notify``)."""
NOTICE_KINDS = {"notify": "toegekend", NOTIFY_STOP: "stopgezet", NOTIFY_RENEW: "verlengd"}
"""Outbox kind → the message it becomes; each kind makes its own message (a renewal is never a "toegekend")."""
MAX_ATTEMPTS = 8
WAITING_CARD = "waiting_card"
"""Outbox status of a grant row whose person has no card yet ("wacht op pas"): retried at every dispatch."""
EXPIRED = "expired"
"""Outbox (and grant) status of a grant that waited for a card longer than its scheme allows."""
DEFAULT_CARD_WAIT_DAYS = 180
"""How long a grant waits for a card when its terms do not say (a grant made before the scheme set a wait)."""


def card_deadline(granted_at: dt.datetime | dt.date, terms: Mapping[str, Any] | None, valid_until: dt.date | None,
                  default_days: int = DEFAULT_CARD_WAIT_DAYS) -> dt.date:
    """The last day a grant waits for its card: the grant's date plus the scheme's wait
    (``terms["awaiting_card"]["wait_days"]``), and never after the grant's own end."""
    card = (terms or {}).get("awaiting_card") or {}
    try:
        days = int(card.get("wait_days", default_days))
    except (TypeError, ValueError):
        days = default_days
    start = granted_at.date() if isinstance(granted_at, dt.datetime) else granted_at
    last = start + dt.timedelta(days=days)
    return min(last, valid_until) if valid_until is not None else last


def backoff(attempts: int, retry_after: float | None = None) -> dt.timedelta:
    """How long a row waits after its ``attempts``-th failure: 1, 2, 4 … minutes, at most 6 hours, at least
    what the downstream system asked for (``Retry-After``)."""
    seconds = min(60 * 2 ** max(attempts - 1, 0), 6 * 3600)
    return dt.timedelta(seconds=max(seconds, retry_after or 0))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _due(now: dt.datetime) -> Any:
    return or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)


def _locking(conn: Connection, stmt: Any) -> Any:
    return stmt.with_for_update(skip_locked=True, of=OutboxMessage) if conn.dialect.name == "postgresql" else stmt


def _opted_out(conn: Connection, people: Sequence[str]) -> set[str]:
    out: set[str] = set()
    people = list(dict.fromkeys(people))
    for i in range(0, len(people), 5000):
        out.update(conn.execute(select(OptOut.insz).where(OptOut.active.is_(True),
                                                          OptOut.insz.in_(people[i:i + 5000]))).scalars())
    return out


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _order(row: Any) -> GrantOrder:
    revoke_from = None
    if row.kind == "revoke":
        revoke_from = dt.date.fromisoformat(str((row.terms or {}).get("revoke_from") or row.valid_until))
    return GrantOrder(outbox_id=row.outbox_id, message_id=row.message_id, kind=row.kind, grant_id=row.grant_id,
                      scheme_id=row.scheme_id, grant_key=row.grant_key, insz=row.insz, period=row.period,
                      tier=row.tier, amount=_decimal(row.amount), valid_from=row.valid_from,
                      valid_until=row.valid_until, terms=dict(row.terms or {}), revoke_from=revoke_from)


def _record(conn: Connection, outbox_id: int, attempts: int, outcome: Delivered | AwaitingCard | DeliveryError,
            now: dt.datetime, max_attempts: int, *, waiting: bool = False,
            recheck: dt.timedelta = dt.timedelta(0)) -> str:
    """Write one delivery outcome; returns the figure it counts as. ``waiting``: the row waited for a card."""
    if isinstance(outcome, AwaitingCard):
        # Not an attempt that failed: no back-off, no giving up. Due again at the next dispatch (``recheck``).
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(
            status=WAITING_CARD, last_error=outcome.reason[:300], next_attempt_at=now + recheck))
        return WAITING_CARD
    if waiting and isinstance(outcome, DeliveryError) and outcome.transient:
        # Asking again failed (an outage): the row keeps waiting for its card and is asked at a later dispatch.
        retry_after = outcome.retry_after if isinstance(outcome, TransientDeliveryError) else None
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(
            last_error=_error_text(outcome), next_attempt_at=now + backoff(1, retry_after)))
        return "retry"
    if isinstance(outcome, Delivered):
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(
            status="sent", attempts=attempts + 1, sent_at=now, reference=outcome.reference[:200],
            last_error=None, next_attempt_at=None))
        return "already" if outcome.already else "delivered"
    give_up = not outcome.transient or attempts + 1 >= max_attempts
    retry_after = outcome.retry_after if isinstance(outcome, TransientDeliveryError) else None
    conn.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(
        status="failed" if give_up else "pending", attempts=attempts + 1, last_error=_error_text(outcome),
        next_attempt_at=None if give_up else now + backoff(attempts + 1, retry_after)))
    return "failed" if give_up else "retry"


def _expire_waiting(engine: Engine, at: dt.datetime, default_days: int) -> dict[str, int]:
    """Grants that waited for a card past their deadline become ``expired`` (outbox row and grant). Per channel."""
    expired: Counter[str] = Counter()
    with engine.begin() as conn:
        rows = conn.execute(_locking(conn, select(
            OutboxMessage.id, OutboxMessage.channel, GrantRow.id.label("grant_id"), GrantRow.granted_at,
            GrantRow.terms, GrantRow.valid_until)
            .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
            .where(OutboxMessage.kind == "grant", OutboxMessage.status == WAITING_CARD))).all()
        gone = [r for r in rows if at.date() > card_deadline(r.granted_at, r.terms, r.valid_until, default_days)]
        for part in range(0, len(gone), 5000):
            chunk = gone[part:part + 5000]
            conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in chunk])).values(
                status=EXPIRED, next_attempt_at=None, last_error="no card within the scheme's wait: expired"))
            conn.execute(update(GrantRow).where(GrantRow.id.in_([r.grant_id for r in chunk]),
                                                GrantRow.status == "granted").values(status=EXPIRED))
        expired.update(r.channel for r in gone)
    if gone:
        log.info("expired %d grant(s) that waited for a card past their deadline", len(gone))
    return dict(expired)


def dispatch_grants(engine: Engine, adapters: Mapping[str, GrantAdapter], *, batch: int = 200,
                    max_attempts: int = MAX_ATTEMPTS, now: Callable[[], dt.datetime] = _now,
                    card_wait_days: int = DEFAULT_CARD_WAIT_DAYS,
                    card_recheck: dt.timedelta = dt.timedelta(0)) -> dict[str, Any]:
    """Deliver every due grant/revoke outbox row to its channel's adapter. Returns counts per channel.

    A channel whose whole batch failed transiently is left for the next dispatch (the system is down: do not
    hammer it); a channel without an adapter is reported as ``no_adapter`` and its rows stay pending.

    Grants waiting for a card (``waiting_card``) are first expired when their wait ran out (figure ``expired``),
    then asked once more per dispatch (``card_recheck`` later at the earliest): ``card_arrived`` counts those
    delivered now, ``waiting_card`` those still waiting (and the ones that started to wait)."""
    figures: dict[str, Counter[str]] = defaultdict(Counter)
    started = now()
    for channel, count in _expire_waiting(engine, started, card_wait_days).items():
        figures[channel]["expired"] += count
    open_statuses = ("pending", WAITING_CARD)
    with engine.connect() as conn:
        channels = list(conn.execute(select(OutboxMessage.channel).where(
            OutboxMessage.kind.in_(GRANT_KINDS), OutboxMessage.status.in_(open_statuses)).distinct()).scalars())
        held = held_schemes(conn)
        for channel, waiting in conn.execute(
                select(OutboxMessage.channel, func.count()).join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                .where(OutboxMessage.kind.in_(GRANT_KINDS), OutboxMessage.status == "pending",
                       GrantRow.scheme_id.in_(held)).group_by(OutboxMessage.channel)):
            figures[channel]["held"] = int(waiting)  # on hold: pending, no attempt spent
    for channel in sorted(channels):
        adapter = adapters.get(channel)
        if adapter is None:
            with engine.connect() as conn:
                figures[channel]["no_adapter"] = int(conn.execute(select(func.count()).select_from(OutboxMessage)
                                                     .where(OutboxMessage.kind.in_(GRANT_KINDS),
                                                            OutboxMessage.channel == channel,
                                                            OutboxMessage.status == "pending")).scalar_one())
            continue
        while True:
            with engine.begin() as conn:
                at = now()
                rows = conn.execute(_locking(conn, select(
                    OutboxMessage.id.label("outbox_id"), OutboxMessage.message_id, OutboxMessage.kind,
                    OutboxMessage.attempts, OutboxMessage.status.label("outbox_status"), GrantRow.id.label("grant_id"),
                    GrantRow.scheme_id, GrantRow.grant_key,
                    GrantRow.insz, GrantRow.period, GrantRow.tier, GrantRow.amount, GrantRow.valid_from,
                    GrantRow.valid_until, GrantRow.terms)
                    .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                    .where(OutboxMessage.kind.in_(GRANT_KINDS), OutboxMessage.channel == channel,
                           or_(and_(OutboxMessage.status == "pending", _due(at)),
                               # a waiting row once per dispatch: the ones asked in this dispatch wait until later
                               and_(OutboxMessage.status == WAITING_CARD,
                                    or_(OutboxMessage.next_attempt_at.is_(None),
                                        OutboxMessage.next_attempt_at < started))),
                           GrantRow.scheme_id.not_in(held))
                    .order_by(OutboxMessage.id).limit(batch))).all()
                if not rows:
                    break
                opted = _opted_out(conn, [r.insz for r in rows])
                cancelled = [r for r in rows if r.insz in opted and r.kind == "grant"]
                if cancelled:
                    _cancel_grants(conn, cancelled, at)
                    figures[channel]["cancelled_opted_out"] += len(cancelled)
                todo = [r for r in rows if not (r.insz in opted and r.kind == "grant")]
                outcomes = adapter.deliver([_order(r) for r in todo]) if todo else []
                if len(outcomes) != len(todo):
                    raise RuntimeError(f"adapter {channel} answered {len(outcomes)} of {len(todo)} orders")
                counted: Counter[str] = Counter()
                for r, outcome in zip(todo, outcomes, strict=True):
                    waiting = r.outbox_status == WAITING_CARD
                    counted[_record(conn, r.outbox_id, r.attempts, outcome, at, max_attempts, waiting=waiting,
                                    recheck=card_recheck)] += 1
                    if isinstance(outcome, Delivered) and waiting:
                        counted["card_arrived"] += 1  # the letter went when it started to wait: none now
                    if isinstance(outcome, Delivered):
                        conn.execute(update(GrantRow).where(GrantRow.id == r.grant_id).values(
                            status="delivered" if r.kind == "grant" else "revoked"))
                figures[channel].update(counted)
            if todo and counted["retry"] == len(todo):
                log.warning("%s: every order of a batch failed transiently; the rest waits for the next dispatch",
                            channel)
                break
    result = {c: dict(v) for c, v in figures.items()}
    log.info("grant dispatch: %s", result)
    return result


def _cancel_grants(conn: Connection, rows: Sequence[Any], at: dt.datetime) -> None:
    """The person objected before the downstream system had the grant: cancel it, and its notification."""
    ids = [r.grant_id for r in rows]
    conn.execute(update(OutboxMessage).where(OutboxMessage.grant_id.in_(ids),
                                             OutboxMessage.status.in_(("pending", WAITING_CARD)))
                 .values(status="cancelled", last_error="opted out before delivery"))
    conn.execute(update(GrantRow).where(GrantRow.id.in_(ids)).values(status="cancelled"))


# ------------------------------------------------------------------------------------------ notices


def _notice_message_id(channel: str, message_ids: Sequence[str]) -> str:
    digest = hashlib.sha256("|".join(sorted(message_ids)).encode()).hexdigest()[:24]
    return f"notice.{channel}.{digest}@proactief.gent"


def _gather(engine: Engine, now: dt.datetime) -> Counter[str]:
    """Group pending notifications not yet in a notice into one notice per addressee, channel and kind (the
    addressee: the holder, or the parent a child's notification is addressed to, so a household gets one message
    listing every child, with the parent's own benefits if any). Only what
    the downstream system has: a grant it holds (``delivered``; the letter may not promise what the UiTPAS
    counter does not know), an exemption it has ended (``revoked``; the letter may not end what still holds) —
    or a grant that waits for the person's card (``waiting_card``: the letter says how to get the card; when the
    card comes, no second letter)."""
    figures: Counter[str] = Counter()
    grant_row = aliased(OutboxMessage)
    waits_for_card = exists().where(grant_row.grant_id == OutboxMessage.grant_id, grant_row.kind == "grant",
                                    grant_row.status == WAITING_CARD)
    with engine.begin() as conn:
        held = held_schemes(conn)
        rows = conn.execute(_locking(conn, select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.message_id,
                                                  OutboxMessage.grant_id, OutboxMessage.kind, OutboxMessage.addressee,
                                                  GrantRow.insz)
                                     .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                                     .where(OutboxMessage.status == "pending", OutboxMessage.notice_id.is_(None),
                                            GrantRow.scheme_id.not_in(held),
                                            or_(and_(OutboxMessage.kind.in_(("notify", NOTIFY_RENEW)),
                                                     GrantRow.status == "delivered"),
                                                and_(OutboxMessage.kind == "notify", GrantRow.status == "granted",
                                                     waits_for_card),
                                                and_(OutboxMessage.kind == NOTIFY_STOP,
                                                     GrantRow.status == "revoked")))
                                     .order_by(OutboxMessage.id))).all()
        if not rows:
            return figures
        # The holder objected, or the parent the message is addressed to: not written to.
        opted = _opted_out(conn, [p for r in rows for p in (r.insz, r.addressee) if p])
        gone = [r.id for r in rows if r.insz in opted or r.addressee in opted]
        if gone:
            conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_(gone)).values(
                status="cancelled", last_error="opted out before sending"))
            figures["cancelled_opted_out"] += len(gone)
        waiting = _household_waits(conn, {r.addressee for r in rows if r.addressee}, held)
        groups: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        for r in rows:
            if not (r.insz in opted or r.addressee in opted):
                groups[(r.addressee or r.insz, r.channel, r.kind)].append(r)
        for key in waiting & set(groups):  # a sibling's grant is still on its way: the whole message waits for it
            figures["waiting_for_household"] += len(groups.pop(key))
        for (insz, channel, _kind), members in groups.items():
            message_id = _notice_message_id(channel, [m.message_id for m in members])
            notice_id = conn.execute(Notice.__table__.insert().values(
                message_id=message_id, insz=insz, channel=channel, status="pending", attempts=0,
                created_at=now)).inserted_primary_key[0]
            conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_([m.id for m in members]))
                         .values(notice_id=notice_id))
            figures["notices"] += 1
            figures["combined"] += len(members) > 1
    return figures


def _household_waits(conn: Connection, addressees: set[str], held: Collection[str] = ()
                     ) -> set[tuple[str, str, str]]:
    """(addressee, channel, kind) of household notifications (addressed to a parent) that must wait: a sibling's
    notification to the same parent is pending too and its grant is still on its way to the downstream system (its
    ``grant`` row pending: a retry after an outage). Then the household gets one message listing every child once
    the last one is delivered, not one per dispatch. A sibling whose grant failed or was cancelled is not waited
    for (a person looks at it; the others are told), nor one of a held scheme (a hold may last days)."""
    if not addressees:
        return set()
    downstream = aliased(OutboxMessage)
    on_its_way = exists().where(downstream.grant_id == OutboxMessage.grant_id, downstream.kind == "grant",
                                downstream.status == "pending")
    out: set[tuple[str, str, str]] = set()
    people = sorted(addressees)
    for i in range(0, len(people), 5000):
        out.update(conn.execute(
            select(OutboxMessage.addressee, OutboxMessage.channel, OutboxMessage.kind)
            .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
            .where(OutboxMessage.addressee.in_(people[i:i + 5000]), OutboxMessage.status == "pending",
                   OutboxMessage.notice_id.is_(None), GrantRow.status == "granted", GrantRow.scheme_id.not_in(held),
                   on_its_way)).tuples())
    return out


def _card_info(g: Any, default_days: int) -> CardInfo | None:
    """How to get the card, for a "toegekend" line whose grant waits for it (not delivered when the letter goes)."""
    from proactief.notify.model import CardInfo

    if g.kind != "notify" or g.grant_status not in ("granted", EXPIRED):
        return None
    card = dict((g.terms or {}).get("awaiting_card") or {})
    price = card.get("price")
    return CardInfo(where=card.get("where"), bring=card.get("bring"),
                    price=None if price is None else Decimal(str(price)),
                    fetch_by=card_deadline(g.granted_at, g.terms, g.valid_until, default_days))


def _benefit_line(g: Any, default_days: int = DEFAULT_CARD_WAIT_DAYS, *,
                  beneficiary_name: str | None = None) -> BenefitLine:
    from proactief.notify.model import BenefitLine

    terms = dict(g.terms or {})
    ends_on = dt.date.fromisoformat(str(terms["revoke_from"])) if g.kind == NOTIFY_STOP else None
    return BenefitLine(
        scheme_id=g.scheme_id, tier=g.tier, period=g.period, valid_from=g.valid_from, valid_until=g.valid_until,
        amount=_decimal(g.amount),
        amounts={k: Decimal(str(v)) for k, v in (terms.get("amounts") or {}).items()},
        percentages={k: Decimal(str(v)) for k, v in (terms.get("percentages") or {}).items()},
        vehicle_plate=terms.get("vehicle_plate"), institution_name=terms.get("institution_name"),
        sources=tuple(terms.get("sources") or ()), ends_on=ends_on,
        previous_until=(dt.date.fromisoformat(str(terms["previous_until"]))
                        if g.kind == NOTIFY_RENEW and terms.get("previous_until") else None),
        moved_to=terms.get("moved_to") if g.kind == NOTIFY_STOP else None,
        card=_card_info(g, default_days), beneficiary_name=beneficiary_name)


def dispatch_notices(engine: Engine, channels: Mapping[str, NoticeChannel],
                     render: Callable[[NoticeData], RenderedNotice], *, batch: int = 100,
                     max_attempts: int = MAX_ATTEMPTS, now: Callable[[], dt.datetime] = _now,
                     card_wait_days: int = DEFAULT_CARD_WAIT_DAYS) -> dict[str, Any]:
    """Combine pending notifications into notices and send the due ones. Returns counts per channel.

    A "toegekend" line whose grant waits for the person's card carries how to get it (:class:`CardInfo`)."""
    from proactief.notify.model import Notice as NoticeData

    figures: dict[str, Counter[str]] = defaultdict(Counter)
    figures["all"].update(_gather(engine, now()))
    stalled: set[str] = set()
    with engine.connect() as conn:
        held = held_schemes(conn)
        # A notice gathered before its scheme was held waits whole: a letter is never sent with a part left out.
        waiting = sorted(set(conn.execute(
            select(OutboxMessage.notice_id).join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
            .join(Notice, Notice.id == OutboxMessage.notice_id)
            .where(Notice.status == "pending", OutboxMessage.status == "pending",
                   GrantRow.scheme_id.in_(held))).scalars())) if held else []
    if waiting:
        figures["all"]["held"] += len(waiting)
    while True:
        with engine.begin() as conn:
            at = now()
            stmt = select(Notice.id, Notice.message_id, Notice.insz, Notice.channel, Notice.attempts).where(
                Notice.status == "pending",
                or_(Notice.next_attempt_at.is_(None), Notice.next_attempt_at <= at),
                Notice.id.not_in(waiting),
                Notice.channel.in_([c for c in channels if c not in stalled])).order_by(Notice.id).limit(batch)
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            notices = conn.execute(stmt).all()
            if not notices:
                break
            people = {r.insz: (r.email, r.address_line) for r in conn.execute(
                select(Resident.insz, Resident.email, Resident.address_line)
                .where(Resident.insz.in_([n.insz for n in notices])))}
            grants: dict[int, list[Any]] = defaultdict(list)
            for g in conn.execute(select(OutboxMessage.id.label("outbox_id"), OutboxMessage.notice_id,
                                         OutboxMessage.kind, OutboxMessage.addressee, GrantRow.insz.label("holder"),
                                         GrantRow.scheme_id, GrantRow.tier,
                                         GrantRow.period, GrantRow.valid_from, GrantRow.valid_until,
                                         GrantRow.amount, GrantRow.terms, GrantRow.status.label("grant_status"),
                                         GrantRow.granted_at)
                                  .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                                  .where(OutboxMessage.notice_id.in_([n.id for n in notices]),
                                         OutboxMessage.status == "pending")
                                  .order_by(GrantRow.scheme_id, GrantRow.id)):
                grants[g.notice_id].append(g)
            # The addressee objected, or (a household message) a child's holder did: not told / left out.
            opted = _opted_out(conn, [*(n.insz for n in notices), *(g.holder for gs in grants.values() for g in gs)])
            gone = [g.outbox_id for gs in grants.values() for g in gs if g.holder in opted]
            if gone:
                conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_(gone)).values(
                    status="cancelled", last_error="opted out before sending"))
            grants = {k: [g for g in gs if g.holder not in opted] for k, gs in grants.items()}
            # Names, to address the message: read now, never stored or logged.
            household = {n.id for n in notices if grants.get(n.id) and all(g.addressee for g in grants[n.id])}
            greeted = household_parents(conn, {n.insz for n in notices if n.id in household})
            named = names(conn, [*(n.insz for n in notices), *(p for ps in greeted.values() for p in ps),
                                 *(g.holder for gs in grants.values() for g in gs if g.addressee)])
            transient = Counter[str]()
            for n in notices:
                if n.insz in opted or not grants.get(n.id):
                    _close_notice(conn, n.id, "cancelled", at, error="opted out before sending")
                    figures[n.channel]["cancelled_opted_out"] += 1
                    continue
                email, address = people.get(n.insz, (None, None))
                greet = greeted.get(n.insz, (n.insz,)) if n.id in household else (n.insz,)
                data = NoticeData(message_id=n.message_id, channel=n.channel, insz=n.insz, email=email,
                                  address_line=address, sent_on=at.date(),
                                  benefits=tuple(_benefit_line(g, card_wait_days,
                                                               beneficiary_name=named.get(g.holder)
                                                               if g.addressee else None)
                                                 for g in grants[n.id]),
                                  kind=NOTICE_KINDS[grants[n.id][0].kind],  # type: ignore[arg-type]
                                  addressee_names=tuple(named[p] for p in greet if p in named))
                try:
                    outcome: Delivered | DeliveryError = channels[n.channel].send(data, render(data))
                except DeliveryError as exc:
                    outcome = exc
                figure = _record_notice(conn, n, outcome, at, max_attempts)
                figures[n.channel][figure] += 1
                if figure == "retry":
                    transient[n.channel] += 1
            for channel, count in transient.items():
                if count == sum(1 for n in notices if n.channel == channel):
                    stalled.add(channel)  # down: leave the rest for the next dispatch
                    log.warning("%s: every notice of a batch failed transiently; the rest waits", channel)
    result = {c: dict(v) for c, v in figures.items() if v}
    log.info("notice dispatch: %s", result)
    return result


def _close_notice(conn: Connection, notice_id: int, status: str, at: dt.datetime, *, error: str | None = None,
                  reference: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error, "next_attempt_at": None}
    if status == "sent":
        values.update(sent_at=at, reference=reference)
    conn.execute(update(Notice).where(Notice.id == notice_id).values(**values))
    rows: dict[str, Any] = {"status": status, "last_error": error}
    if status == "sent":
        rows.update(sent_at=at, reference=reference)
    conn.execute(update(OutboxMessage).where(OutboxMessage.notice_id == notice_id,
                                             OutboxMessage.status == "pending").values(**rows))


def _record_notice(conn: Connection, n: Any, outcome: Delivered | DeliveryError, at: dt.datetime,
                   max_attempts: int) -> str:
    attempts = n.attempts + 1
    conn.execute(update(Notice).where(Notice.id == n.id).values(attempts=attempts))
    conn.execute(update(OutboxMessage).where(OutboxMessage.notice_id == n.id, OutboxMessage.status == "pending")
                 .values(attempts=OutboxMessage.attempts + 1))
    if isinstance(outcome, Delivered):
        _close_notice(conn, n.id, "sent", at, reference=outcome.reference[:200])
        return "already" if outcome.already else "sent"
    if not outcome.transient or attempts >= max_attempts:
        _close_notice(conn, n.id, "failed", at, error=_error_text(outcome))
        return "failed"
    retry_after = outcome.retry_after if isinstance(outcome, TransientDeliveryError) else None
    conn.execute(update(Notice).where(Notice.id == n.id).values(
        last_error=_error_text(outcome), next_attempt_at=at + backoff(attempts, retry_after)))
    return "retry"


# ------------------------------------------------------------------------------------------ reporting


def delivery_status(engine: Engine, run_id: int | None = None) -> dict[str, dict[str, int]]:
    """Outbox rows by ``kind/channel`` and status (of one run's grants, or all): what is still on its way."""
    with engine.connect() as conn:
        stmt = (select(OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.status, func.count())
                .group_by(OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.status))
        if run_id is not None:
            stmt = stmt.join(GrantRow, and_(GrantRow.id == OutboxMessage.grant_id, GrantRow.run_id == run_id))
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for kind, channel, status, count in conn.execute(stmt):
            out[f"{kind}/{channel}"][status] = int(count)
    return dict(out)


def card_waits(engine: Engine, *, today: dt.date | None = None, soon_days: int = 30,
               default_days: int = DEFAULT_CARD_WAIT_DAYS) -> dict[str, dict[str, Any]]:
    """Per scheme, the grants that wait for the person's card ("wacht op pas") and the ones that expired: the
    operator's figure. ``waiting``, ``expiring_soon`` (deadline within ``soon_days``), ``oldest_since`` (date
    the longest wait began), ``expired``. Counts and dates only, no personal data."""
    today = today or _now().date()
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for r in conn.execute(select(GrantRow.scheme_id, GrantRow.granted_at, GrantRow.terms, GrantRow.valid_until)
                              .join(OutboxMessage, OutboxMessage.grant_id == GrantRow.id)
                              .where(OutboxMessage.kind == "grant", OutboxMessage.status == WAITING_CARD)):
            fig = out.setdefault(r.scheme_id, {"waiting": 0, "expiring_soon": 0, "oldest_since": None, "expired": 0})
            fig["waiting"] += 1
            if (card_deadline(r.granted_at, r.terms, r.valid_until, default_days) - today).days <= soon_days:
                fig["expiring_soon"] += 1
            since = r.granted_at.date()
            if fig["oldest_since"] is None or since < fig["oldest_since"]:
                fig["oldest_since"] = since
        for scheme_id, count in conn.execute(
                select(GrantRow.scheme_id, func.count()).join(OutboxMessage, OutboxMessage.grant_id == GrantRow.id)
                .where(OutboxMessage.kind == "grant", OutboxMessage.status == EXPIRED)
                .group_by(GrantRow.scheme_id)):
            out.setdefault(scheme_id, {"waiting": 0, "expiring_soon": 0, "oldest_since": None,
                                       "expired": 0})["expired"] = int(count)
    return dict(sorted(out.items()))


def failed_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """What needs a person: failed grant/revoke rows and failed notices, with the error but no personal data."""
    with engine.connect() as conn:
        grants = [dict(r._mapping) for r in conn.execute(
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.attempts,
                   OutboxMessage.last_error, GrantRow.scheme_id, GrantRow.period)
            .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
            .where(OutboxMessage.kind.in_(GRANT_KINDS), OutboxMessage.status == "failed")
            .order_by(OutboxMessage.id))]
        notices = [dict(r._mapping) for r in conn.execute(
            select(Notice.id, Notice.channel, Notice.attempts, Notice.last_error)
            .where(Notice.status == "failed").order_by(Notice.id))]
    return {"grants": grants, "notices": notices}


def requeue_failed(engine: Engine, *, channel: str | None = None, outbox_ids: Sequence[int] = (),
                   notice_ids: Sequence[int] = ()) -> dict[str, int]:
    """Make failed rows due again once their cause is fixed: the named ones, else every failed one (of
    ``channel``). Safe to repeat: adapters read before they write and notices keep their ``Message-ID``, so a
    requeue never grants or sends twice; the opt-out is checked again when they go out.

    A notice is requeued with its outbox rows, in one transaction: a pending notice without pending rows would be
    closed as cancelled."""
    with engine.begin() as conn:
        grants = select(OutboxMessage.id).where(OutboxMessage.kind.in_(GRANT_KINDS), OutboxMessage.status == "failed")
        notices = select(Notice.id).where(Notice.status == "failed")
        if channel:
            grants = grants.where(OutboxMessage.channel == channel)
            notices = notices.where(Notice.channel == channel)
        if outbox_ids or notice_ids:
            grants = grants.where(OutboxMessage.id.in_(list(outbox_ids)))
            notices = notices.where(Notice.id.in_(list(notice_ids)))
        grant_ids = list(conn.execute(grants).scalars())
        notice_list = list(conn.execute(notices).scalars())
        again = {"status": "pending", "attempts": 0, "next_attempt_at": None, "last_error": None}
        if grant_ids:
            conn.execute(update(OutboxMessage).where(OutboxMessage.id.in_(grant_ids)).values(**again))
        rows = 0
        if notice_list:
            conn.execute(update(Notice).where(Notice.id.in_(notice_list)).values(**again))
            rows = conn.execute(update(OutboxMessage).where(OutboxMessage.notice_id.in_(notice_list),
                                                            OutboxMessage.status == "failed")
                                .values(status="pending", last_error=None)).rowcount
    log.info("requeued %d grant row(s) and %d notice(s)", len(grant_ids), len(notice_list))
    return {"grant_rows": len(grant_ids), "notices": len(notice_list), "notice_rows": int(rows or 0)}
