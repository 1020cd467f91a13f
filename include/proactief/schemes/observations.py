"""What the sources said about a subject and their household, before it becomes facts.

The advice engine turns MAGDA answers and city data into these small records (one per source and person);
:mod:`proactief.schemes.derive` turns them into facts. Keeping that step here, next to the rules, puts the
fine print of SCHEMES.md (NIS code not postcode, contact address does not count, REDUCTIONCARD does not
count, income-year fallback, which vehicle) in one tested place, and keeps raw MAGDA XML out of the rules.
A field left ``None`` was not asked; ``Answer.TRANSIENT`` is a transient MAGDA problem, ``Answer.NO_DATA``
a definitive "nothing found" (30001/30003, or absent at KSZ 70001), ``Answer.YEAR_MISSING`` INFORMATIE 45008,
``Answer.WITHHELD`` not asked because that person (not the subject) objected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

from proactief.schemes.factdefs.base import Statute

__all__ = [
    "Address",
    "Answer",
    "CityRecord",
    "ObservationError",
    "Observations",
    "PersonObservation",
    "RegisterRecord",
    "SocialCard",
    "Span",
    "StatuteAnswer",
    "TaxAssessment",
    "VehicleRegistration",
    "observations_from_mapping",
]


class ObservationError(ValueError):
    """Observations that cannot be read; names the path of the problem."""


class Answer(Enum):
    """A source's answer that carries no data."""

    TRANSIENT = "unknown"
    """Transient MAGDA problem (99996, 60006, timeouts, HTTP 5xx … after retries): the fact is UNKNOWN."""
    NO_DATA = "no-data"
    """Definitively nothing (30001 no data, 30003 unknown INSZ, KSZ 70001 absent data): the criterion is false."""
    YEAR_MISSING = "year-missing"
    """INFORMATIE 45008: the income year asked does not exist (yet): fall back to the year before."""
    WITHHELD = "withheld"
    """Not asked: the person objected (GDPR Art. 21) and is not the subject. The fact is UNKNOWN, like TRANSIENT;
    a decision that stays undetermined because of it says ``HOUSEHOLD_MEMBER_OBJECTED``, never not_eligible."""


@dataclass(frozen=True)
class Span:
    """A period with inclusive ends; ``None`` = open on that side."""

    start: dt.date | None = None
    end: dt.date | None = None

    def covers(self, d: dt.date) -> bool:
        return (self.start is None or self.start <= d) and (self.end is None or d <= self.end)


ALWAYS = Span()


@dataclass(frozen=True)
class Address:
    """A ``Hoofdverblijfplaats`` (main) or ``ContactAdres`` (contact) from GeefPersoon."""

    kind: Literal["main", "contact"]
    nis_code: str | None
    postcode: str | None = None
    span: Span = ALWAYS


@dataclass(frozen=True)
class RegisterRecord:
    """The parts of a GeefPersoon answer the rules use."""

    born: dt.date | None = None
    died: dt.date | None = None
    addresses: tuple[Address, ...] = ()
    reference_person: bool = False
    """Position reference person / gezinshoofd in the household."""
    earlier_residences: Literal["listed", "not_asked", "unknown"] = "listed"
    """Whether ``addresses`` hold every main residence: ``not_asked`` = only today's (GeefPersoon answered on a
    later day than D, history not read): a D no listed residence covers is not known to lie outside Ghent;
    ``unknown`` = the history could not be read (transient)."""


@dataclass(frozen=True)
class StatuteAnswer:
    """One ``SociaalStatuut`` of a GeefSociaalStatuut answer asked with ``Datum`` = D."""

    code: int
    """``Resultaat/Code``: 1 = van toepassing."""
    periods: tuple[Span, ...] = ()
    """``Periodes``; none listed = holds on the date asked."""


@dataclass(frozen=True)
class SocialCard:
    """A ``socialCard`` of GeefDossierHandicap."""

    category: str
    """``cardCategory``: PARKINGCARD, REDUCTIONCARD …"""
    end: dt.date | None = None
    delivered: dt.date | None = None


@dataclass(frozen=True)
class TaxAssessment:
    """One GeefAanslagbiljetPersonenbelasting answer for one income year."""

    article: str | None
    """``Artikelnummer``: a joint assessment answered for both partners has the same number."""
    items: Mapping[str, int]
    """Item code → ``Waarde`` as MAGDA gives it (unit: scheme parameter ``aanslagbiljet_item_eenheid``)."""


