"""The grant and outbox steps count what they inserted, under both PostgreSQL drivers the project supports.

``bin/run`` and the README use psycopg 3 (``postgresql+psycopg``), the tests mostly psycopg2: with psycopg 3 a
batched ``INSERT … ON CONFLICT DO NOTHING`` reported ``rowcount`` 0, so a first UiTPAS run said "granted 0,
already granted 536" while it had granted 536.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import GrantRow
from proactief.lifecycle.runs import _insert_ignore
from tests.lifecycle.ledger_rows import add_run, many_insz

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_insert_ignore_returns_the_number_of_new_rows_under_each_driver(pg_url: str, driver: str) -> None:
    url = pg_url.replace("postgresql+psycopg2://", f"postgresql+{driver}://")
    upgrade(url)
    engine = make_engine(url)
    try:
        run = add_run(engine, status="decided", started_at=dt.datetime.now(dt.UTC), external_id="r/counts")
        people = many_insz(700, start=5000)

        def rows(who: list[str]) -> list[dict[str, object]]:
            return [{"scheme_id": "uitpas-kansentarief", "grant_key": f"k|{p}", "insz": p, "period": "2026",
                     "run_id": run, "system": "uitpas", "valid_from": dt.date(2026, 1, 1), "terms": {},
                     "status": "granted", "granted_at": dt.datetime.now(dt.UTC),
                     "retain_until": dt.date(2036, 1, 1)} for p in who]

        with engine.begin() as conn:
            assert _insert_ignore(conn, GrantRow.__table__, rows(people[:600]), ("scheme_id", "grant_key")) == 600
        with engine.begin() as conn:  # 500 again and 100 new
            assert _insert_ignore(conn, GrantRow.__table__, rows(people[100:]), ("scheme_id", "grant_key")) == 100
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(GrantRow)).scalar_one() == 700
    finally:
        engine.dispose()
