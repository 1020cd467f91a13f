"""How fresh each source was: the as-of date and digest of every imported city file, the latest MAGDA answer per
run and source (issue 18.1, the stale-source alarm)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

No personal data: source ids, dates, a file digest and a row count. Imports before this revision left no row: the
freshness of such a source is "unknown" (not stale) until the next population sync records it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_as_of",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("as_of_from", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scheme_run.id"], name=op.f("fk_source_as_of_run_id_scheme_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_as_of")),
    )
    op.create_index("ix_source_as_of_source", "source_as_of", ["source", "id"], unique=False)
    op.create_index(op.f("ix_source_as_of_run_id"), "source_as_of", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_source_as_of_run_id"), table_name="source_as_of")
    op.drop_index("ix_source_as_of_source", table_name="source_as_of")
    op.drop_table("source_as_of")
