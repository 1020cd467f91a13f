"""Grant adapters: one per downstream system that pays a benefit out, each idempotent by the grant's key.

The outbox dispatcher (``proactief.lifecycle.outbox``) hands an adapter the pending orders of its channel; the
adapter answers per order with :class:`~proactief.delivery.Delivered` or a
:class:`~proactief.delivery.DeliveryError` (transient: retried later; permanent: a person must look).
:mod:`proactief.wiring` builds the adapters from the delivery configuration.
"""

from proactief.grants.base import GrantAdapter, GrantOrder

__all__ = ["GrantAdapter", "GrantOrder"]
