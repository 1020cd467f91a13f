"""The contract between the outbox dispatcher and the downstream systems.

An order is one outbox row of kind ``grant`` (set the benefit) or ``revoke`` (end it early), with the grant it
belongs to. Adapters must be idempotent by ``grant_key`` (and ``message_id``): the dispatcher may hand the same
order again after a crash between delivering and recording the delivery, and the downstream system must then
end up with the benefit once. An adapter never logs an INSZ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from proactief.delivery import Outcome

__all__ = ["GrantAdapter", "GrantOrder"]


@dataclass(frozen=True)
class GrantOrder:
    """One benefit to set (or end) in a downstream system."""

    outbox_id: int
    message_id: str
    """Stable per outbox row: send it downstream where the system keeps a request id."""
    kind: Literal["grant", "revoke"]
    grant_id: int
    scheme_id: str
    grant_key: str
    """``<scheme>|<pseudonym>|<period…>``: the downstream idempotency key (no INSZ in it)."""
    insz: str = field(repr=False)
    """The grant's subject (UiTPAS: the person; IVAGO: the reference person; school: the child; LEZ: the card
    holder). Downstream systems need it; never log it."""
    period: str
    tier: str | None
    amount: Decimal | None
    valid_from: dt.date
    valid_until: dt.date | None
    terms: Mapping[str, Any]
    """The scheme's grant attributes (card system, tariff status…), ``vehicle_plate`` (LEZ), ``amounts`` and
    ``percentages`` (name → decimal string), ``household_size`` (IVAGO), ``institution_id`` /
    ``institution_name`` (school)."""
    revoke_from: dt.date | None = None
    """For ``revoke``: the first day the benefit no longer holds."""


class GrantAdapter(Protocol):
    """One downstream system. ``deliver`` answers every order, in order; it raises only for a bug."""

    channel: str
    """The outbox channel it serves: ``uitpas``, ``ivago``, ``school-billing``, ``lez-magda``."""

    def deliver(self, orders: Sequence[GrantOrder]) -> list[Outcome]: ...
