"""Evaluate a scheme's rules on a subject's facts, in three-valued (Kleene) logic, with a trace.

Why Kleene: a transient MAGDA error must never turn into a refusal. ``UNKNOWN`` only becomes
``not_eligible`` when the outcome is false whatever the unknown fact would have been (not a Ghent
resident, so the unknown statute does not matter). The trace lists every criterion with its source and
outcome (true/false/unknown/not_asked), never a value: no income, no date, no INSZ, no plate.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from proactief.schemes.facts import ABSENT, TRANSIENT_REASON, UNKNOWN, FactKey, Facts
from proactief.schemes.model import (
    AllOf,
    AnyOf,
    Benefit,
    Compare,
    DateRule,
    EarliestOf,
    FactDate,
    FactTest,
    NextDayMonth,
    Not,
    Period,
    Rule,
    Scheme,
    Table,
    Tier,
    YearsAfterReferenceDate,
    period_label,
)
from proactief.schemes.subjects import subject_kind

__all__ = [
    "Decision",
    "GrantTerms",
    "MissingFacts",
    "Outcome",
    "ProportionalityError",
    "TraceOutcome",
    "TraceStep",
    "evaluate",
    "needed_facts",
    "outstanding_facts",
    "required_services",
    "required_statutes",
]

Tri = bool | None
"""Kleene truth value: True, False, or None (unknown)."""

_CENT = Decimal("0.01")


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    UNDETERMINED = "undetermined"


class TraceOutcome(StrEnum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"
    NOT_ASKED = "not_asked"
    """Not gathered, and not needed: the outcome was decided without it (e.g. KSZ not asked for a non-resident)."""


@dataclass(frozen=True)
class TraceStep:
    """One criterion (or value lookup) as it was evaluated: what, from where, with what outcome. No values."""

    criterion: str
    """The rule's wording: ``ghent_resident@person``, ``household_taxable_income below inkomen_laag_grens``."""
    label: str
    """The same in plain Dutch, for people."""
    source: str
    outcome: TraceOutcome
    reason: str | None
    tier: str | None = None
    kind: Literal["criterion", "lookup"] = "criterion"


@dataclass(frozen=True)
class GrantTerms:
    """What an eligible decision grants, until when, and what makes it the same grant on a retry."""

    system: str
    valid_from: dt.date
    valid_until: dt.date | None
    key_parts: tuple[tuple[str, str], ...]
    """Ordered (name, value) pairs; the ``subject`` part is filled in by :meth:`Decision.idempotency_key`."""
    attributes: Mapping[str, str]
    vehicle_plate: str | None = None
    """The vehicle the grant is for: the ``vehicle`` subject kind's key part (``schemes.subjects``) fills it."""
    renew_before_end_days: int | None = None
    magda_service: str | None = None
    basis: Mapping[str, int] = field(default_factory=dict)
    """Counts an amount was looked up by (IVAGO: ``household_size``): the downstream system wants them."""


@dataclass(frozen=True)
class Decision:
    """The outcome for one subject, scheme and reference date, with everything needed to explain it."""

    scheme_id: str
    rule_version: str
    definition_digest: str
    reference_date: dt.date
    period: str
    decision: Outcome
    tier: str | None
    amount: Decimal | None
    """The main amount in EUR (IVAGO voucher), else None."""
    amounts: Mapping[str, Decimal]
    percentages: Mapping[str, Decimal]
    reasons: tuple[str, ...]
    trace: tuple[TraceStep, ...]
    grant: GrantTerms | None

    @property
    def eligible(self) -> bool:
        return self.decision is Outcome.ELIGIBLE

    def sources_used(self) -> tuple[str, ...]:
        """Source names that contributed a known outcome: for the notification's "which data we used"."""
        known = (TraceOutcome.TRUE, TraceOutcome.FALSE)
        return tuple(dict.fromkeys(s.source for s in self.trace if s.outcome in known))

    def idempotency_key(self, subject_ref: str) -> str:
        """The grant's key, e.g. ``uitpas-kansentarief|<pseudonym>|2025``; pass a pseudonym, not an INSZ."""
        if self.grant is None:
            raise ValueError(f"a {self.decision} decision grants nothing and has no idempotency key")
        return "|".join(subject_ref if name == "subject" else value for name, value in self.grant.key_parts)


