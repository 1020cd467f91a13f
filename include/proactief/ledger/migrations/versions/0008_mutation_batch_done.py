"""Mutation batches are done only when every scheme decided their persons: which scheme decided which batch

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Batches stored before this revision are marked done as they are: the old re-evaluation took one batch per run
and nobody can tell now which ones it dropped; re-asking MAGDA about all of them would consult every person of
every past batch again. An operator who wants a past batch re-evaluated clears its ``done_at`` (see the runbook).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mutation_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE mutation_batch SET done_at = fetched_at")
    op.create_table(
        "mutation_batch_scheme",
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scheme_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["mutation_batch.id"],
                                name=op.f("fk_mutation_batch_scheme_batch_id_mutation_batch"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["scheme_run.id"],
                                name=op.f("fk_mutation_batch_scheme_run_id_scheme_run"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("batch_id", "scheme_id", name=op.f("pk_mutation_batch_scheme")),
    )


def downgrade() -> None:
    op.drop_table("mutation_batch_scheme")
    with op.batch_alter_table("mutation_batch", schema=None) as batch_op:
        batch_op.drop_column("done_at")
