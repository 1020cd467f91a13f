"""Renewal, not re-grant: a benefit that is already running is the same grant.

A scheme whose grant key holds the grant's end date (LEZ: ``[scheme, subject, vehicle_plate, valid_until]``) gets a
new key every run, because the end date (D + 5 years) moves with D. What identifies such a grant is its key
*without* the end date (LEZ: holder and plate). While a grant of that identity runs on D:

- an eligible decision grants nothing new (``running``): no second registration, no second "toegekend";
- inside the renewal window (``renew_before_end_days`` in the scheme, LEZ: 30 days before the end) and only when
  the decision's end date lies later, it makes one *renewal* grant (``renew``) that continues the running one from
  the day after its end until the decision's end date, told in its own short message (``notify_renew``);
- a running grant of the same holder with another identity ends on D with a stop notice that says where the benefit
  went (``moved_to``): LEZ has one exemption per parking card, so an exemption that must move to another vehicle
  ends the old one.

A scheme whose key holds the *period* instead (UiTPAS: ``[scheme, subject, year]``, one grant per person and
calendar year) already recognises a running grant by its key. With ``renew_before_end_days`` (UiTPAS: 31 days
before 31 December) the run inside the window makes the *next* period's grant as a renewal
(:func:`plan_next_periods`): when the decision's own grant began before D (it runs, it is not this period's first
grant) and ends inside the window, one grant with the next period's key, valid from the day after the end until
the scheme's end date counted from that day (1 January to 31 December of the next year), told in the same short
message. A person not eligible on D, or who objected, has no eligible decision to plan from and gets no renewal;
the next period's own run finds the key granted and adds nothing (no second letter). Schemes without a window
(IVAGO, onderwijskorting) are not touched here.

Everything is read in the grant step's transaction, and a renewal grant is an ordinary grant row with its own key
(LEZ: the decision's; UiTPAS: the next year's), so a retried or repeated run finds it and adds nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, select

from proactief.ledger.models import GrantRow, SchemeRun
from proactief.schemes import Scheme
from proactief.schemes.model import DateRule, EarliestOf, NextDayMonth, Period, YearsAfterReferenceDate, period_label
from proactief.schemes.subjects import subject_kind

__all__ = ["PERIOD_PARTS", "RUNNING_STATUSES", "NextPeriod", "Plan", "covering_grants", "decided_by", "identity",
           "next_period_end", "plan_grants", "plan_next_periods", "renewable", "renews_by_period", "running_grants",
           "window_days"]

RUNNING_STATUSES = ("granted", "delivered")
"""A grant in one of these states holds (or will, once delivered) until its end; revoked and cancelled ones do not."""
_DAY = dt.timedelta(days=1)
PERIOD_PARTS = {"year": Period.YEARLY, "month": Period.MONTHLY, "school_year": Period.SCHOOL_YEAR,
                "week": Period.WEEKLY}
"""Key parts that name a period (the evaluator fills them in from D the same way)."""


@dataclass(frozen=True)
class Plan:
    """What the grant step does with one eligible decision of a renewable scheme."""

    action: Literal["new", "renew", "running"]
    covering_key: str | None = None
    """``running``: the key of the grant that already covers the decision."""
    valid_from: dt.date | None = None
    """``renew``: the day after the running grant's end."""
    renews: int | None = None
    """``renew``: the id of the grant it continues."""
    previous_until: dt.date | None = None
    """``renew``: the running grant's end date (the message says what changed)."""


def renewable(scheme: Scheme) -> bool:
    """The scheme's key holds the end date, so a running grant must be recognised by its identity instead."""
    return "valid_until" in scheme.grant.idempotency_key


def identity(scheme: Scheme, key: str) -> str:
    """The grant key without its end date: what makes two grants the same benefit (LEZ: holder and plate)."""
    names = scheme.grant.idempotency_key
    parts = key.split("|")
    if len(parts) != len(names):
        return key
    return "|".join(p for n, p in zip(names, parts, strict=True) if n != "valid_until")


def window_days(scheme: Scheme, on: dt.date) -> int | None:
    """``renew_before_end_days`` in force on ``on``; None: the scheme never renews early (the grant runs out)."""
    name = scheme.grant.renew_before_end_days
    return int(scheme.parameter(name, on)) if name else None  # type: ignore[arg-type]