class MissingFacts(LookupError):
    """The outcome depends on facts that were not gathered: gather them (see :func:`outstanding_facts`)."""

    def __init__(self, scheme_id: str, keys: tuple[FactKey, ...]) -> None:
        self.keys = keys
        super().__init__(
            f"scheme {scheme_id} cannot decide without the facts: {', '.join(str(k) for k in keys)} "
            "(gather them; outstanding_facts() lists what is still needed)"
        )


class ProportionalityError(RuntimeError):
    """A scheme's rules need a service or statute its definition does not allow."""


# ---------------------------------------------------------------- what a scheme needs


def _rule_keys(rule: Rule) -> Iterator[FactKey]:
    if isinstance(rule, AllOf | AnyOf):
        for item in rule.items:
            yield from _rule_keys(item)
    elif isinstance(rule, Not):
        yield from _rule_keys(rule.item)
    else:
        yield rule.key


def _date_keys(rule: DateRule) -> Iterator[FactKey]:
    if isinstance(rule, FactDate):
        yield rule.key
    elif isinstance(rule, EarliestOf):
        for item in rule.items:
            yield from _date_keys(item)


def _benefit_keys(scheme: Scheme, benefit: Benefit) -> Iterator[FactKey]:
    for amount in benefit.amounts:
        by = scheme.parameters[amount.parameter].by
        if by:
            yield FactKey(by)


def needed_facts(scheme: Scheme) -> tuple[FactKey, ...]:
    """Exactly the facts the scheme can use, in rule order: criteria, tiers, amounts, grant."""
    keys: list[FactKey] = list(_rule_keys(scheme.criteria))
    for tier in scheme.tiers:
        keys.extend(_rule_keys(tier.when))
        keys.extend(_benefit_keys(scheme, tier.benefit))
    keys.extend(_benefit_keys(scheme, scheme.benefit))
    keys.extend(_date_keys(scheme.grant.valid_until))
    keys.extend(FactKey(part.fact) for part in subject_kind(scheme.subject).identity
                if part.name in scheme.grant.idempotency_key)
    return tuple(dict.fromkeys(keys))


def required_services(scheme: Scheme) -> tuple[str, ...]:
    """The MAGDA services the needed facts come from; raises if the definition does not allow one."""
    services = tuple(dict.fromkeys(s for key in needed_facts(scheme) for s in key.services()))
    extra = [s for s in services if s not in scheme.magda.services]
    if extra:
        raise ProportionalityError(f"scheme {scheme.id} needs services it may not ask: {', '.join(extra)}")
    return services


def required_statutes(scheme: Scheme) -> tuple[str, ...]:
    """The KSZ statutes the rules ask about; raises if the definition does not allow one."""
    statutes = tuple(dict.fromkeys(k.statute.value for k in needed_facts(scheme) if k.statute is not None))
    extra = [s for s in statutes if s not in scheme.magda.statutes]
    if extra:
        raise ProportionalityError(f"scheme {scheme.id} needs statutes it may not ask: {', '.join(extra)}")
    return statutes


# ---------------------------------------------------------------- evaluation


@dataclass
class _Result:
    value: Tri
    reasons: tuple[str, ...]


def _dedupe(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for group in groups for code in group if code))


