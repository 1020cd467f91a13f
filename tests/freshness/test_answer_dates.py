"""The as-of of what a run learnt from MAGDA: one row per run and source, however many chunks finish at once."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine, func, select

from proactief.freshness import record_answers
from proactief.ledger.models import SourceAsOf
from tests.lifecycle.ledger_rows import add_run

SERVICES = {"SocZek.GeefSociaalStatuutVoorLijst-02.00": dt.date(2026, 11, 2),
            "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00": dt.date(2026, 11, 2)}


def test_chunks_finishing_together_leave_one_row_per_source_with_the_latest_day(ledger: Engine) -> None:
    runs = [add_run(ledger, external_id=f"r/{n}") for n in range(6)]
    for run_id in runs:
        start = threading.Barrier(6)

        def chunk(n: int, run_id: int = run_id, start: threading.Barrier = start) -> None:
            start.wait()
            record_answers(ledger, run_id, {s: day + dt.timedelta(days=n % 3) for s, day in SERVICES.items()})

        threads = [threading.Thread(target=chunk, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    with ledger.connect() as conn:
        rows = conn.execute(select(SourceAsOf.run_id, SourceAsOf.source, func.count(), func.max(SourceAsOf.as_of))
                            .group_by(SourceAsOf.run_id, SourceAsOf.source)).all()
    assert rows and {r[2] for r in rows} == {1}, [r for r in rows if r[2] > 1]
    assert {r[3] for r in rows} == {dt.date(2026, 11, 4)}
    assert {r[0] for r in rows} == set(runs) and len(rows) == 2 * len(runs)
