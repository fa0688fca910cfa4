"""Insurance claims: each claim, its checks, assessment, submission to the insurer and payment.

Amounts are whole fen (BigInteger); times are UTC.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:10:00
"""

import sqlalchemy as sa
from alembic import op

STATUSES = (
    "reported",
    "evidence_complete",
    "checked",
    "assessed",
    "submitted",
    "approved",
    "rejected",
    "paid",
    "appealed",
    "quarantined",
)
REASON_CODES = (
    "not_on_roster",
    "no_policy_period",
    "site_not_covered",
    "outside_night_window",
    "loss_not_covered",
    "evidence_missing",
    "annual_limit_reached",
    "duplicate_suspected",
    "nothing_payable",
    "insurer_rejected",
    "fraud",
)


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=42), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("driver_id", sa.Integer(), nullable=True),
        sa.Column("incident_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("night_of", sa.Date(), nullable=True),
        sa.Column("site", sa.String(length=20), nullable=True),
        sa.Column("site_given", sa.String(length=100), nullable=True),
        sa.Column("loss_type", sa.String(length=5), nullable=True),
        sa.Column("amount_claimed", sa.BigInteger(), nullable=True),
        sa.Column("police_report_no", sa.String(length=50), nullable=True),
        sa.Column("photos", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=30), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("checked_by", sa.String(length=120), nullable=True),
        sa.Column("policy_no", sa.String(length=50), nullable=True),
        sa.Column("amount_payable", sa.BigInteger(), nullable=True),
        sa.Column("assessed_by", sa.String(length=120), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("sending_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("insurer_claim_id", sa.String(length=64), nullable=True),
        sa.Column("insurer_status", sa.String(length=20), nullable=True),
        sa.Column("amount_approved", sa.BigInteger(), nullable=True),
        sa.Column("amount_paid", sa.BigInteger(), nullable=True),
        sa.Column("payment_ref", sa.String(length=64), nullable=True),
        sa.Column("appeals", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "loss_type IS NULL OR loss_type IN ('fuel', 'cargo')", name=op.f("ck_claim_loss_type")
        ),
        sa.CheckConstraint(
            f"reason_code IS NULL OR reason_code IN ({_one_of(REASON_CODES)})",
            name=op.f("ck_claim_reason_code"),
        ),
        sa.CheckConstraint(
            f"status IN ({_one_of(STATUSES)})",
            name=op.f("ck_claim_status"),
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_claim_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_claim_idempotency_key")),
        sa.UniqueConstraint("province", "ref", name=op.f("uq_claim_province")),
    )
    op.create_index("ix_claim_work", "claim", ["province", "status"], unique=False)
    op.create_index("ix_claim_driver", "claim", ["province", "driver_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_claim_driver", table_name="claim")
    op.drop_index("ix_claim_work", table_name="claim")
    op.drop_table("claim")
