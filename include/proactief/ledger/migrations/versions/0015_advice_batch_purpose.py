"""Advice batches for scheme runs (issue 20): a batch's purpose and what its work learnt about MAGDA's answers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08

``purpose``: ``advice`` (the counter, the call centre: the advice only) or ``grant`` (a scheme run's chunk: the
advice plus what its grant needs). ``work``: per MAGDA service the date of the latest ok/definitive answer and how
many questions were withheld for objectors (names, dates, counts: no personal data).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("advice_batch", sa.Column("purpose", sa.String(length=16), nullable=False,
                                            server_default="advice"))
    op.add_column("advice_batch", sa.Column("work", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("advice_batch", "work")
    op.drop_column("advice_batch", "purpose")
