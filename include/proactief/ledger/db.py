"""Connecting to the ledger and bringing its schema up to date."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["DEFAULT_SQLITE_PATH", "LOCK_TIMEOUT", "LedgerUnavailable", "database_url", "display_url",
           "ledger_lock_timeout", "make_engine", "open_ledger", "upgrade"]

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
    """An engine for the ledger; SQLite gets foreign keys and WAL so concurrent readers do not block.

    Bound parameters are hidden from SQLAlchemy's statement logging and exception messages: the ledger's rows
    carry INSZ, which must not reach a log line (an ``IntegrityError`` ends up in a task log)."""
    kwargs.setdefault("hide_parameters", True)
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
    lock_timeout = ledger_lock_timeout()
    if lock_timeout:
        connect_args = dict(kwargs.pop("connect_args", None) or {})  # type: ignore[call-overload]
        options = f"{connect_args.get('options', '')} -c lock_timeout={lock_timeout}".strip()
        kwargs["connect_args"] = {**connect_args, "options": options}
    return create_engine(resolved, **kwargs)  # type: ignore[arg-type]


LOCK_TIMEOUT = "10min"
"""How long a ledger statement waits for a lock before it fails (PostgreSQL ``lock_timeout``). No statement of
ours holds a lock for more than a few seconds; a wait this long means a session that will not let go (a
connection left idle in a transaction), and a task that fails and is retried tells the operator, where one
that waits hangs silently. ``PROACTIEF_DB_LOCK_TIMEOUT`` changes it (``0`` waits for ever)."""

_DURATION = re.compile(r"\d+(ms|s|min|h)?")


def ledger_lock_timeout() -> str | None:
    """``PROACTIEF_DB_LOCK_TIMEOUT`` (else :data:`LOCK_TIMEOUT`) as PostgreSQL reads it; None for no limit."""
    value = os.environ.get("PROACTIEF_DB_LOCK_TIMEOUT", LOCK_TIMEOUT).strip()
    if not _DURATION.fullmatch(value):
        raise ValueError(f"PROACTIEF_DB_LOCK_TIMEOUT={value!r}: expected a number with ms, s, min or h "
                         "(a bare number is milliseconds; 0 for no limit)")
    return None if re.fullmatch(r"0+(ms|s|min|h)?", value) else value


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


class LedgerUnavailable(RuntimeError):
    """The ledger cannot be used as it is: unreachable, missing, or not at the code's schema version. The message
    is one line, names the database without its password and says what to do."""


def display_url(url: str) -> str:
    """A database URL fit to print or log: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as nothing rather than leaked
        return "<unreadable database URL>"


def open_ledger(url: str) -> Engine:
    """An engine on an existing ledger at the code's schema version, or :class:`LedgerUnavailable`.

    Operator commands use this, never :func:`upgrade`: a command with bad input, or pointed at the wrong database,
    must not leave a freshly created or migrated database behind; only ``proactief db upgrade`` migrates."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    shown = display_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).is_file():
        raise LedgerUnavailable(f"no ledger at {shown}: create it with `proactief db upgrade`")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise LedgerUnavailable(f"cannot reach the ledger at {shown}: {reason}") from None
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current != head:
        engine.dispose()
        state = "has no schema" if current is None else f"is at schema version {current}, the code needs {head}"
        raise LedgerUnavailable(f"the ledger at {shown} {state}: run `proactief db upgrade`")
    return engine
