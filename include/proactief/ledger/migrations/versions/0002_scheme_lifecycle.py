"""Scheme lifecycle: city data, opt-outs, runs, staging, decisions, grants, outbox, DQ results, mutations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:40:27.911908
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrolment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("institution_id", sa.String(length=20), nullable=False),
        sa.Column("institution_name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
        sa.UniqueConstraint("insz", "institution_id", "school_year", name="uq_enrolment_child"),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_insz"), ["insz"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolment_school_year"), ["school_year"], unique=False)

    op.create_table(
        "mutation_batch",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt", sa.String(length=80), nullable=True),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mutation_batch")),
        sa.UniqueConstraint("external_id", name=op.f("uq_mutation_batch_external_id")),
    )
    op.create_table(
        "ocmw_period",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("begin", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocmw_period")),
    )
    with op.batch_alter_table("ocmw_period", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ocmw_period_insz"), ["insz"], unique=False)

    op.create_table(
        "opt_out",
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("insz", name=op.f("pk_opt_out")),
    )
    op.create_table(
        "opt_out_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_out_event")),
    )
    with op.batch_alter_table("opt_out_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opt_out_event_insz"), ["insz"], unique=False)

    op.create_table(
        "resident",
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("household_id", sa.String(length=20), nullable=True),
        sa.Column("reference_person", sa.Boolean(), nullable=False),
        sa.Column("position", sa.String(length=2), nullable=True),
        sa.Column("address_kind", sa.String(length=10), nullable=False),
        sa.Column("postcode", sa.String(length=4), nullable=True),
        sa.Column("nis_code", sa.String(length=5), nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address_line", sa.String(length=200), nullable=True),
        sa.Column("snapshot", sa.String(length=40), nullable=False),
        sa.Column("repertorium_registered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("insz", name=op.f("pk_resident")),
    )
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resident_household_id"), ["household_id"], unique=False)

    op.create_table(
        "scheme_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("scheme_id", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("external_id", sa.String(length=250), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("selection", sa.String(length=20), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme_run")),
        sa.UniqueConstraint("external_id", name=op.f("uq_scheme_run_external_id")),
    )
    with op.batch_alter_table("scheme_run", schema=None) as batch_op:
        batch_op.create_index("ix_scheme_run_scheme_period", ["scheme_id", "period"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scheme_id", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("rule_version", sa.String(length=20), nullable=False),
        sa.Column("advice", sa.JSON(), nullable=False),
        sa.Column("consultations", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scheme_run.id"], name=op.f("fk_decision_run_id_scheme_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("run_id", "insz", name="uq_decision_run_subject"),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_retain_until"), ["retain_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_decision_scheme_subject", ["scheme_id", "insz"], unique=False)

    op.create_table(
        "dq_result",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("suite", sa.String(length=40), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scheme_run.id"], name=op.f("fk_dq_result_run_id_scheme_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dq_result")),
    )
    with op.batch_alter_table("dq_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dq_result_run_id"), ["run_id"], unique=False)

    op.create_table(
        "mutation_subject",
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["mutation_batch.id"],
            name=op.f("fk_mutation_subject_batch_id_mutation_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "insz", name=op.f("pk_mutation_subject")),
    )
    op.create_table(
        "run_subject",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scheme_run.id"], name=op.f("fk_run_subject_run_id_scheme_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "insz", name=op.f("pk_run_subject")),
    )
    with op.batch_alter_table("run_subject", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_subject_chunk"), ["chunk"], unique=False)

    op.create_table(
        "staged_advice",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("transient", sa.Boolean(), nullable=False),
        sa.Column("advice", sa.JSON(), nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scheme_run.id"], name=op.f("fk_staged_advice_run_id_scheme_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "insz", name=op.f("pk_staged_advice")),
    )
    op.create_table(
        "benefit_grant",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("scheme_id", sa.String(length=40), nullable=False),
        sa.Column("grant_key", sa.String(length=200), nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("system", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_benefit_grant_decision_id_decision"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["scheme_run.id"], name=op.f("fk_benefit_grant_run_id_scheme_run"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_grant")),
        sa.UniqueConstraint("scheme_id", "grant_key", name="uq_benefit_grant_key"),
    )
    with op.batch_alter_table("benefit_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benefit_grant_retain_until"), ["retain_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_benefit_grant_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_benefit_grant_subject", ["insz"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("grant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("message_id", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["benefit_grant.id"], name=op.f("fk_outbox_grant_id_benefit_grant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("grant_id", "kind", "channel", name="uq_outbox_grant_kind_channel"),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["status", "kind"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    with op.batch_alter_table("benefit_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_benefit_grant_subject")
        batch_op.drop_index(batch_op.f("ix_benefit_grant_run_id"))
        batch_op.drop_index(batch_op.f("ix_benefit_grant_retain_until"))

    op.drop_table("benefit_grant")
    op.drop_table("staged_advice")
    with op.batch_alter_table("run_subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_subject_chunk"))

    op.drop_table("run_subject")
    op.drop_table("mutation_subject")
    with op.batch_alter_table("dq_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dq_result_run_id"))

    op.drop_table("dq_result")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_scheme_subject")
        batch_op.drop_index(batch_op.f("ix_decision_run_id"))
        batch_op.drop_index(batch_op.f("ix_decision_retain_until"))

    op.drop_table("decision")
    with op.batch_alter_table("scheme_run", schema=None) as batch_op:
        batch_op.drop_index("ix_scheme_run_scheme_period")

    op.drop_table("scheme_run")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_household_id"))

    op.drop_table("resident")
    with op.batch_alter_table("opt_out_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opt_out_event_insz"))

    op.drop_table("opt_out_event")
    op.drop_table("opt_out")
    with op.batch_alter_table("ocmw_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocmw_period_insz"))

    op.drop_table("ocmw_period")
    op.drop_table("mutation_batch")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_school_year"))
        batch_op.drop_index(batch_op.f("ix_enrolment_insz"))

    op.drop_table("enrolment")
