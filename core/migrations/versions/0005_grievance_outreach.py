"""Grievances reach out: matters, platform pulls, notices to drivers and handlers, and holiday
schedules loaded by operators.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grievance_matter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("area", sa.String(length=8), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grievance_matter")),
        sa.UniqueConstraint("province", "key", name=op.f("uq_grievance_matter_province")),
    )
    with op.batch_alter_table("grievance") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("matter_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("relayed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("deadline_from", sa.Date(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_grievance_matter_id_grievance_matter"),
            "grievance_matter",
            ["matter_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_grievance_relayed_by_driver"), "driver", ["relayed_by"], ["id"]
        )
    op.create_table(
        "sync_cursor",
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("province", "source", name=op.f("pk_sync_cursor")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "recipient IN ('driver', 'handler')", name=op.f("ck_notification_recipient")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'unsent')",
            name=op.f("ck_notification_status"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_notification_event_id_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("event_id", "recipient", name=op.f("uq_notification_event_id")),
    )
    op.create_index("ix_notification_status", "notification", ["province", "status"], unique=False)
    op.create_table(
        "holiday_schedule",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_holiday_schedule")),
    )
    op.create_table(
        "holiday_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.CheckConstraint("kind IN ('off', 'work')", name=op.f("ck_holiday_day_kind")),
        sa.ForeignKeyConstraint(
            ["year"], ["holiday_schedule.year"], name=op.f("fk_holiday_day_year_holiday_schedule")
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_holiday_day")),
    )


def downgrade() -> None:
    op.drop_table("holiday_day")
    op.drop_table("holiday_schedule")
    op.drop_index("ix_notification_status", table_name="notification")
    op.drop_table("notification")
    op.drop_table("sync_cursor")
    with op.batch_alter_table("grievance") as batch:
        batch.drop_constraint(op.f("fk_grievance_relayed_by_driver"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_grievance_matter_id_grievance_matter"), type_="foreignkey")
        batch.drop_column("deadline_from")
        batch.drop_column("relayed_by")
        batch.drop_column("matter_id")
        batch.drop_column("subject")
    op.drop_table("grievance_matter")
