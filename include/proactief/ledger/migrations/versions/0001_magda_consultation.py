"""MAGDA consultation audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "magda_consultation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("message_ref", sa.String(length=36), nullable=False),
        sa.Column("question_ref", sa.String(length=36), nullable=False),
        sa.Column("service", sa.String(length=80), nullable=False),
        sa.Column("afnemer", sa.String(length=120), nullable=False),
        sa.Column("hoedanigheid", sa.String(length=40), nullable=False),
        sa.Column("gebruiker", sa.String(length=11), nullable=True),
        sa.Column("subject_insz", sa.String(length=11), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=True),
        sa.Column("purpose", sa.String(length=80), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_magda_consultation")),
        sa.UniqueConstraint("message_ref", "question_ref", "subject_insz", name="uq_magda_consultation_refs"),
    )
    op.create_index(
        op.f("ix_magda_consultation_requested_at"), "magda_consultation", ["requested_at"], unique=False
    )
    op.create_index(
        op.f("ix_magda_consultation_retain_until"), "magda_consultation", ["retain_until"], unique=False
    )
    op.create_index(
        "ix_magda_consultation_subject_time", "magda_consultation", ["subject_insz", "requested_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_magda_consultation_subject_time", table_name="magda_consultation")
    op.drop_index(op.f("ix_magda_consultation_retain_until"), table_name="magda_consultation")
    op.drop_index(op.f("ix_magda_consultation_requested_at"), table_name="magda_consultation")
    op.drop_table("magda_consultation")
