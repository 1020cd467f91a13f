"""The vocabulary of facts that scheme rules may refer to, and the frozen ``Facts`` container.

A rule never reads MAGDA answers directly: it reads *facts* (``ghent_resident@person``,
``statute.BIM_BVT@household`` …). Each fact has one meaning, one source (named in the explanation
trace and the notification), the MAGDA services needed to establish it (so proportionality can be
checked), and stable reason codes. A fact is either a value, ``UNKNOWN`` (a transient problem: we
could not find out) or ``ABSENT`` (we found out there is nothing: no assessment, no vehicle).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ABSENT",
    "DATA_ERROR_REASON",
    "OBJECTION_REASON",
    "TRANSIENT_REASON",
    "UNKNOWN",
    "CITY_SOURCE_KIND",
    "FACT_SPECS",
    "Fact",
    "FactError",
    "FactKey",
    "FactSpec",
    "FactState",
    "FactValue",
    "Facts",
    "Holder",
    "Statute",
    "fact_spec",
]

TRANSIENT_REASON = "MAGDA_TRANSIENT"
"""A transient MAGDA problem (after retries) left a fact unknown: undetermined, asked again at the next run."""
DATA_ERROR_REASON = "MAGDA_DATA_ERROR"
"""MAGDA answered a data error (20002 invalid INSZ, 30004 new INSZ …) about the subject or its household: no
decision, the record is quarantined for a human and the population refresh (MAGDA.md). Set by the advice engine,
not by the rules: it overrides whatever the other answers, asked under a wrong number, seemed to say."""
OBJECTION_REASON = "HOUSEHOLD_MEMBER_OBJECTED"
"""Someone the decision would consult (a household member, the reference person), not the subject, objected
(GDPR Art. 21): their data was not asked and the outcome depends on it. Undetermined, never not_eligible; the
citizen is told to apply at the counter. Not transient: the next run will not fill it while the objection holds."""


class FactError(ValueError):
    """A fact that does not exist, has the wrong type, or is asked about the wrong holder."""


class FactState(Enum):
    """The two ways a fact can lack a value."""

    UNKNOWN = "unknown"
    """We could not find out (a transient MAGDA error, city data not delivered): never a ground for refusal."""
    ABSENT = "absent"
    """We found out there is nothing (no assessment, no eligible vehicle, no parking card)."""

    def __repr__(self) -> str:
        return self.name


UNKNOWN = FactState.UNKNOWN
ABSENT = FactState.ABSENT

FactValue = bool | int | Decimal | str | dt.date | FactState


class Holder(StrEnum):
    """Whose fact it is, relative to the decision's subject."""

    PERSON = "person"
    """The subject person: P (UiTPAS), Q (LEZ), the child (onderwijskorting), the reference person (IVAGO)."""
    HOUSEHOLD = "household"
    """Any member of the subject's household (the subject included)."""
    REFERENCE_PERSON = "reference_person"
    """The household's reference person (gezinshoofd), else the subject."""


class Statute(StrEnum):
    """KSZ social statutes asked through ``GeefSociaalStatuut-03.00`` (names as on the wire)."""

    BIM_BVT = "BIM_BVT"
    BIM_BVT_IN_FAMILY = "BIM_BVT_IN_FAMILY"
    LIVING_WAGES_PCSA_HELP = "LIVING_WAGES_PCSA_HELP"
    PCSA_AND_BIM_HELP = "PCSA_AND_BIM_HELP"


GEEF_PERSOON = "Persoon.GeefPersoon-02.02"
GEEF_SOCIAAL_STATUUT = "SocZek.GeefSociaalStatuut-03.00"
GEEF_DOSSIER_HANDICAP = "SocZek.GeefDossierHandicap-03.00"
GEEF_AANSLAGBILJET = "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00"
MOBILITEIT_INSCHRIJVINGEN = "Mobiliteit.Inschrijvingen-v1"
"""MAGDA Mobility REST ``/v1/mobility/registrations`` (vehicle registrations by plate / national number)."""
GEEF_HISTORIEK_PERSOON = "Persoon.GeefHistoriekPersoon-02.02"
"""Main residences with their periods: the residence on a D before the register's date (GeefPersoon's day)."""
GEEF_HISTORIEK_GEZIN = "Persoon.GeefHistoriekGezinssamenstelling-02.02"
"""Household compositions with member periods: the household on a D before the register's date."""
HISTORY_SERVICES = (GEEF_HISTORIEK_PERSOON, GEEF_HISTORIEK_GEZIN)
"""Asked only when D lies before the register's date and today's answer cannot settle the fact: a scheme may
list them (for the facts they serve) and need not; the advice engine refuses to ask one that is not listed."""
_HOUSEHOLD_FACTS = ("household_size", "household_taxable_income", "lez_vehicle")

