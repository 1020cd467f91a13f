"""Coverage per district (wijk): does the proactive approach reach every neighbourhood? Counts only, never a person.

Per scheme the figures come from its latest finished, non-dry run over the whole population (the run the take-up
trend shows last); a decision has no district, so each decided person is placed by ``resident.district`` (the
city extract's ``wijk``; ``onbekend`` when the extract did not say or the person is no longer in it). Per district:

- *beslist* (decided): persons with a decision in the run;
- *rechthebbend* (eligible), *onbeslist* (undetermined): persons with that decision;
- *toegekend* (granted): eligible persons whose grant key has a grant that is not cancelled, whichever run wrote
  it (as in :mod:`proactief.dashboard.trend`);
- *verwittigd* (notified): of those, whose notification was sent;
- *levering mislukt* (failed delivery): eligible persons whose grant has an outbox row (to the provider or the
  notification) or a notice that failed (gave up, waits for a person: ``proactief outbox failed``);
- *opname* (take-up) = toegekend / rechthebbend; *aandeel onbeslist* = onbeslist / beslist; *aandeel levering
  mislukt* = levering mislukt / rechthebbend.

k-anonymity: every count under :data:`K` persons (zero included) is shown as ``<10``, and so is every share
computed from such a count. When exactly one district of a column is hidden, the smallest other district of that
column is hidden too (complementary suppression): the city total is public (here and in the run's tiles), so a
single hidden cell could be recomputed as the total minus the others.

A district is *flagged* (:data:`FLAG_FACTOR`) when its undetermined or failed-delivery share is more than twice
the city's and that count is at least :data:`K` persons: a real pattern, never a suppressed cell (what the operator
and scheme owner then do: runbook: 'A district stands out'). No INSZ leaves this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from proactief.citydata import GHENT_DISTRICTS
from proactief.dashboard.covered import decisions_with_keys, failed_delivery, live_grants, notified
from proactief.ledger.models import Resident, SchemeRun

__all__ = ["COUNTS", "FLAG_FACTOR", "K", "UNKNOWN", "DistrictCoverage", "DistrictRow", "coverage",
           "coverage_by_district", "coverage_of", "suppress"]

K = 10
"""The smallest group shown as a number."""
FLAG_FACTOR = 2.0
"""A district's share must exceed this multiple of the city's share to be flagged."""
UNKNOWN = "onbekend"
"""The district of persons the extract placed nowhere (older extract, left the city)."""
COUNTS = ("decided", "eligible", "granted", "notified", "undetermined", "failed")
FLAGS = {"undetermined": "veel onbeslist", "failed": "veel mislukte leveringen"}

Shown = int | None
"""A count as shown: None when suppressed (fewer than K persons, or hidden to protect such a cell)."""


@dataclass(frozen=True)
class DistrictRow:
    """One district's counts after suppression, its shares (None = suppressed or nobody to divide by), flags."""

    district: str
    decided: Shown
    eligible: Shown
    granted: Shown
    notified: Shown
    undetermined: Shown
    failed: Shown
    flags: tuple[str, ...] = ()

    @property
    def take_up(self) -> float | None:
        """Toegekend / rechthebbend."""
        return _share(self.granted, self.eligible)

    @property
    def undetermined_share(self) -> float | None:
        return _share(self.undetermined, self.decided)

    @property
    def failed_share(self) -> float | None:
        return _share(self.failed, self.eligible)


@dataclass(frozen=True)
class DistrictCoverage:
    """One scheme's coverage per district in one run."""

    scheme_id: str
    run_id: int
    period: str
    reference_date: dt.date
    rows: list[DistrictRow]
    total: DistrictRow
    """The whole city (counts under K suppressed too)."""
    city_undetermined_share: float | None = None
    city_failed_share: float | None = None
    flagged: list[str] = field(default_factory=list)


def _share(part: Shown, whole: Shown) -> float | None:
    if part is None or whole is None or whole == 0:
        return None
    return part / whole


def _raw_share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def suppress(raw: Mapping[str, Mapping[str, int]], columns: Sequence[str] = COUNTS,
             k: int = K) -> dict[str, dict[str, Shown]]:
    """The district table with every count under ``k`` hidden (None), then per column, when exactly one district is
    hidden, the smallest other one too, so the public total cannot give the hidden one back."""
    shown: dict[str, dict[str, Shown]] = {d: {c: (v if (v := int(counts.get(c, 0))) >= k else None)
                                              for c in columns} for d, counts in raw.items()}
    for c in columns:
        hidden = [d for d in shown if shown[d][c] is None]
        if len(hidden) != 1:
            continue
        others = sorted((int(raw[d].get(c, 0)), d) for d in shown if shown[d][c] is not None)
        if others:
            shown[others[0][1]][c] = None
    return shown


