"""A ledger statement that waits for a lock gives up after ``lock_timeout``: a task fails and is retried (the
operator sees it) instead of hanging behind a session that will not let go."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from proactief.ledger.db import LOCK_TIMEOUT, make_engine


def _show(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW lock_timeout")).scalar())
    finally:
        engine.dispose()


def test_ledger_connections_wait_for_a_lock_at_most_the_lock_timeout(pg_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROACTIEF_DB_LOCK_TIMEOUT", raising=False)
    assert _show(pg_url) == LOCK_TIMEOUT == "10min"
    monkeypatch.setenv("PROACTIEF_DB_LOCK_TIMEOUT", "0")
    assert _show(pg_url) == "0"


def test_a_statement_behind_a_held_lock_fails_instead_of_hanging(pg_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROACTIEF_DB_LOCK_TIMEOUT", "300ms")
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (id int)"))
        holder = engine.connect()
        holder.begin()
        holder.execute(text("LOCK TABLE lock_probe IN ACCESS EXCLUSIVE MODE"))  # and then idle in transaction
        try:
            t0 = time.monotonic()
            with pytest.raises(OperationalError, match="lock timeout"), engine.connect() as waiting:
                waiting.execute(text("INSERT INTO lock_probe VALUES (1)"))
            assert time.monotonic() - t0 < 5
        finally:
            holder.rollback()
            holder.close()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE lock_probe"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("value", ["ten minutes", "10 min", "-1", "5m"])
def test_a_lock_timeout_postgresql_cannot_read_is_refused_by_name(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROACTIEF_DB_LOCK_TIMEOUT", value)
    with pytest.raises(ValueError, match="PROACTIEF_DB_LOCK_TIMEOUT"):
        make_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/test")