@dataclass
class _Run:
    scheme: Scheme
    facts: Facts
    on: dt.date
    allow_missing: bool
    forced: Mapping[FactKey, bool] = field(default_factory=dict)
    """Probing only: a yes/no outcome assumed for each test on a fact that was not gathered."""
    trace: list[TraceStep] = field(default_factory=list)
    not_asked: dict[FactKey, None] = field(default_factory=dict)
    not_asked_values: dict[FactKey, None] = field(default_factory=dict)
    tier: str | None = None

    def step(self, criterion: str, key: FactKey, outcome: TraceOutcome, reason: str | None, kind: str) -> None:
        fact = self.facts.get(key)
        source = fact.source if fact is not None else key.spec.source
        label = key.label_nl
        self.trace.append(TraceStep(criterion, label, source, outcome, reason, self.tier, kind))  # type: ignore[arg-type]

    def missing(self, key: FactKey, criterion: str, kind: str = "criterion") -> _Result:
        if key in self.forced:
            return _Result(self.forced[key], ())
        (self.not_asked if kind == "criterion" else self.not_asked_values)[key] = None
        self.step(criterion, key, TraceOutcome.NOT_ASKED, None, kind)
        return _Result(None, ("FACTS_NOT_GATHERED",) if self.allow_missing else ())

    def unknown(self, key: FactKey, criterion: str, kind: str = "criterion") -> _Result:
        fact = self.facts.get(key)
        reason = (fact.unknown_reason if fact is not None else None) or key.unknown_reason()
        self.step(criterion, key, TraceOutcome.UNKNOWN, reason, kind)
        return _Result(None, (reason,))

    def known(self, key: FactKey, criterion: str, value: bool, reason: str) -> _Result:
        self.step(criterion, key, TraceOutcome.TRUE if value else TraceOutcome.FALSE, reason, "criterion")
        return _Result(value, (reason,))

    def rule(self, rule: Rule) -> _Result:
        if isinstance(rule, AllOf):
            parts = [self.rule(r) for r in rule.items]
            if any(p.value is False for p in parts):
                return _Result(False, _dedupe(*(p.reasons for p in parts if p.value is False)))
            if all(p.value is True for p in parts):
                return _Result(True, _dedupe(*(p.reasons for p in parts)))
            return _Result(None, _dedupe(*(p.reasons for p in parts if p.value is None)))
        if isinstance(rule, AnyOf):
            parts = [self.rule(r) for r in rule.items]
            if any(p.value is True for p in parts):
                return _Result(True, _dedupe(*(p.reasons for p in parts if p.value is True)))
            if all(p.value is False for p in parts):
                return _Result(False, _dedupe(*(p.reasons for p in parts)))
            return _Result(None, _dedupe(*(p.reasons for p in parts if p.value is None)))
        if isinstance(rule, Not):
            inner = self.rule(rule.item)
            return _Result(None if inner.value is None else not inner.value, inner.reasons)
        if isinstance(rule, Compare):
            return self.compare(rule)
        return self.test(rule)

    def test(self, rule: FactTest) -> _Result:
        key = rule.key
        criterion = str(key)
        fact = self.facts.get(key)
        if fact is None:
            return self.missing(key, criterion)
        if fact.value is UNKNOWN:
            return self.unknown(key, criterion)
        if fact.value is ABSENT:
            return self.known(key, criterion, False, key.reason("absent"))
        value = fact.value if isinstance(fact.value, bool) else True  # 'present' facts: a value was found
        return self.known(key, criterion, value, key.reason(value))

    def compare(self, rule: Compare) -> _Result:
        key = rule.key
        fact = self.facts.get(key)
        if fact is None:
            return self.missing(key, rule.label)
        if fact.value is UNKNOWN:
            return self.unknown(key, rule.label)
        if fact.value is ABSENT:
            return self.known(key, rule.label, False, key.reason("absent"))
        limit = self.scheme.parameter(rule.parameter, self.on)
        assert isinstance(limit, Decimal)
        if key.spec.unit_parameter and self.scheme.parameter(key.spec.unit_parameter, self.on) == "EUR-cent":
            limit = limit * 100
        value = Decimal(fact.value)  # type: ignore[arg-type]
        result = {
            "below": value < limit,
            "at_most": value <= limit,
            "above": value > limit,
            "at_least": value >= limit,
        }[rule.op]
        return self.known(key, rule.label, result, rule.reason_true if result else rule.reason_false)

    # -- values for the benefit and the grant

    def lookup(self, key: FactKey, purpose: str) -> object:
        """A fact's value for a benefit or grant; MISSING/UNKNOWN sentinels when it is not there."""
        fact = self.facts.get(key)
        criterion = f"{key} → {purpose}"
        if fact is None:
            self.missing(key, criterion, "lookup")
            return _MISSING
        if fact.value is UNKNOWN:
            self.unknown(key, criterion, "lookup")
            return UNKNOWN
        self.step(criterion, key, TraceOutcome.TRUE, None, "lookup")
        return fact.value

    def benefit(self, benefit: Benefit) -> tuple[dict[str, Decimal], dict[str, Decimal]] | object:
        amounts: dict[str, Decimal] = {}
        for spec in benefit.amounts:
            param = self.scheme.parameters[spec.parameter]
            value = param.at(self.on)
            if isinstance(value, Table):
                assert param.by is not None
                n = self.lookup(FactKey(param.by), spec.name)
                if n is _MISSING or n is UNKNOWN:
                    return n
                value = value.lookup(int(n))  # type: ignore[call-overload]
            assert isinstance(value, Decimal)
            if spec.percentage:
                share = self.scheme.parameter(spec.percentage, self.on)
                assert isinstance(share, Decimal)
                value = value * share / 100
            amounts[spec.name] = value.quantize(_CENT, rounding=ROUND_HALF_UP)
        percentages = {name: self.scheme.parameter(p, self.on) for name, p in benefit.percentages}
        return amounts, percentages  # type: ignore[return-value]

    def date(self, rule: DateRule) -> dt.date | None | object:
        if isinstance(rule, NextDayMonth):
            month, day = (int(x) for x in str(self.scheme.parameter(rule.parameter, self.on)).split("-"))
            candidate = _safe_date(self.on.year, month, day)
            return candidate if candidate >= self.on else _safe_date(self.on.year + 1, month, day)
        if isinstance(rule, YearsAfterReferenceDate):
            years = int(self.scheme.parameter(rule.parameter, self.on))  # type: ignore[arg-type]
            return _safe_date(self.on.year + years, self.on.month, self.on.day)
        if isinstance(rule, FactDate):
            value = self.lookup(rule.key, "valid_until")
            return None if value is ABSENT else value
        dates = [self.date(item) for item in rule.items]
        for d in dates:
            if d is _MISSING or d is UNKNOWN:
                return d
        known = [d for d in dates if isinstance(d, dt.date)]
        return min(known) if known else None


