"""Many rows into one table in one statement: ``COPY … FROM STDIN`` on PostgreSQL, an executemany elsewhere.

Why: a whole-city run writes hundreds of thousands of audit and staging rows. Through SQLAlchemy's executemany
every row is a dict turned into bound parameters, rendered into a multi-row ``INSERT`` and parsed again by the
server; ``COPY`` hands the server one text stream, which costs a fraction of that on both sides. The rows are
the same, with the same values: the caller's transaction holds them, and a failure (a unique violation) raises
the same SQLAlchemy exception (``IntegrityError`` …) as the ``INSERT`` would.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert
from sqlalchemy.exc import DBAPIError

__all__ = ["JsonText", "copy_rows", "copy_text", "escape"]


class JsonText(str):
    """A JSON column's value already serialised (``json.dumps``): written as it is, not serialised again."""


def escape(value: object) -> str:
    """One value as a field of ``COPY``'s text format (``\\N`` is NULL; JSON-typed values are given as text)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escape_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):  # date and datetime (an aware datetime keeps its offset)
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return _escape_text(str(value))


def _escape_text(value: str) -> str:
    # str.replace runs in C; str.translate with a mapping goes through Python per character (a staged advice's
    # JSON is kilobytes with \uXXXX escapes in it: translate took most of a chunk's staging time).
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def copy_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as ``COPY`` text: one line per row, tab-separated escaped fields."""
    return "".join("\t".join([escape(v) for v in row]) + "\n" for row in rows)


def copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
    """Write ``rows`` (values in ``columns`` order) into ``table`` inside ``conn``'s transaction; returns the count.

    On PostgreSQL (psycopg2 or psycopg 3) one ``COPY``, a JSON column's value serialised as SQLAlchemy's ``JSON``
    type does (``json.dumps``; None is JSON ``null`` unless the type says ``none_as_null``). Elsewhere an
    executemany ``INSERT`` of the same values."""
    if not rows:
        return 0
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), [{c: json.loads(v) if isinstance(v, JsonText) else v
                                      for c, v in zip(columns, row, strict=True)} for row in rows])
        return len(rows)
    json_at = [(i, table.c[c].type) for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f'COPY "{table.name}" ({cols}) FROM STDIN'
    # Streamed in blocks: a chunk's staged JSON is tens of MiB as one string (the task's memory bound is 512 MiB).
    reader = _Blocks(_serialise_json(row, json_at) if json_at else row for row in rows)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if hasattr(cursor, "copy_expert"):  # psycopg2
            cursor.copy_expert(sql, reader, size=_BLOCK)
        else:  # psycopg 3
            with cursor.copy(sql) as copy:
                while block := reader.read(_BLOCK):
                    copy.write(block)
    except conn.dialect.loaded_dbapi.Error as exc:
        # The same exception class an INSERT through SQLAlchemy raises (IntegrityError for a duplicate).
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error,
                                  dialect=conn.dialect) from exc
    finally:
        cursor.close()
    return len(rows)


_BLOCK = 1 << 16


class _Blocks:
    """A file-like reader over rows: ``read(size)`` hands out whole lines of ``COPY`` text, about ``size`` at
    a time, converting the rows only as they are read."""

    def __init__(self, rows: Iterable[Sequence[object]]) -> None:
        self._rows = iter(rows)
        self._done = False

    def read(self, size: int = -1) -> str:
        if self._done:
            return ""
        parts: list[str] = []
        length = 0
        for row in self._rows:
            line = "\t".join([escape(v) for v in row]) + "\n"
            parts.append(line)
            length += len(line)
            if 0 < size <= length:
                return "".join(parts)
        self._done = True
        return "".join(parts)

    def readline(self, size: int = -1) -> str:  # pragma: no cover - psycopg2 reads blocks, not lines
        return self.read(size)


def _serialise_json(row: Sequence[object], json_at: Sequence[tuple[int, Any]]) -> list[object]:
    out = list(row)
    for i, type_ in json_at:
        value = out[i]
        if isinstance(value, JsonText):
            continue
        out[i] = None if value is None and type_.none_as_null else json.dumps(value)
    return out
