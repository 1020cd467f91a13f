"""Staged outcomes say whether MAGDA answered a data error (quarantine), beside whether it was transient

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staged_advice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_error", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("staged_advice", schema=None) as batch_op:
        batch_op.drop_column("data_error")