CITY_SOURCE_KIND = "city"
MAGDA_SOURCE_KIND = "magda"

Kind = Literal["bool", "present", "count", "tax-amount", "date"]


@dataclass(frozen=True)
class FactSpec:
    """What one fact means, where it comes from, and how it is explained."""

    name: str
    kind: Kind
    """``bool``: yes/no; ``present``: a value or ABSENT (tested for presence); ``count``/``tax-amount``: numbers
    compared with parameters; ``date``: used by grant rules only."""
    label_nl: str
    """Plain Dutch, for the trace and the notification's "which data we used"."""
    source: str
    """Source name shown in the trace: authentic source – service, or the city data set."""
    source_kind: Literal["magda", "city"]
    services: tuple[str, ...]
    """MAGDA services needed for the subject itself."""
    holders: tuple[Holder, ...] = ()
    """Allowed holders; empty = the fact belongs to the subject's household/decision as a whole."""
    reason_true: str = ""
    reason_false: str = ""
    reason_absent: str = ""
    absent_allowed: bool = True
    unit_parameter: str | None = None
    """For ``tax-amount``: the scheme parameter that says what unit MAGDA's item values are in."""

    def services_for(self, holder: Holder | None) -> tuple[str, ...]:
        """Services needed for this fact and holder: another member's data needs the household first."""
        extra = (GEEF_PERSOON,) if holder in (Holder.HOUSEHOLD, Holder.REFERENCE_PERSON) else ()
        return tuple(dict.fromkeys((*extra, *self.services)))


_SPECS: tuple[FactSpec, ...] = (
    FactSpec(
        name="ghent_resident",
        kind="bool",
        label_nl="hoofdverblijfplaats in Gent op de peildatum",
        source="Rijksregister – GeefPersoon",
        source_kind="magda",
        services=(GEEF_PERSOON,),
        holders=(Holder.PERSON, Holder.REFERENCE_PERSON),
        reason_true="RESIDENT_GHENT",
        reason_false="NOT_RESIDENT_GHENT",
    ),
    FactSpec(
        name="statute",
        kind="bool",
        label_nl="sociaal statuut",
        source="KSZ – GeefSociaalStatuut",
        source_kind="magda",
        services=(GEEF_SOCIAAL_STATUUT,),
        holders=(Holder.PERSON, Holder.HOUSEHOLD, Holder.REFERENCE_PERSON),
        # the statute's codes are built per statute and holder, see FactKey.reason
    ),
    FactSpec(
        name="parking_card_valid",
        kind="bool",
        label_nl="geldige parkeerkaart voor personen met een handicap",
        source="DG Personen met een handicap – GeefDossierHandicap",
        source_kind="magda",
        services=(GEEF_DOSSIER_HANDICAP,),
        holders=(Holder.PERSON,),
        reason_true="PARKING_CARD_VALID",
        reason_false="NO_VALID_PARKING_CARD",
    ),
    FactSpec(
        name="parking_card_end_date",
        kind="date",
        label_nl="einddatum van de parkeerkaart",
        source="DG Personen met een handicap – GeefDossierHandicap",
        source_kind="magda",
        services=(GEEF_DOSSIER_HANDICAP,),
        holders=(Holder.PERSON,),
        reason_absent="NO_VALID_PARKING_CARD",
    ),
    FactSpec(
        name="budgetbeheer",
        kind="bool",
        label_nl="budgetbegeleiding of budgetbeheer bij het OCMW",
        source="Stad Gent – OCMW budgetbeheer",
        source_kind="city",
        services=(),
        holders=(Holder.PERSON, Holder.HOUSEHOLD),
        reason_true="CITY_BUDGETBEHEER",
        reason_false="NO_CITY_BUDGETBEHEER",
    ),
    FactSpec(
        name="schuldbemiddeling",
        kind="bool",
        label_nl="schuldbemiddeling bij het OCMW",
        source="Stad Gent – OCMW schuldbemiddeling",
        source_kind="city",
        services=(),
        holders=(Holder.PERSON, Holder.HOUSEHOLD),
        reason_true="CITY_SCHULDBEMIDDELING",
        reason_false="NO_CITY_SCHULDBEMIDDELING",
    ),
    FactSpec(
        name="enrolled_city_school_or_care",
        kind="bool",
        label_nl="ingeschreven in een stedelijke school of stedelijke kinderopvang",
        source="Stad Gent – inschrijvingen stedelijk onderwijs en kinderopvang",
        source_kind="city",
        services=(),
        reason_true="ENROLLED_CITY_SCHOOL_OR_CARE",
        reason_false="NOT_ENROLLED_CITY_SCHOOL_OR_CARE",
    ),
    FactSpec(
        name="household_size",
        kind="count",
        label_nl="aantal leden van het gezin",
        source="Rijksregister – GeefPersoon (gezinsleden)",
        source_kind="magda",
        services=(GEEF_PERSOON,),
        absent_allowed=False,
    ),
    FactSpec(
        name="household_taxable_income",
        kind="tax-amount",
        label_nl="gezamenlijk belastbaar inkomen van de volwassenen in het gezin",
        source="FOD Financiën – GeefAanslagbiljetPersonenbelasting",
        source_kind="magda",
        services=(GEEF_PERSOON, GEEF_AANSLAGBILJET),
        reason_absent="NO_TAX_ASSESSMENT",
        unit_parameter="aanslagbiljet_item_eenheid",
    ),
    FactSpec(
        name="lez_vehicle",
        kind="present",
        label_nl="ingeschreven voertuig van de persoon of het gezin",
        source="DIV – voertuiginschrijvingen (MAGDA Mobiliteit)",
        source_kind="magda",
        services=(GEEF_PERSOON, MOBILITEIT_INSCHRIJVINGEN),
        reason_true="VEHICLE_FOUND",
        reason_false="NO_ELIGIBLE_VEHICLE",
        reason_absent="NO_ELIGIBLE_VEHICLE",
    ),
)