def _latest_population_run(conn: Connection, scheme_id: str) -> Any:
    return conn.execute(
        select(SchemeRun.id, SchemeRun.period, SchemeRun.reference_date)
        .where(SchemeRun.scheme_id == scheme_id, SchemeRun.status == "finished", SchemeRun.dry_run.is_(False),
               SchemeRun.selection == "population")
        .order_by(SchemeRun.reference_date.desc(), SchemeRun.started_at.desc(), SchemeRun.id.desc())
        .limit(1)).first()


def _raw_counts(conn: Connection, scheme_id: str, run_id: int) -> dict[str, dict[str, int]]:
    """Per district the counts of :data:`COUNTS` (persons, distinct).

    Read with one indexed query per table and joined here (:mod:`proactief.dashboard.covered`)."""
    decisions = [(insz, decision, key) for _, insz, decision, key in decisions_with_keys(conn, [run_id])]
    where: dict[str, str] = {}
    people = sorted({insz for insz, _, _ in decisions})
    for i in range(0, len(people), 5000):
        where.update(conn.execute(select(Resident.insz, Resident.district)
                                  .where(Resident.insz.in_(people[i:i + 5000]), Resident.left_at.is_(None),
                                         Resident.district.is_not(None))).all())
    grants = live_grants(conn, scheme_id)
    wanted = [grants[key] for _, decision, key in decisions if decision == "eligible" and key in grants]
    told, failed = notified(conn, wanted), failed_delivery(conn, wanted)
    persons: dict[str, dict[str, set[str]]] = {}
    for insz, decision, key in decisions:
        counts = persons.setdefault(where.get(insz, UNKNOWN), {})
        counts.setdefault("decided", set()).add(insz)
        if decision in ("eligible", "undetermined"):
            counts.setdefault(decision, set()).add(insz)
        grant = grants.get(key) if decision == "eligible" else None
        if grant is None:
            continue
        counts.setdefault("granted", set()).add(insz)
        if grant in told:
            counts.setdefault("notified", set()).add(insz)
        if grant in failed:
            counts.setdefault("failed", set()).add(insz)
    return {name: {column: len(members) for column, members in counts.items()} for name, counts in persons.items()}


def coverage_of(raw: Mapping[str, Mapping[str, int]], *, scheme_id: str = "", run_id: int = 0, period: str = "",
                reference_date: dt.date = dt.date.min) -> DistrictCoverage:
    """The suppressed, flagged table from raw counts per district (every Ghent district gets a row, the unknown
    district only when someone is in it)."""
    names = list(GHENT_DISTRICTS) + sorted(d for d in raw if d not in GHENT_DISTRICTS and d != UNKNOWN)
    if raw.get(UNKNOWN):
        names.append(UNKNOWN)
    full = {d: {c: int(raw.get(d, {}).get(c, 0)) for c in COUNTS} for d in names}
    totals = {c: sum(full[d][c] for d in names) for c in COUNTS}
    city_undetermined = _raw_share(totals["undetermined"], totals["decided"])
    city_failed = _raw_share(totals["failed"], totals["eligible"])
    shown = suppress(full)
    rows, flagged = [], []
    for d in names:
        counts = full[d]
        flags = []
        for column, whole, city in (("undetermined", "decided", city_undetermined),
                                    ("failed", "eligible", city_failed)):
            share = _raw_share(counts[column], counts[whole])
            if counts[column] >= K and share is not None and city is not None and share > FLAG_FACTOR * city:
                flags.append(FLAGS[column])
        if flags:
            flagged.append(d)
        rows.append(DistrictRow(d, **shown[d], flags=tuple(flags)))
    total = DistrictRow("Gent", **{c: (v if v >= K else None) for c, v in totals.items()})
    return DistrictCoverage(scheme_id, run_id, period, reference_date, rows, total, city_undetermined, city_failed,
                            flagged)


def coverage(engine: Engine, scheme_id: str) -> DistrictCoverage | None:
    """The scheme's coverage per district in its latest finished population run (None: no such run yet)."""
    with engine.connect() as conn:
        run = _latest_population_run(conn, scheme_id)
        if run is None:
            return None
        raw = _raw_counts(conn, scheme_id, run.id)
    return coverage_of(raw, scheme_id=scheme_id, run_id=run.id, period=run.period, reference_date=run.reference_date)


def coverage_by_district(engine: Engine, scheme_ids: Sequence[str]) -> dict[str, DistrictCoverage]:
    """``coverage`` for each scheme the caller may see that has a population run."""
    out = {}
    for scheme_id in scheme_ids:
        found = coverage(engine, scheme_id)
        if found is not None:
            out[scheme_id] = found
    return out
