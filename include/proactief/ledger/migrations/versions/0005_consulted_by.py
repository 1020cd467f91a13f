"""Consultation audit: who (which staff account) looked a person up in the dashboard

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("magda_consultation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consulted_by", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("magda_consultation", schema=None) as batch_op:
        batch_op.drop_column("consulted_by")