FACT_SPECS: Mapping[str, FactSpec] = MappingProxyType({s.name: s for s in _SPECS})


def fact_spec(name: str) -> FactSpec:
    """The spec of a fact name; an unknown name is named plainly with the known ones."""
    try:
        return FACT_SPECS[name]
    except KeyError:
        raise FactError(f"unknown fact {name!r}; known facts: {', '.join(FACT_SPECS)}") from None


@dataclass(frozen=True, repr=False)
class FactKey:
    """Which fact, about whom: ``ghent_resident@person``, ``statute.BIM_BVT@household``, ``household_size``."""

    name: str
    holder: Holder | None = None
    statute: Statute | None = None

    def __post_init__(self) -> None:
        spec = fact_spec(self.name)
        if (self.name == "statute") != (self.statute is not None):
            raise FactError(f"{self.name}: a statute name goes with the fact 'statute' only")
        if spec.holders and self.holder is None:
            object.__setattr__(self, "holder", Holder.PERSON)
        if self.holder is not None and self.holder not in spec.holders:
            allowed = ", ".join(h.value for h in spec.holders) or "none (it is about the household as a whole)"
            raise FactError(f"fact {self.name!r} cannot be about {self.holder.value!r}; allowed: {allowed}")

    @classmethod
    def parse(cls, text: str | FactKey) -> FactKey:
        """Read ``name[@holder]`` or ``statute.NAME[@holder]``; the holder defaults to ``person``."""
        if isinstance(text, FactKey):
            return text
        base, _, holder_text = text.strip().partition("@")
        try:
            holder = Holder(holder_text) if holder_text else None
        except ValueError:
            raise FactError(
                f"{text!r}: unknown holder {holder_text!r}; use one of {', '.join(h.value for h in Holder)}"
            ) from None
        if base.startswith("statute."):
            name = base.removeprefix("statute.")
            try:
                statute = Statute(name)
            except ValueError:
                raise FactError(f"{text!r}: unknown statute {name!r}; use one of {', '.join(Statute)}") from None
            return cls("statute", holder, statute)
        return cls(base, holder)

    @property
    def spec(self) -> FactSpec:
        return FACT_SPECS[self.name]

    def __repr__(self) -> str:
        return f"FactKey({str(self)!r})"

    def __str__(self) -> str:
        base = f"statute.{self.statute}" if self.statute else self.name
        return f"{base}@{self.holder}" if self.holder else base

    @property
    def label_nl(self) -> str:
        spec = self.spec
        label = f"{spec.label_nl} {self.statute}" if self.statute else spec.label_nl
        if self.holder is Holder.HOUSEHOLD:
            return f"{label} (een lid van het gezin)"
        if self.holder is Holder.REFERENCE_PERSON:
            return f"{label} (referentiepersoon van het gezin)"
        return label

    def services(self) -> tuple[str, ...]:
        return self.spec.services_for(self.holder)

    def history_services(self) -> tuple[str, ...]:
        """The history services that settle this fact on a D before the register's date (see HISTORY_SERVICES)."""
        out = []
        if self.name == "ghent_resident":
            out.append(GEEF_HISTORIEK_PERSOON)
        if self.holder in (Holder.HOUSEHOLD, Holder.REFERENCE_PERSON) or self.name in _HOUSEHOLD_FACTS:
            out.append(GEEF_HISTORIEK_GEZIN)
        return tuple(out)

    def reason(self, value: bool | Literal["absent"]) -> str:
        """The stable reason code for this fact being true, false or absent (``_IN_HOUSEHOLD`` for any member)."""
        spec = self.spec
        if self.statute is not None:
            code = f"STATUTE_{self.statute}" if value is True else f"NO_STATUTE_{self.statute}"
        elif value == "absent" and spec.reason_absent:
            code = spec.reason_absent
        else:
            code = spec.reason_true if value is True else spec.reason_false
            code = code or f"{self.name.upper()}_{'TRUE' if value is True else 'FALSE'}"
        return f"{code}_IN_HOUSEHOLD" if self.holder is Holder.HOUSEHOLD else code

    def unknown_reason(self) -> str:
        """Why we could not decide: a transient MAGDA problem, or city data that did not arrive."""
        return "CITY_DATA_UNAVAILABLE" if self.spec.source_kind == CITY_SOURCE_KIND else TRANSIENT_REASON


