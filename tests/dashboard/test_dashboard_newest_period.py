"""The dashboard's "Laatste run" is the scheme's newest period, not the run started last: a backfill of older
periods, started after the current period's run, must not take its place (issue 14)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import Engine, insert

from proactief.dashboard import newest_runs, runs
from proactief.dashboard.render import dashboard_page
from proactief.ledger.models import SchemeRun
from tests.dashboard.ledger_data import IVAGO, UITPAS, Ledger

pytestmark = pytest.mark.integration


def _backfill_run(engine: Engine, period: str, day: dt.date, *, selection: str = "population",
                  started: dt.datetime) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(SchemeRun).values(
            scheme_id=UITPAS, rule_version="1", period=period, reference_date=day,
            external_id=f"{UITPAS}/backfill__{day.isoformat()}", dry_run=False, selection=selection, chunk_size=100,
            status="finished", started_at=started, finished_at=started + dt.timedelta(minutes=5),
            figures={"selected": 9}).returning(SchemeRun.id)).scalar_one())


def test_the_last_run_is_the_newest_period_even_after_a_backfill_of_older_ones(engine: Engine, data: Ledger) -> None:
    latest_started = max(r.started_at for r in runs(engine, [UITPAS])[UITPAS])
    later = latest_started + dt.timedelta(days=1)
    for month in (8, 9):  # a backfill of August and September, started after every other run
        backfill = _backfill_run(engine, f"2026-{month:02d}", dt.date(2026, month, 1),
                                 started=later + dt.timedelta(hours=month))
    # a re-evaluation of a few persons in the newest period does not replace its population run either
    _backfill_run(engine, "2026-12", dt.date(2026, 12, 1), selection="subjects", started=later + dt.timedelta(days=1))
    assert runs(engine, [UITPAS])[UITPAS][1].run_id == backfill  # the list of runs: latest started first
    newest = newest_runs(engine, [UITPAS, IVAGO, "lez-vrijstelling"])
    assert newest[UITPAS].run_id == data.runs["e"] and newest[UITPAS].period == "2026-12"
    assert newest[IVAGO].run_id == data.runs["f"] and "lez-vrijstelling" not in newest
    page = dashboard_page(engine, [UITPAS, IVAGO], user="eigenaar", plots=False)
    section = page.split(f'id="scheme-{UITPAS}"', 1)[1]
    (tile,) = re.findall(r'class="grid last-run" data-run="(\d+)"', section.split('id="scheme-', 1)[0])
    assert int(tile) == data.runs["e"]
