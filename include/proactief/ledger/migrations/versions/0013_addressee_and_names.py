"""Who a notification is addressed to, and the residents' names to address it by (issue 17.2)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

``outbox.addressee``: the INSZ a notification goes to when it is not the grant's holder — a child's onderwijskorting
goes to a parent in the child's household (the scheme's ``notification.recipient: parents``); empty = the holder.
``resident.first_name`` / ``resident.last_name``: the name the city's register extract gives (optional columns
``first_name``, ``last_name`` of ``residents.csv``), read when a message is sent to say "Beste <voornaam> <naam>"
and never copied into a decision, grant, notice or log. Personal data of the extract, deleted with the resident
row. Empty for rows imported before this revision and for extracts without the columns (then "Beste Gentenaar").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("last_name", sa.String(length=100), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("addressee", sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("addressee")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("last_name")
        batch_op.drop_column("first_name")
