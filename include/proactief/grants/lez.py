"""LEZ exemptions for people with a disability, registered in the Flemish LEZ register through MAGDA Milieu.

The exemption lives in the LEZ register (``Milieu.RegistreerLEZGegevens-02.00``), keyed by number plate and
``Bron`` (the registering authority, ``MagdaConfig.lez_bron``). MAGDA keeps no request id we could send, so
idempotency is *read first*: ``GeefLEZGegevens`` tells what is registered, and an exemption of our ``Bron`` for
the grant's period (begin = ``valid_from``, end = ``valid_until``) means the grant is delivered
(``already=True``, reference = its ``Referte``). A registration whose answer got lost (timeout after MAGDA
stored it) is therefore found on the retry instead of registered twice; after registering, the adapter reads
back and only a registration it can see counts as delivered (else :class:`TransientDeliveryError`). The
client retries a transient answer by sending the registration again, and MAGDA may have stored the first one
(a timeout or truncated answer after the write): extra copies of our exemption for the same period are removed
before an order is answered as delivered, so ``Delivered`` means exactly one.

Reason code ``PARKEERKAART_VERHOOGDE_TEGEMOETKOMING`` (:data:`REDEN_PARKEERKAART_VT`). The XSD types
``Vrijstelling/Reden`` as ``generiek:TekstKort2_0Type`` (free text, 1-120 characters) and lists no codes: the
register's code list is agreed with the Flemish LEZ administration at onboarding. Of the four VMM grounds for
"voertuigen gebruikt door of voor personen met een handicap", this scheme grants exactly one: the owner or a
co-resident has a special parking card *and* the verhoogde tegemoetkoming. The code names that ground (and not
just "handicap"), so a controller can tell it from the adapted-vehicle, wheelchair-system and aangepast-vervoer
exemptions, which still need an application. Pass ``reden=`` when the agreed code differs.

Ending an exemption early (``revoke``, the card or the VT ended on ``revoke_from``). ``RegistreerLEZGegevens``
only *adds* an exemption (``VrijstellingType`` is a reason and a period, without a ``Referte``): registering
again with an earlier end cannot shorten the one that is there, it would sit next to it. The only way to end a
registered exemption is ``VerwijderLEZGegevens`` by its ``Referte``. Removing it outright would also take away
the days the person *was* entitled to, and camera passages are checked against the register when they are
processed, which can be days later. So:

1. ``revoke_from`` after ``valid_until``: nothing to end (``already=True``).
2. ``revoke_from`` on or before ``valid_from``: remove our exemption.
3. otherwise: register the shortened exemption ``valid_from`` .. ``revoke_from - 1`` first, then remove the
   original by its ``Referte``, then read back. Adding before removing never leaves an entitled day uncovered;
   a crash in between leaves both, and the retry finds the shortened one and only removes the original.

Nothing of ours registered for the grant -> ``Delivered("not-registered", already=True)``. A revoke only touches
exemptions of our ``Bron`` *and* our reason, so an exemption the LEZ team registered by hand for another ground
is never removed by it.

Outcomes: MAGDA transient (99996, 60006, HTTP 5xx, timeouts … after the client's own retries) ->
:class:`TransientDeliveryError`; data errors, refusals ("niet geslaagd"), SOAP faults -> permanent. A
configuration error (13001 …: MAGDA refuses us as configured) makes this and every later order of the batch
permanent without calling MAGDA again. Messages name the outbox and grant id only: never the INSZ, never the
plate (the LEZ ``grant_key`` contains the plate, so it is not used in messages either). Every MAGDA call is in
the client's consultation audit log, under the order's scheme as purpose.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from proactief.delivery import (
    Delivered,
    DeliveryError,
    Outcome,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from proactief.grants.base import GrantOrder
from proactief.magda.audit import OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.envelope import RequestInvalid
from proactief.magda.results import LEZVrijstelling, MagdaAnswer, VrijstellingAanvraag
from proactief.magda.transport import MagdaConfigurationError, MagdaError, MagdaFault

__all__ = ["LezRegistration", "REDEN_PARKEERKAART_VT", "NOT_REGISTERED"]

log = logging.getLogger("proactief.grants.lez")

REDEN_PARKEERKAART_VT = "PARKEERKAART_VERHOOGDE_TEGEMOETKOMING"
"""``Vrijstelling/Reden``: vehicle of a holder (or co-resident) of a parking card with verhoogde tegemoetkoming."""
NOT_REGISTERED = "not-registered"
"""Reference of a revoke that found nothing of ours to end."""

_OK = OutcomeClass.OK
_DEFINITIVE = OutcomeClass.DEFINITIVE
_TRANSIENT = OutcomeClass.TRANSIENT
_DAY = dt.timedelta(days=1)


class LezRegistration:
    """Registers (and ends) LEZ exemptions through MAGDA; ``client_factory()`` gives a context-managed client."""

    channel = "lez-magda"

    def __init__(self, client_factory: Callable[[], MagdaClient], *, reden: str = REDEN_PARKEERKAART_VT,
                 land: str = "BE") -> None:
        if not 1 <= len(reden) <= 120:
            raise ValueError("reden: 1 to 120 characters (generiek:TekstKort2_0Type)")
        self._client_factory = client_factory
        self.reden = reden
        self.land = land

    def deliver(self, orders: Sequence[GrantOrder]) -> list[Outcome]:
        if not orders:
            return []
        try:
            client = self._client_factory()
        except (MagdaError, ValueError, OSError) as exc:
            err = PermanentDeliveryError(f"LEZ: the MAGDA client could not be set up ({type(exc).__name__})")
            log.error("%s", err)
            return [err] * len(orders)
        outcomes: list[Outcome] = []
        refused: str | None = None  # why MAGDA refuses us as configured: the rest of the batch is not sent
        with client:
            for order in orders:
                if refused is not None:
                    outcomes.append(PermanentDeliveryError(
                        f"LEZ {_where(order)}: not sent, MAGDA refuses us as configured ({refused})"))
                    continue
                try:
                    outcomes.append(self._one(client, order))
                except DeliveryError as exc:
                    outcomes.append(exc)
                except MagdaConfigurationError as exc:
                    answer = exc.answer if isinstance(exc.answer, MagdaAnswer) else None
                    refused = ((answer.code or answer.detail) if answer is not None else None) or "configuration"
                    err = PermanentDeliveryError(f"LEZ {_where(order)}: MAGDA refuses us as configured ({refused}); "
                                                 "the rest of the batch is not sent")
                    log.error("%s", err)
                    outcomes.append(err)
                except MagdaFault as exc:
                    outcomes.append(PermanentDeliveryError(
                        f"LEZ {_where(order)}: SOAP Fault from {exc.service} ({exc.faultcode or 'no faultcode'})"))
                except RequestInvalid:
                    outcomes.append(PermanentDeliveryError(
                        f"LEZ {_where(order)}: the request does not satisfy the service XSD"))
        return outcomes

    # ------------------------------------------------------------------------------------------ per order

    def _one(self, client: MagdaClient, order: GrantOrder) -> Delivered:
        plate = _plate(order)
        if order.kind == "grant":
            return self._grant(client, order, plate)
        if order.kind == "revoke":
            return self._revoke(client, order, plate)
        raise PermanentDeliveryError(f"LEZ {_where(order)}: unknown order kind {order.kind!r}")

    def _grant(self, client: MagdaClient, order: GrantOrder, plate: str) -> Delivered:
        begin, end = order.valid_from, order.valid_until
        if end is None:
            raise PermanentDeliveryError(f"LEZ {_where(order)}: no valid_until; an exemption is granted for a "
                                         "bounded period")
        bron = client.config.lez_bron
        found = _matching(self._read(client, order, plate), bron, begin, end)
        if found:
            return Delivered(reference=self._keep_one(client, order, plate, found), already=True)
        ans = client.registreer_lez(plate, [VrijstellingAanvraag(self.reden, begin, end)], land=self.land,
                                    purpose=order.scheme_id)
        if ans.outcome is not _OK:
            raise _error(ans, "RegistreerLEZGegevens", order)
        found = _matching(self._read(client, order, plate), bron, begin, end)
        if not found:
            raise TransientDeliveryError(f"LEZ {_where(order)}: registered, but the exemption does not show in "
                                         "GeefLEZGegevens yet")
        log.info("LEZ %s: exemption registered", _where(order))
        return Delivered(reference=self._keep_one(client, order, plate, found))

    def _revoke(self, client: MagdaClient, order: GrantOrder, plate: str) -> Delivered:
        stop = order.revoke_from
        if stop is None:
            raise PermanentDeliveryError(f"LEZ {_where(order)}: revoke without revoke_from")
        begin, end = order.valid_from, order.valid_until
        bron = client.config.lez_bron
        current = self._read(client, order, plate)
        originals = _matching(current, bron, begin, end, self.reden)
        if end is not None and stop > end:  # it ends before the entitlement did: nothing to end
            return Delivered(reference=_ref(originals[0]) if originals else NOT_REGISTERED, already=True)
        last = stop - _DAY if stop > begin else None  # last entitled day, None: not a single one
        shortened = _matching(current, bron, begin, last, self.reden) if last is not None else []
        if not originals:
            ref = self._keep_one(client, order, plate, shortened) if shortened else NOT_REGISTERED
            return Delivered(reference=ref, already=True)
        if last is not None and not shortened:
            ans = client.registreer_lez(plate, [VrijstellingAanvraag(self.reden, begin, last)], land=self.land,
                                        purpose=order.scheme_id)
            if ans.outcome is not _OK:
                raise _error(ans, "RegistreerLEZGegevens (shortened exemption)", order)
        refs = [_ref(v) for v in originals]
        ans = client.verwijder_lez(plate, referten=refs, land=self.land, purpose=order.scheme_id)
        if ans.outcome not in (_OK, _DEFINITIVE):  # DEFINITIVE (30001): already gone, which is what we want
            raise _error(ans, "VerwijderLEZGegevens", order)
        after = self._read(client, order, plate)
        if _matching(after, bron, begin, end, self.reden):
            raise TransientDeliveryError(f"LEZ {_where(order)}: removed, but the exemption still shows in "
                                         "GeefLEZGegevens")
        if last is not None:
            shortened = _matching(after, bron, begin, last, self.reden)
            if not shortened:
                raise TransientDeliveryError(f"LEZ {_where(order)}: the shortened exemption does not show in "
                                             "GeefLEZGegevens yet")
            log.info("LEZ %s: exemption shortened to end %s", _where(order), last.isoformat())
            return Delivered(reference=self._keep_one(client, order, plate, shortened))
        log.info("LEZ %s: exemption removed", _where(order))
        return Delivered(reference=refs[0])

    def _keep_one(self, client: MagdaClient, order: GrantOrder, plate: str,
                  found: Sequence[LEZVrijstelling]) -> str:
        """The Referte of the exemption that stands for the order; extra copies of ours are removed.

        Copies arise when MAGDA stored a registration but its answer was lost (timeout, 5xx, truncated XML)
        and the client sent the registration again. Only exemptions with our reason are ours to remove; the
        first one MAGDA lists stays. Delivered always means exactly one of ours, so a failed removal is transient.
        """
        ours = [v for v in found if v.reden == self.reden]
        if len(ours) <= 1:
            return _ref(ours[0] if ours else found[0])
        extra = [_ref(v) for v in ours[1:]]
        ans = client.verwijder_lez(plate, referten=extra, land=self.land, purpose=order.scheme_id)
        if ans.outcome not in (_OK, _DEFINITIVE):
            raise _error(ans, "VerwijderLEZGegevens (duplicate exemption)", order)
        log.warning("LEZ %s: %d duplicate exemption(s) removed", _where(order), len(extra))
        return _ref(ours[0])

    def _read(self, client: MagdaClient, order: GrantOrder, plate: str) -> tuple[LEZVrijstelling, ...]:
        ans = client.geef_lez_gegevens(plate, land=self.land, purpose=order.scheme_id)
        if ans.outcome is _DEFINITIVE:  # 30001: nothing registered for the plate
            return ()
        if ans.outcome is _OK and ans.value is not None:
            return ans.value.vrijstellingen
        raise _error(ans, "GeefLEZGegevens", order)


# ---------------------------------------------------------------------------------------------- helpers


def _where(order: GrantOrder) -> str:
    return f"outbox {order.outbox_id} (grant {order.grant_id})"


def _plate(order: GrantOrder) -> str:
    plate = order.terms.get("vehicle_plate")
    plate = plate.strip() if isinstance(plate, str) else ""
    if not 1 <= len(plate) <= 10:
        raise PermanentDeliveryError(f"LEZ {_where(order)}: vehicle_plate missing or not 1 to 10 characters")
    return plate


def _matching(found: Sequence[LEZVrijstelling], bron: str, begin: dt.date, end: dt.date | None,
              reden: str | None = None) -> list[LEZVrijstelling]:
    """Exemptions of ``bron`` for exactly ``begin`` .. ``end`` (and ``reden`` when given) that can be named."""
    return [v for v in found
            if v.bron == bron and v.referte and v.periode.begin == begin and v.periode.end == end
            and (reden is None or v.reden == reden)]


def _ref(v: LEZVrijstelling) -> str:
    assert v.referte is not None  # _matching keeps only exemptions with a Referte
    return v.referte


def _error(ans: MagdaAnswer[Any], operation: str, order: GrantOrder) -> DeliveryError:
    why = ans.code or ans.detail or ans.outcome.value
    if ans.outcome is _TRANSIENT:
        return TransientDeliveryError(f"LEZ {_where(order)}: MAGDA {operation} transient ({why})")
    return PermanentDeliveryError(f"LEZ {_where(order)}: MAGDA {operation} {ans.outcome.value} ({why})")
