"""How a delivery ends, in one language for the grant adapters and the notice channels, so the outbox dispatcher
records either the same way: delivered (perhaps ``already``), worth retrying, waiting for a person (an operator),
or waiting for the citizen to fetch the card the benefit is written on (:class:`AwaitingCard`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AwaitingCard", "Delivered", "DeliveryError", "Outcome", "PermanentDeliveryError", "TransientDeliveryError"]


@dataclass(frozen=True)
class Delivered:
    """The downstream system has the benefit, or the channel has the notice (now, or already had it: ``already``)."""

    reference: str
    """What the other side calls it: passholder id, file name, LEZ ``Referte``, eBox id… (no INSZ)."""
    already: bool = False


@dataclass(frozen=True)
class AwaitingCard:
    """Not delivered, and not a failure: the person is entitled but has no card yet to write the benefit on (no
    UiTPAS passholder, or no membership of the card system). Registering one needs the person themself at a
    counter. The grant waits ("wacht op pas"), the citizen is told how to get the card, and each dispatch looks
    again; the grant completes when the card appears, or expires after the scheme's wait."""

    reason: str
    """For the operator: what is missing, with the grant key and outbox id (no INSZ)."""


class DeliveryError(Exception):
    """An order or a notice was not delivered. The message is for the operator: no INSZ, no personal values."""

    transient: bool = False


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: connection refused, timeout, 5xx, 429 (``retry_after`` seconds when told)."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help until a person acts: rejected credentials, unknown passholder, invalid data."""


Outcome = Delivered | AwaitingCard | DeliveryError
