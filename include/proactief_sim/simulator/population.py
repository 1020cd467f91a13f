"""The synthetic population the simulator answers from: what a person looks like, and a store to look one up.

The simulator renders MAGDA answers from this store when the asked person is in it (and falls back to the
canned MAGDA-Mock cases otherwise). A later population generator writes the store as a JSON-lines file,
**one person per line**, UTF-8, keys in any order; absent optional keys mean "nothing":

.. code-block:: json

    {"insz": "84640438954",                      // required, 11 digits
     "last_name": "Peeters", "first_names": ["Jan", "Karel"], "gender": "M",   // M | F | X
     "birth_date": "1984-04-04", "death_date": null, "nationality": "150",     // NIS country code
     "residences": [                                // main residence (hoofdverblijfplaats) history
        {"begin": "2004-04-04", "end": null, "street": "Hoogstraat", "house_number": "70", "box": "A",
         "postcode": "9000", "municipality": "Gent", "nis_code": "44021"}],
     "contact_address": {"street": "...", "house_number": "...", "postcode": "...", "municipality": "...",
                         "nis_code": "..."},   // or null
     "household": [                                 // the whole household, this person included
        {"insz": "84640438954", "position": "01", "begin": "2004-04-04"},     // 01 = reference person
        {"insz": "88681575651", "position": "02"}],                           // 02 partner, 03 child ...
     "statutes": [{"name": "BIM_BVT", "periods": [{"begin": "2024-01-01", "end": "2030-01-01"}]}],
     "social_cards": [{"category": "PARKINGCARD", "delivery_date": "2020-02-02", "end_date": "2030-02-02",
                       "card_number": "1122334455"}],                        // or REDUCTIONCARD
     "tax": [{"income_year": 2024, "fiscal_status": "A", "article_number": "727270607",
              "available_from": "2025-06-30",    // optional: the day FOD Fin has it (45008 before)
              "items": [{"code": "A7555", "value": 1677545}]}],              // value in cent, as FOD Fin
     "leefloon": [{"year": 2024, "payments": [{"month": "2024-01", "amount": "842.12"}]}],
     "vehicles": [{"plate": "1ABC123", "status": "REG", "titular_insz": "84640438954", "vin": "...",
                   "make": "ALFA ROMEO", "model": "MiTo", "category": "M1", "fuel": "30",
                   "euro_norm": "6", "first_registration": "2019-03-12",
                   "cancelled": "2026-05-04"}]}   // optional: status CAN from that day on

(The ``//`` comments are for this docstring only; the file is plain JSON per line.)

The file is a timeline: every fact carries its dates. With a simulator clock the register answers as it stood
on that day (``proactief_sim.simulator.timeline``): facts that begin later are not known yet, ends after the clock
are open, a death after it is not known, a vehicle is ``CAN`` from its ``cancelled`` day, a tax assessment
exists from its ``available_from`` day.

Loading is lazy to stay lean with 270,000 persons: the file is memory-mapped, one pass records where each
person's line starts (and which plates appear on it), and a line is parsed into dataclasses only when that
person is asked for; a small LRU keeps recently parsed persons.
"""

from __future__ import annotations

import json
import mmap
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from proactief_sim.values import Address, Period

__all__ = [
    "Period",
    "Address",
    "Residence",
    "HouseholdMember",
    "SocialStatute",
    "SocialCard",
    "TaxItem",
    "TaxAssessment",
    "LeefloonPayment",
    "LeefloonYear",
    "Vehicle",
    "Person",
    "PopulationStore",
    "InMemoryPopulationStore",
    "person_from_json",
    "person_to_json",
    "write_jsonl",
]


@dataclass(frozen=True, slots=True)
class Residence:
    """One main-residence (hoofdverblijfplaats) period."""

    address: Address
    period: Period


@dataclass(frozen=True, slots=True)
class HouseholdMember:
    insz: str
    position: str
    """Rijksregister position code: ``01`` reference person, ``02`` partner, ``03`` child, others as RR."""
    begin: date | None = None
    end: date | None = None
    """Last day the two shared the household (split, death …); None = still together. JSON key ``end``."""

    @property
    def is_reference_person(self) -> bool:
        return self.position == "01"


@dataclass(frozen=True, slots=True)
class SocialStatute:
    """A KSZ social statute (``BIM_BVT``, ``LIVING_WAGES_PCSA_HELP`` …) and when it applies."""

    name: str
    periods: tuple[Period, ...] = ()


@dataclass(frozen=True, slots=True)
class SocialCard:
    """A DG Personen met een handicap card: ``PARKINGCARD`` or ``REDUCTIONCARD``."""

    category: str
    delivery_date: date
    end_date: date | None = None
    card_number: str = ""


