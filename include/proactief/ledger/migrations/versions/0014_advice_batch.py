"""The advice service's batches (issue 20): submitted subjects, their leases and their advice

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Items hold the subject's INSZ and the city's facts as submitted: personal data, deleted with the batch.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "advice_batch",
        sa.Column("batch_id", sa.String(length=120), nullable=False),
        sa.Column("application", sa.String(length=80), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=True),
        sa.Column("scheme_id", sa.String(length=80), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_advice_batch")),
    )
    op.create_index(op.f("ix_advice_batch_retain_until"), "advice_batch", ["retain_until"], unique=False)
    op.create_table(
        "advice_batch_item",
        sa.Column("batch_id", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("subject_insz", sa.String(length=11), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.Column("city", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claim", sa.String(length=36), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["advice_batch.batch_id"],
                                name=op.f("fk_advice_batch_item_batch_id_advice_batch"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_id", "position", name=op.f("pk_advice_batch_item")),
    )
    op.create_index("ix_advice_batch_item_state", "advice_batch_item", ["state", "claimed_until"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_advice_batch_item_state", table_name="advice_batch_item")
    op.drop_table("advice_batch_item")
    op.drop_index(op.f("ix_advice_batch_retain_until"), table_name="advice_batch")
    op.drop_table("advice_batch")
