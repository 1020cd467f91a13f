"""Grant adapters: one per downstream system that pays a benefit out, each idempotent by the grant's key.

The outbox dispatcher (``proactief.grants.dispatch``) hands an adapter the pending orders of its channel; the
adapter answers per order with :class:`~proactief.grants.base.Delivered` or a
:class:`~proactief.grants.base.DeliveryError` (transient: retried later; permanent: a person must look).
"""

from proactief.grants.base import (
    Delivered,
    DeliveryError,
    GrantAdapter,
    GrantOrder,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["Delivered", "DeliveryError", "GrantAdapter", "GrantOrder", "PermanentDeliveryError",
           "TransientDeliveryError"]