@dataclass(frozen=True)
class VehicleRegistration:
    """A vehicle registration (MAGDA Mobility) found by the person's national number."""

    plate: str
    status: str
    """``license.status.code``: REG = ingeschreven."""
    titular: Literal["natural", "legal"]
    """Titular ``type`` P (natural person) or a company."""


CityRecord = bool | tuple[Span, ...] | Answer
"""City data for one person and data set: yes/no, or the periods it ran, or TRANSIENT (file not delivered)."""


@dataclass(frozen=True)
class PersonObservation:
    """Everything asked about one person (the subject or a household member)."""

    register: RegisterRecord | Answer | None = None
    statutes: Mapping[Statute, StatuteAnswer | Answer] = field(default_factory=lambda: MappingProxyType({}))
    social_cards: tuple[SocialCard, ...] | Answer | None = None
    tax: Mapping[int, TaxAssessment | Answer] = field(default_factory=lambda: MappingProxyType({}))
    vehicles: tuple[VehicleRegistration, ...] | Answer | None = None
    city: Mapping[str, CityRecord] = field(default_factory=lambda: MappingProxyType({}))
    membership: Span = ALWAYS
    """For a household member: the ``Gezinslid`` period."""
    label: str = ""
    """A readable name for test cases (``partner``); never used by a rule, never in a trace."""


@dataclass(frozen=True)
class Observations:
    """The subject (P, Q, the child, or the household's reference person) and their household."""

    person: PersonObservation
    household: tuple[PersonObservation, ...] | Answer | None = None
    """The *other* members of the subject's household (GeefPersoon ``Gezinsleden``)."""
    enrolled_city_school_or_care: CityRecord | None = None
    household_partial: bool = False
    """D lies before the register's date and the household history was not read: the members listed were in the
    household on D, but members who left since are missing. A member's "yes" settles an "any member" fact;
    everything that needs the whole household (its size, income, reference person) is not known yet."""


# ---------------------------------------------------------------- reading the readable form (test cases, CLI)