@dataclass(frozen=True)
class Fact:
    """One established fact: its value (or UNKNOWN/ABSENT), the source it came from, and a non-personal detail."""

    key: FactKey
    value: FactValue
    source: str
    detail: str | None = None
    """E.g. the MAGDA Uitzondering code behind an UNKNOWN (``99996``); never personal data."""
    unknown_reason: str | None = None
    """Reason code for an UNKNOWN when it is not the fact's own source that failed (a household fact is
    UNKNOWN because GeefPersoon could not list the members: ``MAGDA_TRANSIENT``, even for city data)."""

    @property
    def known(self) -> bool:
        return self.value is not UNKNOWN


def _check_value(key: FactKey, value: object) -> FactValue:
    if isinstance(value, FactState):
        if value is ABSENT and not key.spec.absent_allowed:
            raise FactError(f"fact {key} cannot be ABSENT (give its value, or UNKNOWN)")
        return value
    kind = key.spec.kind
    ok = {
        "bool": isinstance(value, bool),
        "present": isinstance(value, str) and bool(value),
        "count": isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        "tax-amount": isinstance(value, int | Decimal) and not isinstance(value, bool),
        "date": isinstance(value, dt.date) and not isinstance(value, dt.datetime),
    }[kind]
    if not ok:
        wanted = {
            "bool": "true or false",
            "present": "a non-empty text",
            "count": "a whole number of at least 1",
            "tax-amount": "a whole number (MAGDA item units)",
            "date": "a date",
        }[kind]
        raise FactError(f"fact {key} must be {wanted}, UNKNOWN or ABSENT; got a {type(value).__name__}")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Facts(Mapping[FactKey, Fact]):
    """What is known about one subject on one reference date, keyed by :class:`FactKey` (read-only)."""

    _items: Mapping[FactKey, Fact]

    @classmethod
    def of(
        cls,
        values: Mapping[str | FactKey, FactValue | Fact] | None = None,
        *,
        sources: Mapping[str | FactKey, str] | None = None,
        details: Mapping[str | FactKey, str] | None = None,
        unknown_reasons: Mapping[str | FactKey, str] | None = None,
    ) -> Facts:
        """Build facts from ``{"ghent_resident": True, "statute.BIM_BVT@household": UNKNOWN}``.

        The source defaults to the fact's own source name; override it when the fact came another way
        (e.g. the batch service). Values are type-checked so a gatherer bug fails here, not in a rule.
        """
        sources = {FactKey.parse(k): v for k, v in (sources or {}).items()}
        details = {FactKey.parse(k): v for k, v in (details or {}).items()}
        why = {FactKey.parse(k): v for k, v in (unknown_reasons or {}).items()}
        items: dict[FactKey, Fact] = {}
        for raw_key, raw in (values or {}).items():
            key = FactKey.parse(raw_key)
            if key in items:
                raise FactError(f"fact {key} given twice")
            if isinstance(raw, Fact):
                fact = Fact(key, _check_value(key, raw.value), raw.source, raw.detail, raw.unknown_reason)
            else:
                value = _check_value(key, raw)
                fact = Fact(
                    key,
                    value,
                    sources.get(key, key.spec.source),
                    details.get(key),
                    why.get(key) if value is UNKNOWN else None,
                )
            items[key] = fact
        return cls(MappingProxyType(items))

    def merged(self, other: Facts) -> Facts:
        """These facts plus ``other`` (a later gathering stage); ``other`` wins on overlap."""
        return Facts(MappingProxyType({**self._items, **other._items}))

    def value(self, key: str | FactKey) -> FactValue | None:
        """The value of a fact, or None when it was not gathered at all."""
        fact = self._items.get(FactKey.parse(key))
        return None if fact is None else fact.value

    def __getitem__(self, key: object) -> Fact:
        if isinstance(key, str):
            key = FactKey.parse(key)
        return self._items[key]  # type: ignore[index]

    def __iter__(self) -> Iterator[FactKey]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        # Never print values: a repr can end up in a log.
        return f"Facts({', '.join(f'{k}={_state(f.value)}' for k, f in self._items.items())})"


def _state(value: FactValue) -> str:
    if isinstance(value, FactState):
        return value.name
    return "known"
