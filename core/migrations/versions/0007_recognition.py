"""Recognition: award campaigns (nominations, reviewers' scores, objections, publications of the
final list) and care visits.

Scores are whole hundredths of a point (Integer); times are UTC.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

CAMPAIGN_STATUSES = (
    "open",
    "closed",
    "checked",
    "scored",
    "shortlisted",
    "notice",
    "objections",
    "published",
)
NOMINATION_STATUSES = (
    "nominated",
    "eligible",
    "excluded",
    "scored",
    "shortlisted",
    "not_placed",
    "awarded",
    "withdrawn",
)
NOMINEE_TYPES = ("driver", "enterprise")
UNIT_KINDS = ("branch", "enterprise", "city_committee")
OBJECTION_STATUSES = ("pending", "upheld", "dismissed")
PUBLICATION_STATUSES = ("pending", "sent", "failed")
VISIT_KINDS = ("member", "hardship")
VISITOR_ROLES = ("branch_secretary", "instructor")
VISIT_STATUSES = ("planned", "done", "missed", "cancelled")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "award_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("kind_plugin", sa.String(length=120), nullable=False),
        sa.Column("nominations_open", sa.Date(), nullable=False),
        sa.Column("nominations_close", sa.Date(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("notice_start", sa.Date(), nullable=True),
        sa.Column("notice_end", sa.Date(), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            _one_of("status", CAMPAIGN_STATUSES), name=op.f("ck_award_campaign_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_campaign")),
    )
    op.create_index(
        "ix_award_campaign_work", "award_campaign", ["province", "status"], unique=False
    )
    op.create_table(
        "award_nomination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("nominee", sa.String(length=20), nullable=False),
        sa.Column("nominee_kind", sa.String(length=10), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("unit_kind", sa.String(length=16), nullable=False),
        sa.Column("city", sa.String(length=6), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("checked_by", sa.String(length=120), nullable=True),
        sa.Column("criteria_points", sa.Integer(), nullable=True),
        sa.Column("fact_points", sa.Integer(), nullable=True),
        sa.Column("total_score", sa.Integer(), nullable=True),
        sa.Column("score_parts", sa.JSON(), nullable=True),
        sa.Column("scored_by", sa.String(length=120), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("nominated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            _one_of("status", NOMINATION_STATUSES), name=op.f("ck_award_nomination_status")
        ),
        sa.CheckConstraint(
            _one_of("nominee_kind", NOMINEE_TYPES), name=op.f("ck_award_nomination_nominee_kind")
        ),
        sa.CheckConstraint(
            _one_of("unit_kind", UNIT_KINDS), name=op.f("ck_award_nomination_unit_kind")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["award_campaign.id"],
            name=op.f("fk_award_nomination_campaign_id_award_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_award_nomination_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_nomination")),
        sa.UniqueConstraint("campaign_id", "nominee", name=op.f("uq_award_nomination_campaign_id")),
    )
    op.create_table(
        "award_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nomination_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(length=40), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["nomination_id"],
            ["award_nomination.id"],
            name=op.f("fk_award_score_nomination_id_award_nomination"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_score")),
        sa.UniqueConstraint(
            "nomination_id",
            "criterion",
            "reviewer",
            name=op.f("uq_award_score_nomination_id"),
        ),
    )
    op.create_table(
        "award_objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nomination_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raised_by", sa.String(length=120), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            _one_of("status", OBJECTION_STATUSES), name=op.f("ck_award_objection_status")
        ),
        sa.ForeignKeyConstraint(
            ["nomination_id"],
            ["award_nomination.id"],
            name=op.f("fk_award_objection_nomination_id_award_nomination"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_objection")),
    )
    op.create_table(
        "award_publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("plugin", sa.String(length=120), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            _one_of("status", PUBLICATION_STATUSES), name=op.f("ck_award_publication_status")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["award_campaign.id"],
            name=op.f("fk_award_publication_campaign_id_award_campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_publication")),
        sa.UniqueConstraint(
            "campaign_id", "channel", name=op.f("uq_award_publication_campaign_id")
        ),
    )
    op.create_table(
        "care_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("selected_by", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=True),
        sa.Column("assigned_by", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_one_of("kind", VISIT_KINDS), name=op.f("ck_care_visit_kind")),
        sa.CheckConstraint(_one_of("role", VISITOR_ROLES), name=op.f("ck_care_visit_role")),
        sa.CheckConstraint(_one_of("status", VISIT_STATUSES), name=op.f("ck_care_visit_status")),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_care_visit_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_visit")),
        sa.UniqueConstraint("province", "period", "driver_id", name=op.f("uq_care_visit_province")),
    )
    op.create_index(
        "ix_care_visit_period", "care_visit", ["province", "period", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_care_visit_period", table_name="care_visit")
    op.drop_table("care_visit")
    op.drop_table("award_publication")
    op.drop_table("award_objection")
    op.drop_table("award_score")
    op.drop_table("award_nomination")
    op.drop_index("ix_award_campaign_work", table_name="award_campaign")
    op.drop_table("award_campaign")
