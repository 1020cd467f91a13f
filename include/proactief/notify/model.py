"""What a notice says, as data: filled from the ledger by the dispatcher, rendered by ``notify.render``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from proactief.delivery import Delivered

__all__ = ["BenefitLine", "CardInfo", "Channel", "Notice", "NoticeChannel", "NoticeKind", "RenderedNotice"]

Channel = Literal["email", "letter", "ebox"]
NoticeKind = Literal["toegekend", "stopgezet", "verlengd"]
"""``toegekend``: what the city grants ("Wat de stad u toekent"); ``stopgezet``: a benefit that ends because the
person no longer qualifies (an LEZ exemption): a decision against the citizen, so it is told too, with the appeal;
``verlengd``: a running benefit renewed inside its window: only what changed (the new end date), never a second
"toegekend"."""


@dataclass(frozen=True)
class CardInfo:
    """How to get the card a benefit is written on, for a person who has none yet ("wacht op pas"). From the
    scheme's ``grant.awaiting_card`` (copied into the grant's terms when it was made)."""

    where: str | None
    """Where to get it (UiTPAS counters in Ghent), a text from the scheme definition."""
    bring: str | None
    """What to bring (the identity card)."""
    price: Decimal | None
    """What the card costs at the social tariff (EUR)."""
    fetch_by: dt.date
    """The last day the benefit waits for the card."""


@dataclass(frozen=True)
class BenefitLine:
    """One granted benefit, as the letter explains it."""

    scheme_id: str
    """``uitpas-kansentarief``, ``ivago-tegemoetkoming``, ``onderwijskorting``, ``lez-vrijstelling``."""
    tier: str | None
    """Onderwijskorting: ``leefloon``, ``inkomen-laag``, ``inkomen-midden``; else None."""
    period: str
    valid_from: dt.date
    valid_until: dt.date | None
    amount: Decimal | None = None
    amounts: Mapping[str, Decimal] = field(default_factory=dict)
    """IVAGO: ``waardebon``, ``inzamelkrediet`` (EUR)."""
    percentages: Mapping[str, Decimal] = field(default_factory=dict)
    """UiTPAS: ``korting``; onderwijskorting: ``opvang``, ``maaltijden``."""
    vehicle_plate: str | None = None
    """LEZ: the plate the exemption is for."""
    institution_name: str | None = None
    """Onderwijskorting: the school or childcare the child is enrolled in."""
    sources: tuple[str, ...] = ()
    """Names of the data sources the decision used (``Rijksregister – GeefPersoon``…), never values."""
    ends_on: dt.date | None = None
    """A stopped benefit: the first day it no longer holds (the run's reference date); else None."""
    previous_until: dt.date | None = None
    """A renewed benefit: the end date it had before the renewal (its new one is ``valid_until``); else None."""
    moved_to: str | None = None
    """A stopped LEZ exemption that moves to another vehicle: that vehicle's plate; else None."""
    card: CardInfo | None = None
    """A granted benefit that waits for the person's card (no UiTPAS yet): how to get it; else None."""
    beneficiary_name: str | None = field(default=None, repr=False)
    """A benefit of somebody else than the addressee (a child's onderwijskorting, told to the parents): that
    person's name, read from the register extract when the message is sent; else None. Never stored."""


@dataclass(frozen=True)
class Notice:
    """One message to one person on one channel."""

    message_id: str
    """Stable, derived from the outbox rows: a resend carries the same id, so it is detectable."""
    channel: Channel
    insz: str = field(repr=False)
    """Addresses the eBox only; no template prints it."""
    email: str | None
    address_line: str | None
    """``Straat nr, 9000 Gent``: the city's address for a letter."""
    sent_on: dt.date
    benefits: tuple[BenefitLine, ...]
    kind: NoticeKind = "toegekend"
    addressee_names: tuple[str, ...] = field(default=(), repr=False)
    """Whom the message greets ("Beste Jan Peeters en Sara Claes"): the addressee and, for a message only about
    the household's children, the other parent; from the register extract at send time, never stored. Empty: the
    extract has no name ("Beste Gentenaar")."""


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    text: str
    html: str


class NoticeChannel(Protocol):
    """E-mail, letter or eBox, as the outbox dispatcher uses it: ``name`` is the outbox channel it serves;
    ``send`` returns :class:`~proactief.delivery.Delivered` or raises a
    :class:`~proactief.delivery.DeliveryError`. Defined here, with the data it carries, so the dispatcher
    names it without importing the channels (SMTP, PDF, HTTP)."""

    name: str

    def send(self, notice: Notice, rendered: RenderedNotice) -> Delivered: ...
