"""Typed, frozen form of a scheme definition: what the loader builds and the evaluator reads.

The YAML is the source of truth for scheme owners; these classes are its checked, typed shape, so the
evaluator never looks at raw dictionaries and a mistake in a definition is caught when it is loaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from proactief.schemes.facts import FactKey

__all__ = [
    "AllOf",
    "AmountSpec",
    "AnyOf",
    "AwaitingCardTerms",
    "Benefit",
    "Compare",
    "DateRule",
    "EarliestOf",
    "FactDate",
    "FactTest",
    "Grant",
    "LegalBasis",
    "MagdaUse",
    "NextDayMonth",
    "Not",
    "Notification",
    "Owner",
    "Parameter",
    "ParameterNotInForce",
    "ParameterVersion",
    "Period",
    "ReferenceDateRule",
    "Rule",
    "Schedule",
    "Scheme",
    "Subject",
    "Table",
    "Tier",
    "YearsAfterReferenceDate",
]


class Subject(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"
    CHILD = "child"
    VEHICLE = "vehicle"


class Period(StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"
    SCHOOL_YEAR = "school-year"
    WEEKLY = "weekly"


class ReferenceDateRule(StrEnum):
    RUN_DATE = "run_date"
    FIRST_OF_YEAR = "first_of_year"
    FIRST_OF_SEPTEMBER = "first_of_september"


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class AllOf:
    items: tuple[Rule, ...]
    path: str


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Rule, ...]
    path: str


@dataclass(frozen=True)
class Not:
    item: Rule
    path: str


@dataclass(frozen=True)
class FactTest:
    """A yes/no fact (or: a value was found, for ``lez_vehicle``)."""

    key: FactKey
    path: str


CompareOp = Literal["below", "at_most", "above", "at_least"]


@dataclass(frozen=True)
class Compare:
    """A number fact against a parameter valid on the reference date."""

    key: FactKey
    op: CompareOp
    parameter: str
    reason_true: str
    reason_false: str
    path: str

    @property
    def label(self) -> str:
        return f"{self.key} {self.op} {self.parameter}"


Rule = AllOf | AnyOf | Not | FactTest | Compare


# ---------------------------------------------------------------- parameters


class ParameterNotInForce(LookupError):
    """A parameter has no value on the date asked: the scheme was not in force, or a value is missing."""


@dataclass(frozen=True)
class Table:
    """Values by a count: exact rows and one open-ended last row (``3+``)."""

    rows: tuple[tuple[int, Decimal], ...]
    open_from: int

    def lookup(self, n: int) -> Decimal:
        if n >= self.open_from:
            return dict(self.rows)[self.open_from]
        for count, value in self.rows:
            if count == n:
                return value
        raise ParameterNotInForce(f"no table row for {n}")


ParameterValue = Decimal | str | Table


@dataclass(frozen=True)
class ParameterVersion:
    valid_from: dt.date
    value: ParameterValue


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    unit: str
    assumed: bool
    by: str | None
    versions: tuple[ParameterVersion, ...]
    """Oldest first; each holds from its date until the next one's."""

    def at(self, on: dt.date) -> ParameterValue:
        """The value in force on ``on``."""
        current: ParameterVersion | None = None
        for version in self.versions:
            if version.valid_from <= on:
                current = version
        if current is None:
            raise ParameterNotInForce(
                f"parameter {self.name!r} has no value on {on.isoformat()} "
                f"(its first value holds from {self.versions[0].valid_from.isoformat()})"
            )
        return current.value


# ---------------------------------------------------------------- benefit, grant, notification


@dataclass(frozen=True)
class AmountSpec:
    name: str
    parameter: str
    percentage: str | None = None


@dataclass(frozen=True)
class Benefit:
    amounts: tuple[AmountSpec, ...] = ()
    percentages: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Tier:
    id: str
    title: str
    when: Rule
    benefit: Benefit

    @property
    def reason(self) -> str:
        return "TIER_" + self.id.upper().replace("-", "_")


@dataclass(frozen=True)
class NextDayMonth:
    """The first date on or after the reference date with the parameter's day and month."""

    parameter: str


