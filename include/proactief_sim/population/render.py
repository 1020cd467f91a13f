"""Latent facts → the simulator's JSON-lines store record (format: ``proactief_sim.simulator.population``).

Written as plain dicts (not through the simulator's dataclasses) so 270,000 persons serialise in seconds; the
tests load every line back with ``person_from_json`` to keep the two in step.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from proactief_sim.population.model import Address, LatentPerson, LatentPopulation, Membership, Span

__all__ = ["store_record", "household_entries", "membership_on"]


def _address(a: Address) -> dict[str, Any]:
    out: dict[str, Any] = {"street": a.street, "house_number": a.house_number, "postcode": a.postcode,
                           "municipality": a.municipality, "nis_code": a.nis_code}
    if a.box:
        out["box"] = a.box
    return out


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def household_entries(pop: LatentPopulation, insz: str) -> list[tuple[str, str, Span]]:
    """Everyone who shared a household with P, with their position and the period they shared it.

    Open-ended (current) entries come first, so a reader that ignores ``end`` still sees today's household
    first; then the closed ones, most recent first.
    """
    entries: list[tuple[str, str, Span]] = []
    for mine in pop.memberships_of(insz):
        for other in pop.members_of(mine.household_id):
            shared = mine.span.intersect(other.span)
            if shared is not None:
                entries.append((other.insz, other.position, shared))
    return sorted(entries, key=_entry_order)


def _entry_order(e: tuple[str, str, Span]) -> tuple[int, int, str, int]:
    _, position, span = e
    if span.end is None:
        return (0, 0, position, span.begin.toordinal())
    return (1, -span.end.toordinal(), position, span.begin.toordinal())


def _membership_json(entries: list[tuple[str, str, Span]]) -> list[dict[str, Any]]:
    out = []
    for insz, position, span in entries:
        item: dict[str, Any] = {"insz": insz, "position": position, "begin": span.begin.isoformat()}
        if span.end is not None:
            item["end"] = span.end.isoformat()
        out.append(item)
    return out


def store_record(p: LatentPerson, pop: LatentPopulation) -> dict[str, Any]:
    """The JSON-lines record of one person; ``insz`` is the first key (the store indexes on it)."""
    out: dict[str, Any] = {"insz": p.insz, "last_name": p.last_name, "first_names": list(p.first_names),
                           "gender": p.gender, "birth_date": p.birth.isoformat()}
    if p.death:
        out["death_date"] = p.death.isoformat()
    if p.residences:
        out["residences"] = [{"begin": r.span.begin.isoformat(), "end": _iso(r.span.end), **_address(r.address)}
                             for r in p.residences]
    if p.contact:
        out["contact_address"] = _address(p.contact)
    if pop.memberships_of(p.insz):
        out["household"] = _membership_json(household_entries(pop, p.insz))
    if p.statutes:
        out["statutes"] = [{"name": name, "periods": [{"begin": s.begin.isoformat(), "end": _iso(s.end)}
                                                      for s in spans]}
                           for name, spans in p.statutes.items() if spans]
    if p.cards:
        out["social_cards"] = [{"category": c.category, "delivery_date": c.delivery.isoformat(),
                                "end_date": _iso(c.end), "card_number": c.number} for c in p.cards]
    if p.assessments:
        tax = []
        for a in p.assessments:
            items = [{"code": "A7555", "value": a.a7555}]
            if a.b7555 is not None:
                items.append({"code": "B7555", "value": a.b7555})
            entry: dict[str, Any] = {"income_year": a.income_year,
                                     "fiscal_status": "A" if a.titular == p.insz else "B",
                                     "article_number": a.article, "items": items}
            if a.available_from is not None:
                entry["available_from"] = a.available_from.isoformat()
            tax.append(entry)
        out["tax"] = tax
    if p.leefloon:
        years: dict[str, list[dict[str, str]]] = {}
        for month, amount in p.leefloon:
            years.setdefault(month[:4], []).append({"month": month, "amount": amount})
        out["leefloon"] = [{"year": int(y), "payments": pays} for y, pays in years.items()]
    if p.vehicles:
        out["vehicles"] = [
            {"plate": v.plate, "status": v.status, "titular_insz": v.titular, "vin": v.vin, "make": v.make,
             "model": v.model, "category": v.category, "fuel": v.fuel,
             **({"euro_norm": v.euro_norm} if v.euro_norm else {}),
             "first_registration": v.first_registration.isoformat(),
             **({"cancelled": v.cancelled.isoformat()} if v.cancelled else {})}
            for v in p.vehicles
        ]
    return out


def membership_on(pop: LatentPopulation, insz: str, day: date) -> Membership | None:
    """The membership covering ``day`` (the latest-starting one on a moving day), if any."""
    covering = [m for m in pop.memberships_of(insz) if m.span.covers(day)]
    return max(covering, key=lambda m: m.span.begin) if covering else None
