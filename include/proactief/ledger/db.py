"""Connecting to the ledger and bringing its schema up to date."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

__all__ = ["database_url", "make_engine", "upgrade", "DEFAULT_SQLITE_PATH"]

DEFAULT_SQLITE_PATH = Path("var") / "ledger.sqlite"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(url: str | None = None) -> str:
    """The ledger URL: the argument, else ``PROACTIEF_DB_URL``, else an SQLite file under ``./var``."""
    if url:
        return url
    env = os.environ.get("PROACTIEF_DB_URL")
    if env:
        return env
    path = DEFAULT_SQLITE_PATH.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(url: str | None = None, **kwargs: object) -> Engine:
    """An engine for the ledger; SQLite gets foreign keys and WAL so concurrent readers do not block."""
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        engine = create_engine(resolved, connect_args={"timeout": 30}, **kwargs)  # type: ignore[arg-type]

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(resolved, **kwargs)  # type: ignore[arg-type]


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    """An Alembic config pointing at the shipped migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the ledger to ``revision`` (idempotent: an up-to-date ledger is left alone)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