def _ended(row: Any, d: dt.date) -> bool:
    revoke_from = (row.terms or {}).get("revoke_from")
    return bool(revoke_from) and dt.date.fromisoformat(str(revoke_from)) <= d


def decided_by(d: dt.date) -> Any:
    """Grants made by a run whose reference date is ``d`` or earlier (or whose run is gone): what was decided about
    the benefit as it stood on ``d``. A re-run or backfill of a past D neither ends, renews nor repeats what a later
    D's run decided (a later plate, card or renewal)."""
    return GrantRow.run_id.is_(None) | GrantRow.run_id.in_(select(SchemeRun.id).where(SchemeRun.reference_date <= d))


def running_grants(conn: Connection, scheme: Scheme, holders: Iterable[str], d: dt.date) -> dict[str, list[Any]]:
    """Per holder, the scheme's grants that still hold on ``d`` or start later (a renewal not begun yet), as decided
    up to ``d``: a grant revoked from a day after ``d`` still held on ``d``."""
    people = list(dict.fromkeys(holders))
    out: dict[str, list[Any]] = defaultdict(list)
    for i in range(0, len(people), 5000):
        for row in conn.execute(select(GrantRow.id, GrantRow.grant_key, GrantRow.insz, GrantRow.valid_from,
                                       GrantRow.valid_until, GrantRow.terms, GrantRow.granted_at)
                                .where(GrantRow.scheme_id == scheme.id, GrantRow.insz.in_(people[i:i + 5000]),
                                       GrantRow.status.in_((*RUNNING_STATUSES, "revoked")), decided_by(d),
                                       GrantRow.valid_until.is_(None) | (GrantRow.valid_until >= d))
                                .order_by(GrantRow.valid_from, GrantRow.id)):
            if not _ended(row, d):
                out[row.insz].append(row)
    return out


def _latest(rows: Sequence[Any]) -> Any:
    return max(rows, key=lambda r: (r.valid_until is None, r.valid_until or dt.date.min, r.id))


def plan_grants(conn: Connection, scheme: Scheme, d: dt.date,
                decisions: Sequence[tuple[str, str, dict[str, Any]]]) -> tuple[dict[str, Plan], list[tuple[Any, str]]]:
    """For ``(holder, key, grant terms)`` of eligible decisions: a :class:`Plan` per key, and the running grants
    to end because the benefit moves to another identity (each with the plate it moves to)."""
    running = running_grants(conn, scheme, (h for h, _, _ in decisions), d)
    supplied = subject_kind(scheme.subject).identity  # LEZ: the benefit moves to the decision's plate
    window = window_days(scheme, d)
    plans: dict[str, Plan] = {}
    ending: dict[int, tuple[Any, str]] = {}
    for holder, key, terms in decisions:
        mine = running.get(holder, [])
        ident = identity(scheme, key)
        same = [g for g in mine if identity(scheme, g.grant_key) == ident]
        moved_to = " ".join(str(terms.get(part.name) or "") for part in supplied)
        for g in mine:
            if identity(scheme, g.grant_key) != ident:
                ending.setdefault(g.id, (g, moved_to))
        if not same or any(g.grant_key == key for g in same):
            plans[key] = Plan("new")  # a first grant, or this very grant again (the insert adds nothing)
            continue
        last = _latest(same)
        until = dt.date.fromisoformat(terms["valid_until"]) if terms.get("valid_until") else None
        if (last.valid_until is not None and window is not None and (last.valid_until - d).days <= window
                and until is not None and until > last.valid_until):
            plans[key] = Plan("renew", valid_from=last.valid_until + _DAY, renews=int(last.id),
                              previous_until=last.valid_until)
        else:
            plans[key] = Plan("running", covering_key=last.grant_key)
    return plans, list(ending.values())


