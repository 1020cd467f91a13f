"""The resident's district (wijk), for the dashboard's coverage per district

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``resident.district`` is one of Ghent's 25 wijken as the city's extract names it (column ``wijk`` of
``residents.csv``). Empty when the extract did not say: rows imported before this revision and extracts without
the column; the next population sync fills it for everyone listed in a newer extract.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("district")