def _date(value: Any, path: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ObservationError(f"{path}: {value!r} is not a date YYYY-MM-DD") from None


def _answer(value: Any) -> Answer | None:
    if isinstance(value, str):
        for a in Answer:
            if value == a.value:
                return a
    return None


def _check_keys(data: Mapping[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise ObservationError(f"{path}: unknown field(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ObservationError(f"{path}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ObservationError(f"{path}: expected a list (or unknown / no-data), got {type(value).__name__}")
    return value


def _span(data: Any, path: str) -> Span:
    data = _mapping(data, path)
    _check_keys(data, {"from", "to"}, path)
    return Span(_date(data.get("from"), f"{path}.from"), _date(data.get("to"), f"{path}.to"))


def _city(value: Any, path: str) -> CityRecord:
    if isinstance(value, bool):
        return value
    answer = _answer(value)
    if answer is Answer.TRANSIENT:
        return answer
    if answer is Answer.NO_DATA:
        return False
    return tuple(_span(s, f"{path}[{i}]") for i, s in enumerate(_list(value, path)))


def _register(value: Any, path: str) -> RegisterRecord | Answer:
    answer = _answer(value)
    if answer is not None:
        return answer
    data = _mapping(value, path)
    _check_keys(data, {"born", "died", "addresses", "reference_person"}, path)
    addresses = []
    for i, a in enumerate(data.get("addresses", []) or []):
        at = f"{path}.addresses[{i}]"
        a = _mapping(a, at)
        _check_keys(a, {"kind", "nis", "postcode", "from", "to"}, at)
        if a.get("kind") not in ("main", "contact"):
            raise ObservationError(f"{at}.kind: use main (Hoofdverblijfplaats) or contact (ContactAdres)")
        addresses.append(
            Address(
                a["kind"],
                None if a.get("nis") is None else str(a["nis"]),
                None if a.get("postcode") is None else str(a["postcode"]),
                Span(_date(a.get("from"), f"{at}.from"), _date(a.get("to"), f"{at}.to")),
            )
        )
    return RegisterRecord(
        born=_date(data.get("born"), f"{path}.born"),
        died=_date(data.get("died"), f"{path}.died"),
        addresses=tuple(addresses),
        reference_person=bool(data.get("reference_person", False)),
    )


def _statutes(value: Any, path: str) -> Mapping[Statute, StatuteAnswer | Answer]:
    out: dict[Statute, StatuteAnswer | Answer] = {}
    for name, raw in _mapping(value, path).items():
        at = f"{path}.{name}"
        try:
            statute = Statute(name)
        except ValueError:
            raise ObservationError(f"{at}: unknown statute; use one of {', '.join(Statute)}") from None
        answer = _answer(raw)
        if answer is not None:
            out[statute] = answer
            continue
        data = _mapping(raw, at)
        _check_keys(data, {"code", "periods"}, at)
        periods = tuple(_span(p, f"{at}.periods[{i}]") for i, p in enumerate(data.get("periods", []) or []))
        out[statute] = StatuteAnswer(int(data["code"]), periods)
    return MappingProxyType(out)


def _tax(value: Any, path: str) -> Mapping[int, TaxAssessment | Answer]:
    out: dict[int, TaxAssessment | Answer] = {}
    for year, raw in _mapping(value, path).items():
        at = f"{path}.{year}"
        answer = _answer(raw)
        if answer is not None:
            out[int(year)] = answer
            continue
        data = _mapping(raw, at)
        _check_keys(data, {"article", "items"}, at)
        items = {str(k): int(v) for k, v in _mapping(data.get("items", {}) or {}, f"{at}.items").items()}
        article = data.get("article")
        out[int(year)] = TaxAssessment(None if article is None else str(article), MappingProxyType(items))
    return MappingProxyType(out)


def _person(value: Any, path: str, member: bool) -> PersonObservation:
    data = _mapping(value, path)
    allowed = {"register", "statutes", "social_cards", "tax", "vehicles", "city", "label"}
    _check_keys(data, allowed | ({"member"} if member else set()), path)
    kw: dict[str, Any] = {"label": str(data.get("label", ""))}
    if "register" in data:
        kw["register"] = _register(data["register"], f"{path}.register")
    if "statutes" in data:
        kw["statutes"] = _statutes(data["statutes"], f"{path}.statutes")
    if "social_cards" in data:
        raw = data["social_cards"]
        cards = _answer(raw)
        if cards is None:
            cards_list = []
            for i, c in enumerate(_list(raw, f"{path}.social_cards")):
                at = f"{path}.social_cards[{i}]"
                c = _mapping(c, at)
                _check_keys(c, {"category", "end", "delivered"}, at)
                cards_list.append(
                    SocialCard(str(c["category"]), _date(c.get("end"), f"{at}.end"), _date(c.get("delivered"), at))
                )
            kw["social_cards"] = tuple(cards_list)
        else:
            kw["social_cards"] = cards
    if "tax" in data:
        kw["tax"] = _tax(data["tax"], f"{path}.tax")
    if "vehicles" in data:
        raw = data["vehicles"]
        answer = _answer(raw)
        if answer is None:
            vehicles = []
            for i, v in enumerate(_list(raw, f"{path}.vehicles")):
                at = f"{path}.vehicles[{i}]"
                v = _mapping(v, at)
                _check_keys(v, {"plate", "status", "titular"}, at)
                titular = v.get("titular", "natural")
                if titular not in ("natural", "legal"):
                    raise ObservationError(f"{at}.titular: use natural (a person) or legal (a company)")
                vehicles.append(VehicleRegistration(str(v["plate"]), str(v.get("status", "REG")), titular))
            kw["vehicles"] = tuple(vehicles)
        else:
            kw["vehicles"] = answer
    if "city" in data:
        city = _mapping(data["city"], f"{path}.city")
        _check_keys(city, {"budgetbeheer", "schuldbemiddeling"}, f"{path}.city")
        kw["city"] = MappingProxyType({k: _city(v, f"{path}.city.{k}") for k, v in city.items()})
    if member and "member" in data:
        kw["membership"] = _span(data["member"], f"{path}.member")
    return PersonObservation(**kw)


def observations_from_mapping(data: Mapping[str, Any], path: str = "observations") -> Observations:
    """Read the readable YAML/dict form used by scheme test cases (see the schemes README)."""
    data = _mapping(data, path)
    _check_keys(data, {"person", "household", "enrolled_city_school_or_care"}, path)
    if "person" not in data:
        raise ObservationError(f"{path}: 'person' (the subject) is required")
    household: tuple[PersonObservation, ...] | Answer | None = None
    if "household" in data:
        raw = data["household"]
        household = _answer(raw) or tuple(
            _person(m, f"{path}.household[{i}]", member=True) for i, m in enumerate(_list(raw, f"{path}.household"))
        )
    enrolled = None
    if "enrolled_city_school_or_care" in data:
        enrolled = _city(data["enrolled_city_school_or_care"], f"{path}.enrolled_city_school_or_care")
    return Observations(_person(data["person"], f"{path}.person", member=False), household, enrolled)