@dataclass(frozen=True, slots=True)
class TaxItem:
    code: str
    """IPCAL code with the partner letter, ``A7555`` (titular) or ``B7555`` (partner)."""
    value: int
    """Amount in cent, as FOD Financiën sends it (``1677545`` = € 16 775,45)."""


@dataclass(frozen=True, slots=True)
class TaxAssessment:
    """One personal income tax assessment (aanslagbiljet) for one income year."""

    income_year: int
    items: tuple[TaxItem, ...] = ()
    fiscal_status: str = "A"
    article_number: str | None = None
    available_from: date | None = None
    """The day FOD Financiën has this assessment (before it the income year is answered 45008); None = always."""


@dataclass(frozen=True, slots=True)
class LeefloonPayment:
    month: str
    """``YYYY-MM``."""
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LeefloonYear:
    year: int
    payments: tuple[LeefloonPayment, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class Vehicle:
    plate: str
    titular_insz: str
    status: str = "REG"
    """DIV registration status: ``REG`` registered, ``CAN`` cancelled."""
    vin: str | None = None
    make: str | None = None
    model: str | None = None
    category: str = "M1"
    fuel: str | None = None
    euro_norm: str | None = None
    first_registration: date | None = None
    cancelled: date | None = None
    """The day the registration was cancelled (sold, scrapped): ``CAN`` from then on; None = never."""


@dataclass(frozen=True, slots=True)
class Person:
    insz: str
    birth_date: date
    last_name: str = ""
    first_names: tuple[str, ...] = ()
    gender: str = "X"
    death_date: date | None = None
    nationality: str = "150"
    residences: tuple[Residence, ...] = ()
    contact_address: Address | None = None
    household: tuple[HouseholdMember, ...] = ()
    statutes: tuple[SocialStatute, ...] = ()
    social_cards: tuple[SocialCard, ...] = ()
    tax_assessments: tuple[TaxAssessment, ...] = ()
    leefloon: tuple[LeefloonYear, ...] = ()
    vehicles: tuple[Vehicle, ...] = field(default=())

    def residence_on(self, day: date) -> Residence | None:
        """The main residence on ``day`` (the latest one that covers it)."""
        found = None
        for r in self.residences:
            if r.period.covers(day) and (found is None or r.period.begin >= found.period.begin):
                found = r
        return found

    def current_residence(self) -> Residence | None:
        """The open-ended residence, else the most recent one."""
        if not self.residences:
            return None
        return max(self.residences, key=lambda r: (r.period.end is None, r.period.end or date.max, r.period.begin))


@runtime_checkable
class PopulationStore(Protocol):
    """Where the simulator looks persons up. Implementations must be safe to read from one event loop."""

    def __len__(self) -> int: ...

    def __contains__(self, insz: object) -> bool: ...

    def get(self, insz: str) -> Person | None:
        """The person, or None when not in the store (the simulator then falls back to canned cases)."""
        ...

    def statutes(self, insz: str) -> tuple[SocialStatute, ...] | None:
        """Only the social statutes (the hot path of the list service); None when not in the store."""
        ...

    def vehicle(self, plate: str) -> Vehicle | None: ...

    def vehicles_of(self, insz: str) -> tuple[Vehicle, ...]: ...

    def inszs(self) -> Iterator[str]: ...

    def upsert(self, person: Person) -> None:
        """Add or replace one person (the simulator then queues a mutation for registered afnemers)."""
        ...


# ----------------------------------------------------------------------------------------------- JSON mapping


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _period(obj: dict[str, Any]) -> Period:
    return Period(date.fromisoformat(obj["begin"]), _d(obj.get("end")))


def _address(obj: dict[str, Any]) -> Address:
    return Address(
        street=obj.get("street", ""),
        house_number=str(obj.get("house_number", "")),
        postcode=str(obj.get("postcode", "")),
        municipality=obj.get("municipality", ""),
        nis_code=str(obj.get("nis_code", "")),
        box=obj.get("box") or None,
        country_nis=str(obj.get("country_nis", "150")),
    )


def _statutes(items: list[dict[str, Any]] | None) -> tuple[SocialStatute, ...]:
    return tuple(SocialStatute(s["name"], tuple(_period(p) for p in s.get("periods") or ())) for s in items or ())


def _vehicle(v: dict[str, Any], owner: str) -> Vehicle:
    return Vehicle(
        plate=v["plate"],
        titular_insz=v.get("titular_insz") or owner,
        status=v.get("status", "REG"),
        vin=v.get("vin"),
        make=v.get("make"),
        model=v.get("model"),
        category=v.get("category", "M1"),
        fuel=v.get("fuel"),
        euro_norm=v.get("euro_norm"),
        first_registration=_d(v.get("first_registration")),
        cancelled=_d(v.get("cancelled")),
    )


def person_from_json(obj: dict[str, Any]) -> Person:
    """One JSON-lines record (see the module docstring) as a :class:`Person`."""
    insz = obj["insz"]
    return Person(
        insz=insz,
        birth_date=date.fromisoformat(obj["birth_date"]),
        last_name=obj.get("last_name", ""),
        first_names=tuple(obj.get("first_names") or ()),
        gender=obj.get("gender", "X"),
        death_date=_d(obj.get("death_date")),
        nationality=str(obj.get("nationality", "150")),
        residences=tuple(
            Residence(_address(r), Period(date.fromisoformat(r["begin"]), _d(r.get("end"))))
            for r in obj.get("residences") or ()
        ),
        contact_address=_address(obj["contact_address"]) if obj.get("contact_address") else None,
        household=tuple(
            HouseholdMember(m["insz"], str(m.get("position", "")), _d(m.get("begin")), _d(m.get("end")))
            for m in obj.get("household") or ()
        ),
        statutes=_statutes(obj.get("statutes")),
        social_cards=tuple(
            SocialCard(c["category"], date.fromisoformat(c["delivery_date"]), _d(c.get("end_date")),
                       str(c.get("card_number", "")))
            for c in obj.get("social_cards") or ()
        ),
        tax_assessments=tuple(
            TaxAssessment(
                int(t["income_year"]),
                tuple(TaxItem(i["code"], int(i["value"])) for i in t.get("items") or ()),
                t.get("fiscal_status", "A"),
                t.get("article_number"),
                _d(t.get("available_from")),
            )
            for t in obj.get("tax") or ()
        ),
        leefloon=tuple(
            LeefloonYear(int(y["year"]), tuple(LeefloonPayment(p["month"], Decimal(str(p["amount"])))
                                                for p in y.get("payments") or ()))
            for y in obj.get("leefloon") or ()
        ),
        vehicles=tuple(_vehicle(v, insz) for v in obj.get("vehicles") or ()),
    )


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _address_json(a: Address) -> dict[str, Any]:
    out: dict[str, Any] = {"street": a.street, "house_number": a.house_number, "postcode": a.postcode,
                           "municipality": a.municipality, "nis_code": a.nis_code}
    if a.box:
        out["box"] = a.box
    if a.country_nis != "150":
        out["country_nis"] = a.country_nis
    return out


def person_to_json(p: Person) -> dict[str, Any]:
    """The JSON-lines record of a person (the inverse of :func:`person_from_json`); empty parts are left out."""
    out: dict[str, Any] = {"insz": p.insz, "last_name": p.last_name, "first_names": list(p.first_names),
                           "gender": p.gender, "birth_date": p.birth_date.isoformat()}
    if p.death_date:
        out["death_date"] = p.death_date.isoformat()
    if p.nationality != "150":
        out["nationality"] = p.nationality
    if p.residences:
        out["residences"] = [
            {"begin": r.period.begin.isoformat(), "end": _iso(r.period.end), **_address_json(r.address)}
            for r in p.residences
        ]
    if p.contact_address:
        out["contact_address"] = _address_json(p.contact_address)
    if p.household:
        out["household"] = [{"insz": m.insz, "position": m.position, **({"begin": _iso(m.begin)} if m.begin else {}),
                             **({"end": _iso(m.end)} if m.end else {})}
                            for m in p.household]
    if p.statutes:
        out["statutes"] = [{"name": s.name, "periods": [{"begin": q.begin.isoformat(), "end": _iso(q.end)}
                                                        for q in s.periods]} for s in p.statutes]
    if p.social_cards:
        out["social_cards"] = [{"category": c.category, "delivery_date": c.delivery_date.isoformat(),
                                "end_date": _iso(c.end_date), "card_number": c.card_number} for c in p.social_cards]
    if p.tax_assessments:
        out["tax"] = [{"income_year": t.income_year, "fiscal_status": t.fiscal_status,
                       "article_number": t.article_number,
                       **({"available_from": t.available_from.isoformat()} if t.available_from else {}),
                       "items": [{"code": i.code, "value": i.value} for i in t.items]} for t in p.tax_assessments]
    if p.leefloon:
        out["leefloon"] = [{"year": y.year, "payments": [{"month": q.month, "amount": str(q.amount)}
                                                         for q in y.payments]} for y in p.leefloon]
    if p.vehicles:
        out["vehicles"] = [
            {k: v for k, v in {"plate": x.plate, "status": x.status, "titular_insz": x.titular_insz, "vin": x.vin,
                               "make": x.make, "model": x.model, "category": x.category, "fuel": x.fuel,
                               "euro_norm": x.euro_norm, "first_registration": _iso(x.first_registration),
                               "cancelled": _iso(x.cancelled)}.items()
             if v is not None}
            for x in p.vehicles
        ]
    return out


def write_jsonl(persons: Iterable[Person], path: str | Path) -> int:
    """Write persons as a JSON-lines store file; returns how many were written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for p in persons:
            fh.write(json.dumps(person_to_json(p), ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
            n += 1
    return n


# ------------------------------------------------------------------------------------------------ the store

_INSZ_RE = re.compile(rb'"insz"\s*:\s*"(\d{11})"')
_PLATE_RE = re.compile(rb'"plate"\s*:\s*"([^"\\]{1,16})"')


class InMemoryPopulationStore:
    """A :class:`PopulationStore` over a JSON-lines file (lazy, memory-mapped) plus persons added in memory."""

    def __init__(self, persons: Iterable[Person] = (), *, cache_size: int = 20_000) -> None:
        self._blob: bytes | mmap.mmap = b""
        self._index: dict[str, int] = {}  # insz -> (start << 24) | length of its line in _blob
        self._plates: dict[str, str] = {}  # plate -> insz
        self._added: dict[str, Person] = {}
        self._cache: OrderedDict[str, Person] = OrderedDict()
        self._cache_size = cache_size
        for p in persons:
            self.upsert(p)

    @classmethod
    def from_jsonl(cls, path: str | Path, *, cache_size: int = 20_000) -> InMemoryPopulationStore:
        """Index a JSON-lines file (one pass, no JSON parsing); persons are parsed when first asked for."""
        store = cls(cache_size=cache_size)
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            blob: bytes | mmap.mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        store._blob = blob
        index = store._index
        plates = store._plates
        find = blob.find
        insz_search = _INSZ_RE.search
        plate_iter = _PLATE_RE.finditer
        pos = 0
        while pos < size:
            end = find(b"\n", pos)
            if end < 0:
                end = size
            if end - pos > 1:
                m = insz_search(blob, pos, end)
                if m is None:
                    raise ValueError(f"population line at byte {pos} has no \"insz\"")
                insz = m.group(1).decode()
                index[insz] = (pos << 24) | (end - pos)
                if find(b'"plate"', pos, end) >= 0:
                    for pm in plate_iter(blob, pos, end):
                        plates[pm.group(1).decode()] = insz
            pos = end + 1
        return store

    # -- reading -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._index) + sum(1 for k in self._added if k not in self._index)

    def __contains__(self, insz: object) -> bool:
        return insz in self._added or insz in self._index

    def _raw(self, insz: str) -> dict[str, Any] | None:
        packed = self._index.get(insz)
        if packed is None:
            return None
        start = packed >> 24
        return json.loads(self._blob[start : start + (packed & 0xFFFFFF)])

    def get(self, insz: str) -> Person | None:
        p = self._added.get(insz)
        if p is not None:
            return p
        cache = self._cache
        p = cache.get(insz)
        if p is not None:
            cache.move_to_end(insz)
            return p
        raw = self._raw(insz)
        if raw is None:
            return None
        p = person_from_json(raw)
        cache[insz] = p
        if len(cache) > self._cache_size:
            cache.popitem(last=False)
        return p

    def statutes(self, insz: str) -> tuple[SocialStatute, ...] | None:
        p = self._added.get(insz) or self._cache.get(insz)
        if p is not None:
            return p.statutes
        raw = self._raw(insz)
        return None if raw is None else _statutes(raw.get("statutes"))

    def vehicle(self, plate: str) -> Vehicle | None:
        owner = self._plates.get(plate)
        p = self.get(owner) if owner else None
        if p is None:
            return None
        for v in p.vehicles:
            if v.plate == plate:
                return v
        return None

    def vehicles_of(self, insz: str) -> tuple[Vehicle, ...]:
        p = self.get(insz)
        return p.vehicles if p else ()

    def inszs(self) -> Iterator[str]:
        yield from self._index
        for k in self._added:
            if k not in self._index:
                yield k

    # -- writing -------------------------------------------------------------------------------------------
    def upsert(self, person: Person) -> None:
        self._added[person.insz] = person
        self._cache.pop(person.insz, None)
        for v in person.vehicles:
            self._plates[v.plate] = person.insz
