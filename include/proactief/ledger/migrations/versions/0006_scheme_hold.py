"""Scheme holds: an operator stops a scheme's deliveries and re-evaluations while its DAG is paused

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheme_hold",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("scheme_id", sa.String(64), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_by", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(80), nullable=True),
    )
    op.create_index("ix_scheme_hold_scheme_id", "scheme_hold", ["scheme_id"])


def downgrade() -> None:
    op.drop_index("ix_scheme_hold_scheme_id", table_name="scheme_hold")
    op.drop_table("scheme_hold")
