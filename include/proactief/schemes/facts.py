"""The vocabulary of facts that scheme rules may refer to, and the frozen ``Facts`` container.

A rule never reads MAGDA answers directly: it reads *facts* (``ghent_resident@person``,
``statute.BIM_BVT@household`` …). Each fact has one meaning, one source (named in the explanation
trace and the notification), the MAGDA services needed to establish it (so proportionality can be
checked), and stable reason codes. A fact is either a value, ``UNKNOWN`` (a transient problem: we
could not find out) or ``ABSENT`` (we found out there is nothing: no assessment, no vehicle).

Each fact is declared once, in its own module under :mod:`proactief.schemes.factdefs` (name, kind, label,
source, services, reasons with their Dutch sentences, derivation, question planner); this module looks the
declarations up and re-exports the vocabulary (``FactSpec``, ``Holder``, ``Statute``, the service names …).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from proactief.schemes.factdefs.base import (
    ABOUT_HOUSEHOLD,
    ABSENT,
    CITY_SOURCE_KIND,
    FACT_SPECS,
    GEEF_AANSLAGBILJET,
    GEEF_DOSSIER_HANDICAP,
    GEEF_HISTORIEK_GEZIN,
    GEEF_HISTORIEK_PERSOON,
    GEEF_PERSOON,
    GEEF_SOCIAAL_STATUUT,
    HISTORY_SERVICES,
    HOUSEHOLD_SUFFIX,
    MAGDA_SOURCE_KIND,
    MOBILITEIT_INSCHRIJVINGEN,
    UNKNOWN,
    FactError,
    FactSpec,
    FactState,
    FactValue,
    Holder,
    Kind,
    Statute,
    fact_spec,
)

__all__ = [
    "ABSENT",
    "GEEF_AANSLAGBILJET",
    "GEEF_DOSSIER_HANDICAP",
    "GEEF_HISTORIEK_GEZIN",
    "GEEF_HISTORIEK_PERSOON",
    "GEEF_PERSOON",
    "GEEF_SOCIAAL_STATUUT",
    "HISTORY_SERVICES",
    "MAGDA_SOURCE_KIND",
    "MOBILITEIT_INSCHRIJVINGEN",
    "FactValue",
    "Kind",
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


@dataclass(frozen=True, repr=False)
class FactKey:
    """Which fact, about whom: ``ghent_resident@person``, ``statute.BIM_BVT@household``, ``household_size``."""

    name: str
    holder: Holder | None = None
    statute: Statute | None = None

    def __post_init__(self) -> None:
        spec = fact_spec(self.name)
        if spec.per_statute != (self.statute is not None):
            per_statute = ", ".join(n for n, s in FACT_SPECS.items() if s.per_statute)
            raise FactError(f"{self.name}: a statute name goes with the fact {per_statute!r} only")
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
        household = (GEEF_HISTORIEK_GEZIN,) if self.holder in ABOUT_HOUSEHOLD else ()
        return tuple(s for s in HISTORY_SERVICES if s in (*self.spec.history_services, *household))

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
        return f"{code}{HOUSEHOLD_SUFFIX}" if self.holder is Holder.HOUSEHOLD else code

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
