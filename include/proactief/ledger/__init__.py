"""The ledger: what the project keeps (SQLAlchemy 2 models, Alembic migrations).

PostgreSQL in production and tests, SQLite as the embedded default for a laptop.
"""

from proactief.ledger.db import database_url, make_engine, upgrade

__all__ = ["database_url", "make_engine", "upgrade"]
