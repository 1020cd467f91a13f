"""Outbox delivery: back-off, downstream reference, combined notices

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(120), nullable=False, unique=True),
        sa.Column("insz", sa.String(11), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notice_pending", "notice", ["status"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reference", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("notice_id", _BigId, nullable=True))
        batch_op.create_index("ix_outbox_notice_id", ["notice_id"])
        batch_op.create_foreign_key("fk_outbox_notice_id_notice", "notice", ["notice_id"], ["id"],
                                    ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_notice_id_notice", type_="foreignkey")
        batch_op.drop_index("ix_outbox_notice_id")
        batch_op.drop_column("notice_id")
        batch_op.drop_column("reference")
        batch_op.drop_column("next_attempt_at")
    op.drop_index("ix_notice_pending", table_name="notice")
    op.drop_table("notice")
