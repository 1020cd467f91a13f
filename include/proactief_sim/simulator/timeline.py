"""The register as it stood on a day: a person of the store seen with only what was known then.

The population store holds a whole timeline (births, deaths, moves, household changes, statutes, cards,
vehicles, tax assessments, leefloon payments, all dated). With a simulator clock set, MAGDA must not know the
future: :func:`as_of` returns the person as the register knew them on that day, and the renderers work on that
view exactly as they always did on the whole record.

Rules (docs/interfaces of issue 15, §2):
- a fact that begins after the day is not there (residence, household membership, statute period, card,
  vehicle by ``first_registration``, tax assessment by ``available_from``, a leefloon month);
- an end after the day is not known yet: shown as open (except a card's, printed on it at delivery);
- a death after the day is not known;
- a vehicle whose ``cancelled`` day has come is ``CAN`` from that day (:func:`vehicle_status`).

Without a clock (``None``) nothing is hidden: the store is answered whole, as before there was a clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TypeVar

from proactief_sim.simulator.population import (
    HouseholdMember,
    LeefloonYear,
    Period,
    Person,
    Residence,
    SocialCard,
    SocialStatute,
    Vehicle,
)

_T = TypeVar("_T")

__all__ = ["as_of", "vehicle_status", "vehicle_known", "period_as_of", "statutes_as_of"]


def period_as_of(p: Period, day: date) -> Period | None:
    """The period as known on ``day``: None when it had not begun, an open end when it ends later."""
    if p.begin > day:
        return None
    if p.end is not None and p.end > day:
        return Period(p.begin, None)
    return p


def _same(items: tuple[_T, ...], out: list[_T]) -> tuple[_T, ...]:
    """The original tuple when nothing changed (most persons' facts all lie before the day: no copies)."""
    return items if len(out) == len(items) and all(a is b for a, b in zip(out, items, strict=True)) else tuple(out)


def _residences(items: tuple[Residence, ...], day: date) -> tuple[Residence, ...]:
    out = []
    for r in items:
        period = period_as_of(r.period, day)
        if period is not None:
            out.append(r if period is r.period else Residence(r.address, period))
    return _same(items, out)


def _household(items: tuple[HouseholdMember, ...], day: date) -> tuple[HouseholdMember, ...]:
    out = []
    for m in items:
        if m.begin is not None and m.begin > day:
            continue
        out.append(replace(m, end=None) if m.end is not None and m.end > day else m)
    return _same(items, out)


def statutes_as_of(items: tuple[SocialStatute, ...], day: date) -> tuple[SocialStatute, ...]:
    """The statutes known on ``day`` (the list service's hot path filters only these)."""
    out = []
    for s in items:
        if not s.periods:  # the source says yes without periods: nothing dated to hide
            out.append(s)
            continue
        periods = [q for q in (period_as_of(p, day) for p in s.periods) if q is not None]
        if periods:  # a statute whose every period is still to come is not known at all
            kept = _same(s.periods, periods)
            out.append(s if kept is s.periods else SocialStatute(s.name, kept))
    return _same(items, out)


def _cards(items: tuple[SocialCard, ...], day: date) -> tuple[SocialCard, ...]:
    # A card's end date is printed on it: known from its delivery, unlike a statute's or a residence's end.
    return _same(items, [c for c in items if c.delivery_date <= day])


def _leefloon(items: tuple[LeefloonYear, ...], day: date) -> tuple[LeefloonYear, ...]:
    month = f"{day.year:04d}-{day.month:02d}"
    out = []
    for y in items:
        if y.year > day.year:
            continue
        payments = tuple(q for q in y.payments if q.month <= month)
        out.append(y if len(payments) == len(y.payments) else LeefloonYear(y.year, payments))
    return _same(items, out)


def vehicle_known(v: Vehicle, day: date | None) -> bool:
    """The vehicle is in the register on ``day`` (registered by then; always without a day)."""
    return day is None or v.first_registration is None or v.first_registration <= day


def vehicle_status(v: Vehicle, day: date) -> str:
    """DIV status on ``day``: ``CAN`` from the ``cancelled`` day on, else the stored status."""
    if v.cancelled is not None and v.cancelled <= day:
        return "CAN"
    return v.status


def as_of(p: Person, day: date | None) -> Person | None:
    """The person as the register knew them on ``day``; None when not yet born then. ``day`` None = all known."""
    if day is None:
        return p
    if p.birth_date > day:
        return None
    fields = {
        "death_date": p.death_date if p.death_date is not None and p.death_date <= day else None,
        "residences": _residences(p.residences, day),
        "household": _household(p.household, day),
        "statutes": statutes_as_of(p.statutes, day),
        "social_cards": _cards(p.social_cards, day),
        "tax_assessments": _same(p.tax_assessments, [t for t in p.tax_assessments
                                                     if t.available_from is None or t.available_from <= day]),
        "leefloon": _leefloon(p.leefloon, day),
        "vehicles": _same(p.vehicles, [_vehicle(v, day) for v in p.vehicles if vehicle_known(v, day)]),
    }
    changed = {k: v for k, v in fields.items() if v is not getattr(p, k)}
    return replace(p, **changed) if changed else p


def _vehicle(v: Vehicle, day: date) -> Vehicle:
    if v.cancelled is None:
        return v
    if v.cancelled <= day:
        return v if v.status == "CAN" else replace(v, status="CAN")
    return replace(v, cancelled=None)
