"""The ledger's bulk write (``COPY`` on PostgreSQL) keeps every value as the ``INSERT`` it replaces would."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, cast, insert, select
from sqlalchemy.types import Text

from proactief.ledger import make_engine, upgrade
from proactief.ledger.bulk import JsonText, copy_rows
from proactief.ledger.models import DQResultRow

AWKWARD = {"label": "Gentenaar \"met\" é\tkaart\\pas\nregel 2\r", "reasons": ["A\\B"], "n": 3, "none": None,
           "nested": [{"x": 1.5, "y": True}]}


@pytest.mark.parametrize("driver", ["postgresql+psycopg2", "postgresql+psycopg", "sqlite"])
def test_bulk_rows_equal_what_an_insert_writes_json_and_escapes_included(pg_url: str, tmp_path,  # type: ignore[no-untyped-def]
                                                                        driver: str) -> None:
    """The same rows once by ``INSERT`` and once by :func:`copy_rows` (a dict and an already-serialised
    :class:`JsonText`) read back equal, the JSON text byte for byte."""
    url = f"sqlite:///{tmp_path}/l.sqlite" if driver == "sqlite" else driver + "://" + pg_url.split("://", 1)[1]
    upgrade(url)
    engine: Engine = make_engine(url)
    at = datetime(2026, 11, 1, 6, 0, 0, 654321, tzinfo=UTC)
    columns = ("step", "suite", "success", "result", "checked_at")
    try:
        with engine.begin() as conn:
            conn.execute(insert(DQResultRow), [dict(zip(columns, ("insert", "s\tx", True, AWKWARD, at), strict=True))])
            assert copy_rows(conn, DQResultRow.__table__, columns, [
                ("copy", "s\tx", True, AWKWARD, at),
                ("copy-text", "s\tx", False, JsonText(json.dumps(AWKWARD)), at)]) == 2
        with engine.connect() as conn:
            rows = {r.step: r for r in conn.execute(select(DQResultRow.__table__,
                                                           cast(DQResultRow.result, Text).label("text")))}
        assert set(rows) == {"insert", "copy", "copy-text"}
        for step in ("copy", "copy-text"):
            assert rows[step].result == rows["insert"].result == AWKWARD
            assert rows[step].text == rows["insert"].text
            assert rows[step].suite == "s\tx"
            assert rows[step].checked_at.replace(tzinfo=UTC) == at
        assert (rows["copy"].success, rows["copy-text"].success) == (True, False)
    finally:
        engine.dispose()
