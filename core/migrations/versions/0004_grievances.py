"""Grievances: drivers' grievances, their routing to the joint conferences and their deadlines.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = (
    "received",
    "routed",
    "in_progress",
    "resolved",
    "closed",
    "reopened",
    "rejected",
    "merged",
    "quarantined",
)
CATEGORIES = (
    "platform_fees",
    "fines_enforcement",
    "parking_rest",
    "theft",
    "pay_arrears",
    "roads_services",
    "emergency_transport",
    "other",
)
LEVELS = ("county", "city", "province", "national")


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    op.create_table(
        "grievance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("county", sa.String(length=6), nullable=True),
        sa.Column("driver_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=True),
        sa.Column("classified_by", sa.String(length=120), nullable=True),
        sa.Column("level", sa.String(length=10), nullable=True),
        sa.Column("area", sa.String(length=8), nullable=True),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("lead_department", sa.String(length=100), nullable=True),
        sa.Column("assisting", sa.JSON(), nullable=True),
        sa.Column("routed_by", sa.String(length=120), nullable=True),
        sa.Column("route_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("merged_into", sa.String(length=100), nullable=True),
        sa.Column("ack_days", sa.Integer(), nullable=True),
        sa.Column("ack_due", sa.Date(), nullable=True),
        sa.Column("resolve_days", sa.Integer(), nullable=True),
        sa.Column("resolve_due", sa.Date(), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN ({_one_of(STATUSES)})", name=op.f("ck_grievance_status")),
        sa.CheckConstraint(
            f"category IS NULL OR category IN ({_one_of(CATEGORIES)})",
            name=op.f("ck_grievance_category"),
        ),
        sa.CheckConstraint(
            f"level IS NULL OR level IN ({_one_of(LEVELS)})", name=op.f("ck_grievance_level")
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_grievance_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grievance")),
        sa.UniqueConstraint("province", "ref", name=op.f("uq_grievance_province")),
    )
    op.create_index(
        "ix_grievance_sweep", "grievance", ["province", "status", "resolve_due"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_grievance_sweep", table_name="grievance")
    op.drop_table("grievance")
