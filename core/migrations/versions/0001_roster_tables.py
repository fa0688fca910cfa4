"""Roster tables and the append-only event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 02:26:29.950679
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "branch",
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=True),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=True),
        sa.Column("base", sa.String(length=200), nullable=True),
        sa.Column("grid_counties", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("province", "code", name=op.f("pk_branch")),
    )
    op.create_table(
        "driver",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("key", sa.String(length=130), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("birth", sa.Date(), nullable=True),
        sa.Column("home_county", sa.String(length=6), nullable=True),
        sa.Column("home_province", sa.String(length=2), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("enterprise", sa.String(length=200), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("member", sa.Boolean(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.Column("phones", sa.Integer(), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("verification_stage", sa.String(length=12), nullable=False),
        sa.Column("verification_outcome", sa.String(length=12), nullable=False),
        sa.Column("branch", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.Integer(), nullable=True),
        sa.Column("linked_run", sa.String(length=12), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver")),
        sa.UniqueConstraint("province", "key", name=op.f("uq_driver_province")),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_key", sa.String(length=130), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_entity", ["entity", "entity_key"], unique=False)
    _make_event_append_only()

    op.create_table(
        "source_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("blank_rows", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_file")),
        sa.UniqueConstraint("province", "name", name=op.f("uq_source_file_province")),
    )
    op.create_table(
        "source_record",
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("name_key", sa.String(length=100), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("id_status", sa.String(length=16), nullable=False),
        sa.Column("id_cleaned", sa.String(length=64), nullable=True),
        sa.Column("birth", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("enterprise", sa.String(length=200), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("member", sa.Boolean(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("driver_key", sa.String(length=130), nullable=True),
        sa.Column("link", sa.String(length=200), nullable=True),
        sa.Column("quarantine", sa.Text(), nullable=True),
        sa.Column("staged_run", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("province", "source", "row_no", name=op.f("pk_source_record")),
        sqlite_with_rowid=False,
    )


def _make_event_append_only() -> None:
    # The log is evidence: the database itself refuses to rewrite it.
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER event_append_only_{action.lower()} BEFORE {action} ON event "
                "BEGIN SELECT RAISE(ABORT, 'event is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION chelun_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'event is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
            "FOR EACH ROW EXECUTE FUNCTION chelun_event_append_only()"
        )


def downgrade() -> None:
    op.drop_table("source_record")
    op.drop_table("source_file")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_entity")

    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER event_append_only ON event")
        op.execute("DROP FUNCTION chelun_event_append_only()")
    op.drop_table("event")
    op.drop_table("driver")
    op.drop_table("branch")
