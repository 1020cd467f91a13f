"""The letter that tells a citizen the decision on their objection (template ``bezwaar_beslissing``).

Queued with the manual decision when it takes effect (``manual_decision.letter_*``: one message id per decision,
so never twice); sent by the outbox DAG through the same channels as every notice (e-mail, letter PDF, eBox), a
grant's once the downstream system has the grant; recorded as a ``notice`` row once sent, so the access document
lists it with the other letters. A transient failure waits for the next dispatch; after ``max_attempts`` (or a
permanent failure) it is ``failed`` and a person looks. A held scheme's letters wait. The citizen asked for this
answer, so an opt-out does not stop it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, or_, select, update

from proactief.ledger.models import Bezwaar, GrantRow, ManualDecision, Notice, OutboxMessage, Resident
from proactief.lifecycle.outbox import WAITING_CARD

if TYPE_CHECKING:
    from proactief.notify.model import Notice as NoticeData
    from proactief.notify.model import NoticeChannel, RenderedNotice

__all__ = ["LETTER_TEMPLATE", "dispatch_decision_letters", "letter_addressee", "render_decision_letter"]

log = logging.getLogger("proactief.casework")

LETTER_TEMPLATE = "bezwaar_beslissing"
MAX_ATTEMPTS = 8


def letter_addressee(conn: Connection, recipient: str, insz: str) -> str:
    """Who the letter about ``insz``'s decision goes to: ``insz``, or under ``notification.recipient: parents`` a
    parent in the household (:mod:`proactief.lifecycle.addressees`). The citizen asked for this answer: an opt-out
    does not stop it, so no parent is passed over for one."""
    from proactief.lifecycle.addressees import addressees

    return addressees(conn, recipient, [insz], lambda _conn, _people: ()).to.get(insz, insz)


def _context(md: Any, received_on: dt.date | None, notice: NoticeData) -> dict[str, Any]:
    from proactief.notify.render import greeting
    from proactief.schemes import load_scheme

    scheme = load_scheme(md.scheme_id)
    ctx: dict[str, Any] = {
        "aanhef": greeting(notice.addressee_names), "kanaal": notice.channel, "verzonden_op": notice.sent_on,
        "bericht_id": notice.message_id,
        "s": {"titel": scheme.title, "dienst": scheme.owner.department, "contact": scheme.owner.contact},
        "toegekend": md.outcome == "grant", "reden": md.reason, "rechtsgrond": md.legal_ground,
        "geldig_van": md.valid_from,
    }
    if md.valid_until is not None:
        ctx["geldig_tot"] = md.valid_until
    if md.outcome == "grant" and getattr(md, "waiting_card", False):
        ctx["pas"] = _card(md)
    if received_on is not None:
        ctx["bezwaar_ontvangen"] = received_on
    return ctx


def _card(md: Any) -> dict[str, Any]:
    """How to get the card, for a manual grant that waits for it (the grant's ``awaiting_card`` terms), in the
    words of the automatic "toegekend" letter (``b.pas``)."""
    from proactief.lifecycle.outbox import DEFAULT_CARD_WAIT_DAYS, card_deadline

    terms = dict(md.grant_terms_now or {})
    card = dict(terms.get("awaiting_card") or {})
    out = {"waar": card.get("where"), "meebrengen": card.get("bring"),
           "prijs": None if card.get("price") is None else Decimal(str(card["price"])),
           "uiterlijk": card_deadline(md.granted_at, terms, md.grant_valid_until, DEFAULT_CARD_WAIT_DAYS)}
    return {k: v for k, v in out.items() if v is not None}


def _tidy(text: str) -> str:
    out: list[str] = []
    for line in (raw.rstrip() for raw in text.strip().splitlines()):
        if line or (out and out[-1]):
            out.append(line)  # at most one empty line between paragraphs
    return "\n".join(out) + "\n"


def render_decision_letter(md: Any, received_on: dt.date | None, notice: NoticeData) -> RenderedNotice:
    """Subject, text and HTML of the letter for manual decision ``md`` (a row); never shows the INSZ."""
    from proactief.notify.model import RenderedNotice
    from proactief.notify.render import RenderError, environment

    env = environment()
    ctx = _context(md, received_on, notice)
    subject = " ".join(env.get_template(f"{LETTER_TEMPLATE}/onderwerp.txt.j2").render(ctx).split())
    text = _tidy(env.get_template(f"{LETTER_TEMPLATE}/tekst.txt.j2").render(ctx))
    html = env.get_template(f"{LETTER_TEMPLATE}/html.html.j2").render(ctx)
    if notice.insz in subject or notice.insz in text or notice.insz in html:
        raise RenderError(f"letter {notice.message_id}: the rendered message contains the INSZ; not sent")
    return RenderedNotice(subject=subject, text=text, html=html)


def dispatch_decision_letters(engine: Engine, channels: Mapping[str, NoticeChannel], *,
                              render: Callable[[Any, dt.date | None, NoticeData], RenderedNotice] =
                              render_decision_letter, max_attempts: int = MAX_ATTEMPTS,
                              now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> dict[str, int]:
    """Send the pending letters of manual decisions. Returns counts (no personal data)."""
    from proactief.delivery import Delivered, DeliveryError
    from proactief.lifecycle.addressees import names
    from proactief.lifecycle.holds import held_schemes
    from proactief.notify.model import Notice as NoticeData
    from proactief.schemes import load_scheme

    figures: Counter[str] = Counter()
    with engine.begin() as conn:
        held = held_schemes(conn)
        # A grant's letter waits until the downstream system has the grant (the letter may not promise what the
        # UiTPAS counter does not know yet), as every "toegekend" notice does.
        # A grant whose person has no card yet ("wacht op pas") is told at once, with how to get the card.
        waiting = (select(OutboxMessage.id).where(OutboxMessage.grant_id == ManualDecision.grant_id,
                                                  OutboxMessage.kind == "grant",
                                                  OutboxMessage.status == WAITING_CARD).exists())
        stmt = select(ManualDecision.__table__, GrantRow.granted_at, GrantRow.terms.label("grant_terms_now"),
                      GrantRow.valid_until.label("grant_valid_until"), waiting.label("waiting_card")
                      ).outerjoin(GrantRow, GrantRow.id == ManualDecision.grant_id).where(
            ManualDecision.letter_status == "pending", ManualDecision.letter_channel.in_(list(channels)),
            ManualDecision.scheme_id.not_in(held),
            or_(ManualDecision.outcome != "grant", GrantRow.status == "delivered", waiting)
        ).order_by(ManualDecision.id)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=ManualDecision)
        for md in conn.execute(stmt).all():
            at = now()
            to = letter_addressee(conn, load_scheme(md.scheme_id).notification.recipient, md.insz)
            person = conn.execute(select(Resident.email, Resident.address_line)
                                  .where(Resident.insz == to)).one_or_none()
            received = conn.execute(select(Bezwaar.received_on).where(Bezwaar.id == md.bezwaar_id)
                                    ).scalar_one_or_none() if md.bezwaar_id else None
            named = names(conn, [to])  # to address the letter only: never stored or logged
            data = NoticeData(message_id=md.letter_message_id, channel=md.letter_channel, insz=to,
                              email=person.email if person else None,
                              address_line=person.address_line if person else None, sent_on=at.date(), benefits=(),
                              addressee_names=tuple(named[p] for p in (to,) if p in named))
            attempts = md.letter_attempts + 1
            try:
                outcome: Delivered | DeliveryError = channels[md.letter_channel].send(data, render(md, received, data))
            except DeliveryError as exc:
                outcome = exc
            if isinstance(outcome, Delivered):
                notice_id = conn.execute(Notice.__table__.insert().values(
                    message_id=md.letter_message_id, insz=to, channel=md.letter_channel, status="sent",
                    attempts=attempts, reference=outcome.reference[:200], created_at=md.decided_at,
                    sent_at=at)).inserted_primary_key[0]
                conn.execute(update(ManualDecision).where(ManualDecision.id == md.id).values(
                    letter_status="sent", letter_attempts=attempts, letter_error=None, letter_notice_id=notice_id))
                figures["sent"] += 1
            else:
                failed = not outcome.transient or attempts >= max_attempts
                conn.execute(update(ManualDecision).where(ManualDecision.id == md.id).values(
                    letter_status="failed" if failed else "pending", letter_attempts=attempts,
                    letter_error=f"{type(outcome).__name__}: {outcome}"[:300]))
                figures["failed" if failed else "retry"] += 1
    result = dict(figures)
    if result:
        log.info("bezwaar decision letters: %s", result)
    return result