@dataclass(frozen=True)
class YearsAfterReferenceDate:
    parameter: str


@dataclass(frozen=True)
class FactDate:
    key: FactKey


@dataclass(frozen=True)
class EarliestOf:
    items: tuple[DateRule, ...]


DateRule = NextDayMonth | YearsAfterReferenceDate | FactDate | EarliestOf


@dataclass(frozen=True)
class AwaitingCardTerms:
    """``grant.awaiting_card``: how long a grant waits for a person's card ("wacht op pas") and what the letter says
    about getting one. ``wait_days`` and ``card_price`` name parameters (dated, so a new price has its date)."""

    wait_days: str
    where: str
    bring: str
    card_price: str | None = None


@dataclass(frozen=True)
class Grant:
    system: str
    description: str
    recipient: str
    attributes: Mapping[str, str]
    magda_service: str | None
    valid_until: DateRule
    renew_before_end_days: str | None
    idempotency_key: tuple[str, ...]
    awaiting_card: AwaitingCardTerms | None = None
    """A person without the card yet: the grant waits for it (only a system with ``awaits_card``)."""

    def awaiting_card_terms(self, parameter: Callable[[str], ParameterValue]) -> dict[str, Any] | None:
        """What a grant made on a date carries for "wacht op pas" (``terms["awaiting_card"]``): the texts and the
        parameters' values in force then (``parameter(name)``); None when the scheme sets no wait."""
        card = self.awaiting_card
        if card is None:
            return None
        out: dict[str, Any] = {"wait_days": int(str(parameter(card.wait_days))), "where": card.where,
                               "bring": card.bring}
        if card.card_price is not None:
            out["price"] = str(parameter(card.card_price))
        return out


@dataclass(frozen=True)
class Notification:
    recipient: str
    channels: tuple[str, ...]
    template: str


@dataclass(frozen=True)
class Owner:
    department: str
    contact: str


@dataclass(frozen=True)
class LegalBasis:
    citation: str
    url: str | None


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str


@dataclass(frozen=True)
class MagdaUse:
    hoedanigheid: str
    services: tuple[str, ...]
    statutes: tuple[str, ...]


# ---------------------------------------------------------------- the scheme


@dataclass(frozen=True)
class Scheme:
    """One checked scheme definition."""

    id: str
    title: str
    rule_version: str
    owner: Owner
    legal_basis: tuple[LegalBasis, ...]
    doc: str
    subject: Subject
    period: Period
    reference_date: ReferenceDateRule
    schedule: Schedule
    magda: MagdaUse
    city_data: tuple[str, ...]
    criteria: Rule
    tiers: tuple[Tier, ...]
    parameters: Mapping[str, Parameter]
    benefit: Benefit
    grant: Grant
    notification: Notification
    source_path: Path
    digest: str
    """sha256 of the definition file (first 12 hex): ties a decision to the exact text it was made under."""

    def parameter(self, name: str, on: dt.date) -> ParameterValue:
        """A parameter's value in force on ``on``."""
        return self.parameters[name].at(on)

    def reference_date_for(self, logical_date: dt.date) -> dt.date:
        """The date D the rules are evaluated on, for a run with this logical date."""
        if self.reference_date is ReferenceDateRule.FIRST_OF_YEAR:
            return dt.date(logical_date.year, 1, 1)
        if self.reference_date is ReferenceDateRule.FIRST_OF_SEPTEMBER:
            year = logical_date.year if logical_date.month >= 9 else logical_date.year - 1
            return dt.date(year, 9, 1)
        return logical_date

    def period_label(self, reference_date: dt.date) -> str:
        """The run period containing D: ``2025-03``, ``2025``, ``2025-2026`` or ``2025-W10``."""
        return period_label(self.period, reference_date)


def period_label(period: Period, d: dt.date) -> str:
    if period is Period.MONTHLY:
        return f"{d.year:04d}-{d.month:02d}"
    if period is Period.YEARLY:
        return f"{d.year:04d}"
    if period is Period.SCHOOL_YEAR:
        start = d.year if d.month >= 9 else d.year - 1
        return f"{start}-{start + 1}"
    iso = d.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"
