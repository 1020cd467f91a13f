"""Objections against a decision (bezwaar) and decisions by hand of a case worker

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

``bezwaar``: an objection against one decision (not an opt-out), with its channel, received date, the deadline
(decision/letter date + ``bezwaar_termijn_dagen``) and a ``late`` flag; ``manual_decision``: a case worker's grant
or refusal with reason, legal ground, the criteria outcomes it rested on, four-eyes confirmation and the letter
that tells it. Both empty at first; nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bezwaar",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scheme_id", sa.String(40), nullable=False),
        sa.Column("insz", sa.String(11), nullable=False),
        sa.Column("decision_id", _ID, sa.ForeignKey("decision.id", ondelete="SET NULL",
                                                    name="fk_bezwaar_decision_id_decision"), nullable=True),
        sa.Column("period", sa.String(12), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(120), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bezwaar"),
    )
    op.create_index("ix_bezwaar_scheme_subject", "bezwaar", ["scheme_id", "insz"])
    op.create_index("ix_bezwaar_retain_until", "bezwaar", ["retain_until"])
    op.create_table(
        "manual_decision",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scheme_id", sa.String(40), nullable=False),
        sa.Column("insz", sa.String(11), nullable=False),
        sa.Column("period", sa.String(12), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("bezwaar_id", _ID, sa.ForeignKey("bezwaar.id", ondelete="SET NULL",
                                                   name="fk_manual_decision_bezwaar_id_bezwaar"), nullable=True),
        sa.Column("decision_id", _ID, sa.ForeignKey("decision.id", ondelete="SET NULL",
                                                    name="fk_manual_decision_decision_id_decision"), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_ground", sa.String(300), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("grant_terms", sa.JSON(), nullable=True),
        sa.Column("grant_id", _ID, sa.ForeignKey("benefit_grant.id", ondelete="SET NULL",
                                                 name="fk_manual_decision_grant_id_benefit_grant"), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("decided_by", sa.String(120), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(120), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("back_run_id", _ID, sa.ForeignKey("scheme_run.id", ondelete="SET NULL",
                                                    name="fk_manual_decision_back_run_id_scheme_run"), nullable=True),
        sa.Column("letter_channel", sa.String(20), nullable=True),
        sa.Column("letter_message_id", sa.String(120), nullable=True),
        sa.Column("letter_status", sa.String(12), nullable=True),
        sa.Column("letter_attempts", sa.Integer(), nullable=False),
        sa.Column("letter_error", sa.String(300), nullable=True),
        sa.Column("letter_notice_id", _ID, sa.ForeignKey("notice.id", ondelete="SET NULL",
                                                         name="fk_manual_decision_letter_notice_id_notice"),
                  nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_manual_decision"),
        sa.UniqueConstraint("letter_message_id", name="uq_manual_decision_letter_message_id"),
    )
    op.create_index("ix_manual_decision_scheme_subject", "manual_decision", ["scheme_id", "insz"])
    op.create_index("ix_manual_decision_bezwaar_id", "manual_decision", ["bezwaar_id"])
    op.create_index("ix_manual_decision_retain_until", "manual_decision", ["retain_until"])


def downgrade() -> None:
    op.drop_table("manual_decision")
    op.drop_table("bezwaar")
