"""A simulated year (issue 15 point 6): a 5,000-person timeline from 2026-01-01 to 2027-01-31, day by day on the
simulator's clock, every scheduled run of every scheme in schedule order, the mutations work on Mondays, opt-out
intake with objections and withdrawals, two objections (bezwaren) decided by a case worker, the outbox each day, 2 %
transient MAGDA faults — then checked against the timeline's truth (``tests/year/harness.py``: the harness, shared
with ``benchmarks/bench_year.py``)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.year.harness import (
    SimulatedYear,
    check_year,
    grants_for_the_undecided,
    ledger_fingerprint,
    ledger_marks,
    simulated_year,
)

pytestmark = pytest.mark.integration

SIZE = 5_000


def _show(items: list, n: int = 5) -> str:
    """A count and a few anonymous keys (scheme, period) for the failure message: no INSZ."""
    return f"{len(items)} e.g. {[tuple(x[:2]) for x in items[:n]]}"


def test_a_simulated_year_decides_every_period_once_and_right(pg_url: str, tmp_path: Path) -> None:
    t0 = time.perf_counter()
    with simulated_year(pg_url, tmp_path, size=SIZE) as year:
        year.run()
        wall = time.perf_counter() - t0
        found = check_year(year)
        print(f"simulated year of {SIZE} persons: {wall:.0f} s; {dict(year.log.timings)}; {found.figures}")
        print({k: len(v) if isinstance(v, list) else v for k, v in vars(found).items() if k != "figures"})
        before, after = _rerun_days(year)
    assert year.log.clock_supported, f"the simulator's clock could not be set: {year.log.clock_error}"
    assert not found.failed_runs, f"failed runs: {found.failed_runs[:5]}"
    assert found.expected_grants > 500
    assert not found.duplicates, f"duplicate grants: {_show(found.duplicates)}"
    assert not found.duplicate_toegekend, f"second 'toegekend' for one benefit: {_show(found.duplicate_toegekend)}"
    assert not found.missing, f"entitled without a grant: {_show(found.missing)} of {found.expected_grants}"
    assert not found.unexpected, f"grants nobody was entitled to: {_show(found.unexpected)}"
    assert found.renew_without_renewal == 0
    assert found.stop_messages_wrong == 0, "an ended benefit is told exactly once, a running one never"
    assert found.lez_moved_not_told == 0
    assert found.unsubscriptions_wrong == 0, "every objection unsubscribes the person from the repertorium once"
    assert found.consulted_while_objecting == 0, (
        f"{found.consulted_while_objecting} MAGDA consultations about objectors "
        f"({found.consulted_while_objecting_subject} of them as a run's subject)")
    assert not found.casework_wrong, f"the year went against a case worker's decision: {found.casework_wrong}"
    assert after == before, f"re-running days changed grants, outbox rows or notices: {_difference(before, after)}"
    # Its wall time is a figure (printed above, and by benchmarks/bench_year.py), not an assertion: speed targets
    # live in the benchmark (DEVELOPERS.md, "Standards").


def _difference(before: dict, after: dict) -> dict:
    """What changed, by scheme and kind (no grant keys)."""
    b, a = set(before["grants"]), set(after["grants"])
    return {"grants_gone": Counter(g[0] for g in b - a), "grants_new": Counter(g[0] for g in a - b),
            **{part: {k: (before[part].get(k), after[part].get(k)) for k in set(before[part]) | set(after[part])
                      if before[part].get(k) != after[part].get(k)} for part in ("outbox", "notices")}}


def _rerun_days(year: SimulatedYear) -> tuple[dict, dict]:
    """Re-run a day (a UiTPAS 1st with IVAGO, a LEZ Monday, onderwijskorting's 1 September): the ledger's
    grants, outbox rows and notices before and after. A re-run may decide whom the year's runs left undecided
    (an objection withdrawn since, MAGDA still failing then): their new grants are set apart and counted;
    nobody else may see anything change."""
    before = ledger_fingerprint(year.engine)
    marks = ledger_marks(year.engine)
    for day in (dt.date(2026, 1, 1), dt.date(2026, 6, 1), dt.date(2026, 9, 1), dt.date(2026, 11, 2)):
        year.rerun_day(day)
    newly_decided = grants_for_the_undecided(year.engine, marks)
    print(f"re-running 4 days: {len(newly_decided)} grants for persons the year left undecided")
    return before, ledger_fingerprint(year.engine, newly_decided)
