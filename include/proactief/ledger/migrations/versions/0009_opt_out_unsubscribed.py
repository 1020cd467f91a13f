"""An objection unsubscribes the person from the MAGDA repertorium once: when that was done

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``opt_out.unsubscribed_at`` is empty while an active objection still needs its ``RegistreerUitschrijving`` (a new
objection, or one taken up again after a withdrawal); the opt-out intake sends it and fills the column, so a retried
intake does not send it twice and a failed call is tried again at the next intake. Objections recorded before this
revision were never unsubscribed: they are left empty, so the first intake after the upgrade unsubscribes them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("opt_out", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opt_out", schema=None) as batch_op:
        batch_op.drop_column("unsubscribed_at")