def covering_grants(conn: Connection, scheme: Scheme, d: dt.date,
                    decisions: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """For ``(holder, key)`` whose key has no grant: the running grant of the same identity that covers it."""
    running = running_grants(conn, scheme, (h for h, _ in decisions), d)
    out: dict[str, Any] = {}
    for holder, key in decisions:
        same = [g for g in running.get(holder, []) if identity(scheme, g.grant_key) == identity(scheme, key)]
        if same:
            out[key] = _latest(same)
    return out


# ------------------------------------------------------------------------------------- period keys (UiTPAS)


@dataclass(frozen=True)
class NextPeriod:
    """The next period's grant a running grant is renewed with (UiTPAS: the next calendar year's)."""

    key: str
    valid_from: dt.date
    """The day after the running grant's end."""
    valid_until: dt.date
    renews: int
    """The id of the running grant it continues."""
    previous_until: dt.date
    """The running grant's end date (the message says what changed)."""


def _safe_date(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _label(part: str, on: dt.date) -> str:
    return f"{on.year:04d}" if part == "year" else period_label(PERIOD_PARTS[part], on)


def next_period_end(scheme: Scheme, on: dt.date) -> dt.date | None:
    """The scheme's end date for a grant starting ``on``, where it needs no facts (a day and month, years after);
    None where it depends on a person's facts, which only a decision on that day can tell."""

    def end(rule: DateRule) -> dt.date | None:
        if isinstance(rule, NextDayMonth):  # as the evaluator counts it from D
            month, day = (int(x) for x in str(scheme.parameter(rule.parameter, on)).split("-"))
            candidate = _safe_date(on.year, month, day)
            return candidate if candidate >= on else _safe_date(on.year + 1, month, day)
        if isinstance(rule, YearsAfterReferenceDate):
            years = int(scheme.parameter(rule.parameter, on))  # type: ignore[arg-type]
            return _safe_date(on.year + years, on.month, on.day)
        if isinstance(rule, EarliestOf):
            found = [end(item) for item in rule.items]
            return None if any(f is None for f in found) else min(f for f in found if f is not None)
        return None  # a fact's date (the parking card's end)

    return end(scheme.grant.valid_until)


def renews_by_period(scheme: Scheme) -> bool:
    """The key names the period (UiTPAS: the year) and the scheme has a renewal window: inside it, a running grant
    gets the next period's grant as a renewal instead of a new grant when that period's own run comes."""
    return (not renewable(scheme) and bool(scheme.grant.renew_before_end_days)
            and any(p in PERIOD_PARTS for p in scheme.grant.idempotency_key))


def _next_key(scheme: Scheme, key: str, on: dt.date) -> str | None:
    names = scheme.grant.idempotency_key
    parts = key.split("|")
    if len(parts) != len(names):
        return None
    return "|".join(_label(n, on) if n in PERIOD_PARTS else p for n, p in zip(names, parts, strict=True))


def plan_next_periods(conn: Connection, scheme: Scheme, d: dt.date,
                      decisions: Sequence[tuple[str, str]]) -> dict[str, NextPeriod]:
    """For ``(holder, key)`` of eligible, not objected decisions on ``d``: per decision key, the next period's
    grant to make as a renewal. Only where the key's own grant runs (granted or delivered, not ended), began before
    ``d`` (this period's first grant is not renewed by the run that made it: a retry or re-run stays the same) and
    ends inside the window (``renew_before_end_days`` before its end)."""
    window = window_days(scheme, d)
    if window is None or not decisions:
        return {}
    wanted = {key: holder for holder, key in decisions}
    out: dict[str, NextPeriod] = {}
    keys = list(wanted)
    for i in range(0, len(keys), 5000):
        for row in conn.execute(select(GrantRow.id, GrantRow.grant_key, GrantRow.insz, GrantRow.valid_from,
                                       GrantRow.valid_until, GrantRow.terms)
                                .where(GrantRow.scheme_id == scheme.id, GrantRow.grant_key.in_(keys[i:i + 5000]),
                                       GrantRow.status.in_(RUNNING_STATUSES), GrantRow.valid_from < d,
                                       GrantRow.valid_until >= d)):
            if row.insz != wanted[row.grant_key] or _ended(row, d) or (row.valid_until - d).days > window:
                continue
            start = row.valid_until + _DAY
            until, key = next_period_end(scheme, start), _next_key(scheme, row.grant_key, start)
            if until is None or key is None or key == row.grant_key:
                continue
            out[row.grant_key] = NextPeriod(key=key, valid_from=start, valid_until=until, renews=int(row.id),
                                            previous_until=row.valid_until)
    return out