_MISSING = object()


def _safe_date(year: int, month: int, day: int) -> dt.date:
    """A date, with 29 February becoming 28 February in a year without it."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, month, day - 1)


def _and(a: Tri, b: Tri) -> Tri:
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    return None


def _decide(run: _Run) -> tuple[Tri, Tier | None, tuple[str, ...]]:
    """Criteria and tiers in Kleene logic: (overall, chosen tier, reasons)."""
    scheme = run.scheme
    base = run.rule(scheme.criteria)
    tier_results: list[_Result] = []
    for tier in scheme.tiers:
        run.tier = tier.id
        tier_results.append(run.rule(tier.when))
    run.tier = None
    if not scheme.tiers:
        return base.value, None, base.reasons

    any_tier: Tri = None
    if any(r.value is True for r in tier_results):
        any_tier = True
    elif all(r.value is False for r in tier_results):
        any_tier = False
    overall = _and(base.value, any_tier)
    if overall is False:
        if base.value is False:
            return False, None, base.reasons
        return False, None, _dedupe(("NO_TIER_APPLIES",), *(r.reasons for r in tier_results))
    first = next((i for i, r in enumerate(tier_results) if r.value is not False), None)
    if overall is True and first is not None and tier_results[first].value is True:
        chosen = scheme.tiers[first]
        return True, chosen, _dedupe(base.reasons, tier_results[first].reasons, (chosen.reason,))
    # Eligible or not, or eligible but which tier (and so which discount) is not known yet.
    undecided = [r.reasons for r in tier_results if r.value is None]
    return None, None, _dedupe(base.reasons if base.value is None else (), *undecided)


_MAX_PROBED_FACTS = 12


def _missing_matters(run: _Run) -> bool:
    """Could the facts that were not gathered still settle an undetermined outcome? Try their yes/no values."""
    keys = tuple(run.not_asked)
    if len(keys) > _MAX_PROBED_FACTS:
        return True
    for combo in itertools.product((True, False), repeat=len(keys)):
        probe = _Run(run.scheme, run.facts, run.on, run.allow_missing, forced=dict(zip(keys, combo, strict=True)))
        if _decide(probe)[0] is not None:
            return True
    return False


def evaluate(scheme: Scheme, facts: Facts, reference_date: dt.date, *, allow_missing: bool = False) -> Decision:
    """Decide one subject on reference date D.

    Facts that were not gathered are fine when the outcome does not depend on them (staged gathering:
    no KSZ question for a non-resident; a statute that no longer matters once another holds); otherwise
    :class:`MissingFacts` is raised, unless ``allow_missing`` is set, which makes the decision
    ``undetermined`` with ``FACTS_NOT_GATHERED``.
    """
    run = _Run(scheme, facts, reference_date, allow_missing)
    overall, chosen, reasons = _decide(run)

    decision = {True: Outcome.ELIGIBLE, False: Outcome.NOT_ELIGIBLE, None: Outcome.UNDETERMINED}[overall]
    amounts: dict[str, Decimal] = {}
    percentages: dict[str, Decimal] = {}
    grant: GrantTerms | None = None
    if decision is Outcome.ELIGIBLE:
        benefit = run.benefit(chosen.benefit if chosen else scheme.benefit)
        valid_until = run.date(scheme.grant.valid_until)
        lacking = [v for v in (benefit, valid_until) if v is _MISSING or v is UNKNOWN]
        if lacking:
            decision = Outcome.UNDETERMINED
            # An unknown amount or date says why its fact is unknown (a transient gap, or an objector's data).
            why = tuple(dict.fromkeys(t.reason for t in run.trace if t.kind == "lookup" and t.reason
                                      and t.outcome is TraceOutcome.UNKNOWN)) or (TRANSIENT_REASON,)
            reasons = _dedupe(*(("FACTS_NOT_GATHERED",) if v is _MISSING else why for v in lacking))
        else:
            amounts, percentages = benefit  # type: ignore[misc]
            grant = _grant_terms(scheme, facts, reference_date, valid_until)  # type: ignore[arg-type]

    if decision is Outcome.UNDETERMINED and not allow_missing:
        if run.not_asked_values:
            raise MissingFacts(scheme.id, tuple(run.not_asked_values))
        if overall is None and run.not_asked and _missing_matters(run):
            raise MissingFacts(scheme.id, tuple(run.not_asked))

    return Decision(
        scheme_id=scheme.id,
        rule_version=scheme.rule_version,
        definition_digest=scheme.digest,
        reference_date=reference_date,
        period=scheme.period_label(reference_date),
        decision=decision,
        tier=chosen.id if chosen and decision is Outcome.ELIGIBLE else None,
        amount=next(iter(amounts.values()), None),
        amounts=MappingProxyType(amounts),
        percentages=MappingProxyType(percentages),
        reasons=reasons,
        trace=tuple(run.trace),
        grant=grant,
    )


def _grant_terms(scheme: Scheme, facts: Facts, on: dt.date, valid_until: dt.date | None) -> GrantTerms:
    # What the subject itself brings to the grant (LEZ: the plate of the vehicle the rules chose).
    identity: dict[str, str | None] = {}
    for part in subject_kind(scheme.subject).identity:
        value = facts.value(part.fact)
        identity[part.name] = value if isinstance(value, str) else None

    parts = {
        "scheme": scheme.id,
        "subject": "",
        "year": f"{on.year:04d}",
        "month": period_label(Period.MONTHLY, on),
        "school_year": period_label(Period.SCHOOL_YEAR, on),
        "week": period_label(Period.WEEKLY, on),
        **{name: value or "" for name, value in identity.items()},
        "valid_until": valid_until.isoformat() if valid_until else "open",
    }
    renew = scheme.grant.renew_before_end_days
    basis: dict[str, int] = {}
    for benefit in (scheme.benefit, *(t.benefit for t in scheme.tiers)):
        for spec in benefit.amounts:
            by = scheme.parameters[spec.parameter].by
            value = facts.value(by) if by else None
            if by and isinstance(value, int | Decimal) and not isinstance(value, bool):
                basis[by] = int(value)
    return GrantTerms(
        system=scheme.grant.system,
        valid_from=on,
        valid_until=valid_until,
        key_parts=tuple((name, parts[name]) for name in scheme.grant.idempotency_key),
        attributes=scheme.grant.attributes,
        **identity,  # type: ignore[arg-type]
        renew_before_end_days=int(scheme.parameter(renew, on)) if renew else None,  # type: ignore[arg-type]
        magda_service=scheme.grant.magda_service,
        basis=MappingProxyType(basis),
    )


def outstanding_facts(scheme: Scheme, facts: Facts, reference_date: dt.date) -> tuple[FactKey, ...]:
    """The facts still to gather before the scheme can decide; empty when the facts at hand decide it.

    Lets the advice engine ask in stages (residence first) and stop as soon as the outcome is fixed.
    """
    try:
        evaluate(scheme, facts, reference_date)
    except MissingFacts as exc:
        return exc.keys
    return ()
