"""What every delivery shares, a grant to a downstream system or a notice to a citizen: the outcome
(:class:`Delivered`, or a transient or permanent :class:`DeliveryError`), the atomic file write, and where the
deliveries go (:class:`~proactief.delivery.config.DeliveryConfig`).

``grants`` and ``notify`` both build on this and not on each other; :mod:`proactief.wiring` is the one place that
turns the configuration into adapters and channels.
"""

from proactief.delivery.files import write_atomically
from proactief.delivery.outcome import (
    AwaitingCard,
    Delivered,
    DeliveryError,
    Outcome,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["AwaitingCard", "Delivered", "DeliveryError", "Outcome", "PermanentDeliveryError", "TransientDeliveryError",
           "write_atomically"]
