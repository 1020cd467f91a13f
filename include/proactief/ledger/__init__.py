"""The ledger: what the project keeps (SQLAlchemy 2 models, Alembic migrations).

PostgreSQL in production and tests, SQLite as the embedded default for a laptop.
"""

from proactief.ledger.db import LedgerUnavailable, database_url, display_url, make_engine, open_ledger, upgrade

__all__ = ["LedgerUnavailable", "database_url", "display_url", "make_engine", "open_ledger", "upgrade"]
